"""How high can macro F RGB go on unseen designs? Two probes on the validation split, or ``--split test`` (issue 14).

1. Logit adjustment (Menon et al. 2021): greedy decoding of ``logits - tau * log prior``, the prior
   being the training split's class frequencies (text and background apart). It trades the commonest
   colours for rarer ones, the usual cure for a macro metric under a long tail.
2. A palette oracle (a cheat, for a ceiling only): each page's logits are restricted to the RGB
   classes that page really uses, so the model only has to place colours it is told, not guess an
   unseen design's brand colours; combined with the adjustment above.

Run from the repository root (a few minutes on 2 cores):

    PYTHONPATH=src python experiments/ablation/f_ceiling.py \
        checkpoints/webpages/nar/best.pt checkpoints/webpages/cvae/best.pt --out experiments/ablation/f_ceiling.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from colorgen.data.dataset import load_split
from colorgen.evaluation.runs import data_config
from colorgen.io import write_atomic
from colorgen.models.base import Colors, ground_truth_colors
from colorgen.training.checkpoint import load_model
from colorgen.training.loop import generate_validation, generation_metrics

DATA = {"name": "webpages", "root": "data/webpages", "hdf5": "webcolor_webpages.hdf5",
        "split_file": "webcolor_split_webpages.json", "cache_dir": "data/webpages/cache"}
SHOWN = ("val/rgb_acc", "val/f1_rgb", "val/f1_rgb_present", "val/fcd_bg", "val/fcd_text")


def log_priors(train) -> tuple[Tensor, Tensor]:
    """Log class frequencies of text and background RGB over the training pages (add-one)."""
    text, bg = np.ones(512), np.ones(512)
    for g in train:
        np.add.at(text, g.text_rgb[g.has_text].numpy(), 1)
        np.add.at(bg, g.bg_rgb.numpy(), 1)
    return (torch.tensor(np.log(text / text.sum()), dtype=torch.float32),
            torch.tensor(np.log(bg / bg.sum()), dtype=torch.float32))


def page_palettes(batch) -> Tensor:
    """``[pages, 512]`` bool: the RGB classes each page of the batch really uses (text or background)."""
    y = ground_truth_colors(batch)
    allowed = torch.zeros(batch.num_graphs, 512, dtype=torch.bool)
    allowed[batch.batch[batch.has_text], y.text_rgb[batch.has_text]] = True
    allowed[batch.batch, y.bg_rgb] = True
    return allowed


class Adjusted(nn.Module):
    """Greedy colours of ``model`` from adjusted logits (NAR: its logits; CVAE: a prior draw of z)."""

    def __init__(self, model: nn.Module, priors: tuple[Tensor, Tensor], tau: float, oracle: bool) -> None:
        super().__init__()
        self.model, self.priors, self.tau, self.oracle = model, priors, tau, oracle

    @torch.no_grad()
    def generate(self, batch, decoding=None, generator=None) -> Colors:
        m = self.model
        text, text_a, bg, bg_a = m.prior_logits(batch, generator) if hasattr(m, "prior_logits") else m.logits(batch)
        text, bg = text - self.tau * self.priors[0], bg - self.tau * self.priors[1]
        if self.oracle:
            outside = ~page_palettes(batch)[batch.batch]
            text, bg = text.masked_fill(outside, -1e9), bg.masked_fill(outside, -1e9)
        return Colors(*(lg.argmax(-1) for lg in (text, text_a, bg, bg_a)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--taus", type=float, nargs="+", default=[0.0, 0.2, 0.5, 1.0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--split", default="val", help="pages scored (a ceiling chooses nothing, so test is fair)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    data = data_config(DATA)
    priors = log_priors(load_split(data, "train"))
    pages = load_split(data, args.split)
    rows = []
    for path in args.checkpoints:
        model = load_model(path)[0]
        for oracle in (False, True):
            for tau in args.taus:
                g = generate_validation(Adjusted(model, priors, tau, oracle), pages, 64, torch.device("cpu"), 0)
                m = generation_metrics(g)
                rows.append({"checkpoint": path, "split": args.split, "oracle": oracle, "tau": tau} | {k: m[k] for k in SHOWN})
                print(json.dumps(rows[-1]), flush=True)
    head = "| checkpoint | split | palette oracle | tau | acc RGB | F RGB | F RGB (present) | BG-FCD | Text-FCD |"
    lines = [head, "|" + "---|" * 9]
    lines += [f"| {r['checkpoint']} | {r['split']} | {'yes' if r['oracle'] else 'no'} | {r['tau']} | "
              + " | ".join(f"{r[k]:.4f}" if "f1" in k or "acc" in k else f"{r[k]:.1f}" for k in SHOWN) + " |"
              for r in rows]
    write_atomic(args.out.with_suffix(".json"), json.dumps(rows, indent=1))
    write_atomic(args.out, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
