"""What legibility costs in decoding speed (issue 15: at least half the speed of unconstrained).

For each table row with a ``+ AA`` twin, generation of the real test pages (batches of 64, as eval
does, the Upsampler and its re-check included when a trained one is there) with and without
``decoding.contrast=aa``; the two runs alternate so that a loaded machine slows both alike. Models
are the table's checkpoints (``checkpoints/<data>/<model>/best.pt``) when present, else fresh
``size=cpu`` models (Stats fitted on the training split), and the report says which.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from colorgen.decoding import DecodingConfig

# row -> (model, decoding without the constraint, the + AA row's settings beyond contrast=aa,
# as in conf/experiment/<row>_aa.yaml)
ROWS: dict[str, tuple[str, DecodingConfig, dict[str, Any]]] = {
    "nar": ("nar", DecodingConfig(), {}),
    "cvae": ("cvae", DecodingConfig(), {}),
    "stats_mode": ("stats", DecodingConfig(), {"contrast_lookahead": 0.0}),
    "ar_top_p09": ("ar", DecodingConfig(top_p=0.9), {}),
}
TARGET = 0.5  # constrained pages/s over unconstrained pages/s


def _model(name: str, ckpt_dir: Path, data_cfg: Any) -> tuple[torch.nn.Module, str]:
    from colorgen.models import AR, CVAE, NAR, Stats
    from colorgen.training.checkpoint import load_model

    path = ckpt_dir / name / "best.pt"
    if path.is_file():
        return load_model(path)[0].eval(), str(path.relative_to(ckpt_dir.parents[1]))
    torch.manual_seed(0)
    if name == "stats":
        from colorgen.data.batching import make_loader
        from colorgen.data.dataset import load_split

        return Stats().fit(make_loader(load_split(data_cfg, "train"), 64)).eval(), "fresh (fitted on the training split)"
    size = {"d_model": 128, "n_layers": 2, "n_heads": 4, "d_ff": 256}
    return {"nar": NAR, "cvae": CVAE, "ar": AR}[name](**size).eval(), "fresh (size=cpu, untrained)"


def _seconds(model: Any, pages: Any, decoding: DecodingConfig, upsampler: Any) -> float:
    from colorgen.evaluation.generate import generate_split

    t0 = time.perf_counter()
    generate_split(model, pages, decoding, seed=0, upsampler=upsampler)
    return time.perf_counter() - t0


def run(quick: bool = False, data: str = "webpages", repeats: int | None = None) -> dict[str, Any]:
    from colorgen.bench.checkout import checkout_root, data_config
    from colorgen.data.dataset import load_split
    from colorgen.training.checkpoint import load_model

    cfg = data_config([f"data={data}"])
    test = [*load_split(cfg, "test1"), *load_split(cfg, "test2")]
    if quick:
        test = test[:32]
    ckpt_dir = checkout_root() / "checkpoints" / data
    up_path = ckpt_dir / "upsampler" / "best.pt"
    upsampler = load_model(up_path)[0].eval() if up_path.is_file() else None
    reps = repeats or (1 if quick else 3)
    out: dict[str, Any] = {"pages": len(test), "data": data, "threads": torch.get_num_threads(),
                           "upsampler": str(up_path.relative_to(ckpt_dir.parents[1])) if upsampler is not None else "none",
                           "target": TARGET}
    for row, (name, plain, aa_settings) in ROWS.items():
        model, source = _model(name, ckpt_dir, cfg)
        aa = dataclasses.replace(plain, contrast="aa", **aa_settings)
        _seconds(model, test[:8], aa, upsampler)  # warm-up
        t_plain, t_aa = [], []
        for _ in range(reps):  # alternate: load on the machine slows both alike
            t_plain.append(_seconds(model, test, plain, upsampler))
            t_aa.append(_seconds(model, test, aa, upsampler))
        p, a = len(test) / statistics.median(t_plain), len(test) / statistics.median(t_aa)
        out[row] = {"model": source, "pages_per_s": round(p, 1), "pages_per_s_aa": round(a, 1),
                    "speed_ratio": round(a / p, 3), "met": a / p >= TARGET}
    return out
