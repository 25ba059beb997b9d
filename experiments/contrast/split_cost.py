"""Issue 15: the constraint's accuracy cost on each split, beside how much of each split's real text fails AA.

For the table's NAR, CVAE and Stats (mode) (greedy, with the Upsampler, lookahead as the table's
rows: 2 for NAR and CVAE, 0 for Stats): acc RGB without and with `decoding.contrast=aa` on the
validation and test pages; and, per split, the share of real text elements whose own page's
colours (true classes and residuals) fail AA under the contrast model.

Usage (data=webpages, after `make train-all`):

    PYTHONPATH=src python experiments/contrast/split_cost.py
"""
from __future__ import annotations

from oracle_cost import real_text_fails  # this folder's: the real colours judged as everywhere

from colorgen.bench.checkout import data_config
from colorgen.data.batching import make_loader
from colorgen.data.dataset import load_split
from colorgen.decoding import DecodingConfig
from colorgen.evaluation.generate import generate_split
from colorgen.evaluation.score import score
from colorgen.training.checkpoint import load_model

ROWS = {"NAR": ("nar", 2.0), "CVAE": ("cvae", 2.0), "Stats (mode)": ("stats", 0.0)}


def real_failing(pages: list) -> tuple[int, int]:
    """(text elements, those whose real colours fail AA) of ``pages``."""
    texts = fails = 0
    for b in make_loader(pages, 64):
        texts += int(b.has_text.sum())
        fails += int(real_text_fails(b).sum())
    return texts, fails


def main() -> None:
    cfg = data_config(["data=webpages"])
    up = load_model("checkpoints/webpages/upsampler/best.pt")[0].eval()
    splits = ("train", "val", "test")
    print("| split | pages | text elements | real text failing AA |\n|---|---|---|---|")
    for split in splits:
        pages = load_split(cfg, split)
        texts, fails = real_failing(pages)
        print(f"| {split} | {len(pages)} | {texts} | {fails} ({100 * fails / texts:.1f} %) |")
    print("\n| row | val acc RGB | + AA | cost | test acc RGB | + AA | cost |\n|---|---|---|---|---|---|---|")
    for label, (name, look) in ROWS.items():
        model = load_model(f"checkpoints/webpages/{name}/best.pt")[0].eval()
        cells = []
        for split in ("val", "test"):
            pages = load_split(cfg, split)
            plain = score(generate_split(model, pages, DecodingConfig(), upsampler=up))["acc_rgb"]
            aa = score(generate_split(model, pages, DecodingConfig(contrast="aa", contrast_lookahead=look),
                                      upsampler=up))["acc_rgb"]
            cells += [f"{plain:.4f}", f"{aa:.4f}", f"{plain - aa:+.4f}"]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
