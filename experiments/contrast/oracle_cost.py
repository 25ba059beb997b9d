"""Issue 15: what `decoding.contrast=aa` must cost in accuracy, and where each row's cost lies.

1. The oracle: a "model" whose logits put each element's true class first and the others by CIELAB
   distance to it, decoded with the constraint (lookahead as configured) against the true
   residuals. Its accuracy RGB is what a perfect model keeps under AA: the real pages' own
   low-contrast text must change colour.
2. Per table row (plain run and its `+ AA` run, same checkpoint and seed): the colours the
   constraint turns from right to wrong and from wrong to right, the text ones split by whether the
   element's real colours fail AA themselves (the in-Python model on the real colours, the
   renderer's rule for the residuals the data store).

Usage (the table's runs, data=webpages):

    PYTHONPATH=src python experiments/contrast/oracle_cost.py outputs/webpages/table-runs nar cvae ar_top_p09 stats_mode
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from colorgen.bench.checkout import data_config
from colorgen.constrained import _CLASS_BINS, Residuals, decode_tree, rendered_rgba, required_of
from colorgen.data.batching import make_loader
from colorgen.data.colors import NUM_ALPHA_CLASSES
from colorgen.data.dataset import load_split
from colorgen.decoding import DecodingConfig
from colorgen.evaluation.generate import Generated
from colorgen.metrics.classification import concat_text_bg
from colorgen.metrics.contrast import (
    backdrop_of,
    failing,
    painted,
    srgb_to_lab,
    text_stacks,
    tree_contrast,
)


def oracle_logits(batch) -> tuple[torch.Tensor, ...]:
    """Log-probabilities peaked on the true classes, the others ordered by closeness to them."""
    lab = srgb_to_lab((32 * _CLASS_BINS + 16).double())
    dist_rgb = torch.cdist(lab, lab) / 10
    a = torch.arange(NUM_ALPHA_CLASSES).double()
    dist_a = (a[:, None] - a[None]).abs()
    raw = (dist_rgb[batch.text_rgb], dist_a[batch.text_alpha], dist_rgb[batch.bg_rgb], dist_a[batch.bg_alpha])
    return tuple(torch.log_softmax(-5 * d.float(), -1) for d in raw)


def real_text_fails(batch) -> torch.Tensor:
    """[N] bool: text elements whose real colours (classes + stored residuals) fail AA."""
    text, bg = painted(batch, rendered_rgba(batch.text_rgb, batch.text_alpha, batch.text_res.double()),
                       rendered_rgba(batch.bg_rgb, batch.bg_alpha, batch.bg_res.double()))
    backdrop = backdrop_of(batch)
    ratio, _ = tree_contrast(text, bg, *backdrop, stacks=text_stacks(batch, backdrop))
    return failing(ratio, required_of(batch, "aa", backdrop, bg_alpha=bg[:, 3]), batch.has_text)


def main(runs: Path | None, rows: list[str], split: str = "test") -> None:
    ds = load_split(data_config(), split)
    dec = DecodingConfig(contrast="aa")
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("true_text", "true_bg", "oracle_text", "oracle_bg", "has_text", "fails")}
    for batch in make_loader(ds, 64):
        out = decode_tree(batch, oracle_logits(batch), dec, torch.Generator().manual_seed(0),
                          Residuals(batch.text_res.double(), batch.bg_res.double()))
        for k, v in (("true_text", batch.text_rgb), ("true_bg", batch.bg_rgb), ("oracle_text", out[0]),
                     ("oracle_bg", out[2]), ("has_text", batch.has_text), ("fails", real_text_fails(batch))):
            cols[k].append(v.numpy())
    c = {k: np.concatenate(v) for k, v in cols.items()}
    has_text = c["has_text"].astype(bool)
    t = concat_text_bg(c["true_text"], c["true_bg"], has_text)
    o = concat_text_bg(c["oracle_text"], c["oracle_bg"], has_text)
    fails = c["fails"][has_text]
    n_text = fails.size
    print(f"{split}: {t.size} colours ({n_text} text); real text failing AA: {int(fails.sum())} "
          f"({fails.mean():.1%}); oracle + AA acc RGB {np.mean(o == t):.4f} (cost {1 - np.mean(o == t):.4f})")
    if runs is None:
        return
    print("| row | acc RGB | + AA | cost | right -> wrong: text (real fails AA) / bg | wrong -> right |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        plain, _ = Generated.load(runs / row / "generated.npz")
        aa, _ = Generated.load(runs / f"{row}_aa" / "generated.npz")
        truth = concat_text_bg(plain.true["text_rgb"], plain.true["bg_rgb"], plain.has_text)
        if not np.array_equal(truth, t):
            raise ValueError(f"{row}: other pages or order than the {split} split")
        p0 = concat_text_bg(plain.pred["text_rgb"], plain.pred["bg_rgb"], plain.has_text) == t
        p1 = concat_text_bg(aa.pred["text_rgb"], aa.pred["bg_rgb"], aa.has_text) == t
        lost, gained = p0 & ~p1, ~p0 & p1
        lost_text, lost_bg = lost[:n_text], lost[n_text:]
        print(f"| {row} | {p0.mean():.4f} | {p1.mean():.4f} | {p0.mean() - p1.mean():.4f} | "
              f"{int(lost_text.sum())} ({int((lost_text & fails).sum())}) / {int(lost_bg.sum())} | {int(gained.sum())} |")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else None, args[1:])
