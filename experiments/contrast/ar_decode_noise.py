"""Issue 15: is `AR (top-p 0.9) + AA`'s BG-FCD gap (+17 % in the table) more than its sampling noise?

One checkpoint (the table's AR and Upsampler), decoded with and without `decoding.contrast=aa`
under N decoding seeds (seed s for both runs of a pair): accuracy and the FCDs of every draw, their
mean and spread, and the paired differences. The table's row is the draw of seed 0.

Usage (data=webpages, after `make train-all`):

    PYTHONPATH=src python experiments/contrast/ar_decode_noise.py 16 experiments/contrast/ar_decode_noise.json
"""
from __future__ import annotations

import json
import statistics
import sys

from colorgen.bench.checkout import data_config
from colorgen.data.dataset import load_split
from colorgen.decoding import DecodingConfig
from colorgen.evaluation.generate import generate_split
from colorgen.evaluation.score import score
from colorgen.training.checkpoint import load_model

KEYS = ("acc_rgb", "fcd_bg", "fcd_text")


def main(draws: int, out: str) -> None:
    cfg = data_config(["data=webpages"])
    test = load_split(cfg, "test")  # test1 then test2
    model = load_model("checkpoints/webpages/ar/best.pt")[0].eval()
    up = load_model("checkpoints/webpages/upsampler/best.pt")[0].eval()
    runs = {"plain": DecodingConfig(top_p=0.9), "aa": DecodingConfig(top_p=0.9, contrast="aa")}
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for seed in range(draws):
        for name, dec in runs.items():
            s = score(generate_split(model, test, dec, seed=seed, upsampler=up))
            rows[name].append({k: s[k] for k in KEYS})
        print(seed, rows["plain"][-1], rows["aa"][-1], flush=True)
    summary = {}
    for k in KEYS:
        p, a = ([r[k] for r in rows[n]] for n in ("plain", "aa"))
        d = [y - x for x, y in zip(p, a, strict=True)]
        summary[k] = {"plain": [statistics.mean(p), statistics.stdev(p)], "aa": [statistics.mean(a), statistics.stdev(a)],
                      "paired_diff": [statistics.mean(d), statistics.stdev(d)],
                      "relative": statistics.mean(a) / statistics.mean(p) - 1}
        print(k, {n: [round(v, 4) for v in vals] if isinstance(vals, list) else round(vals, 4) for n, vals in summary[k].items()})
    with open(out, "w") as f:
        json.dump({"draws": draws, "summary": summary, "runs": rows}, f, indent=1)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
