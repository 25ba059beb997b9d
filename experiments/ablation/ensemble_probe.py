"""Issue 14: does averaging the class probabilities of several seeds help, on validation and test?

Each member alone, then all of them averaged as probabilities (a mixture, what
`colorgen.models.ensemble` does) and as log-probabilities (a product of experts), greedy decoding.
Validation metrics are the trainer's (`val/*`, FCD between the two validation halves); test
metrics are eval's. Usage (the table's seed and `make spread`'s seeds 1 and 2):

    PYTHONPATH=src python experiments/ablation/ensemble_probe.py nar checkpoints/webpages \
        checkpoints/webpages/seeds/s1 checkpoints/webpages/seeds/s2
"""
from __future__ import annotations

import sys

import torch

from colorgen.bench.checkout import data_config
from colorgen.data.dataset import load_split
from colorgen.decoding import DecodingConfig
from colorgen.evaluation.generate import generate_split
from colorgen.evaluation.score import score
from colorgen.models.base import Generator
from colorgen.models.ensemble import Ensemble
from colorgen.training.checkpoint import load_model
from colorgen.training.loop import generate_validation, generation_metrics


class LogMean(Ensemble):
    """The members' mean log-probabilities (a product of experts), for comparison."""

    def generation_logits(self, batch, generator=None):
        parts = [m.generation_logits(batch, generator) for m in self.members]
        return type(parts[0])(*(torch.stack([torch.log_softmax(p, -1) for p in f]).mean(0) for f in zip(*parts, strict=True)))


def row(tag: str, model: Generator, val, test) -> str:
    v = generation_metrics(generate_validation(model, val, 64, torch.device("cpu"), 0))
    t = score(generate_split(model, test, DecodingConfig(), 0, 64))
    return (f"| {tag} | {v['val/rgb_acc']:.4f} | {v['val/f1_rgb']:.4f} | {v['val/fcd_ratio']:.3f} | {v['val/score']:.5f} "
            f"| {t['acc_rgb']:.4f} | {t['f1_rgb']:.4f} | {t['fcd_bg']:.2f} | {t['fcd_text']:.1f} |")


def main(name: str, dirs: list[str]) -> None:
    members = [load_model(f"{d}/{name}/best.pt")[0] for d in dirs]
    data = data_config()  # the default data group, as eval reads it
    val, test = load_split(data, "val"), load_split(data, "test")
    print("| model | val acc RGB | val F RGB | val FCD / floor | val score | test acc RGB | test F RGB | BG-FCD | Text-FCD |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d, m in zip(dirs, members, strict=True):
        print(row(f"{name} {d}", m, val, test), flush=True)
    print(row(f"mean of probabilities ({len(members)})", Ensemble(members), val, test), flush=True)
    print(row(f"mean of log-probabilities ({len(members)})", LogMean(members), val, test), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
