"""Train named variants for several seeds and tabulate their validation metrics (issue 14).

``python -m colorgen.ablate --variants experiments/ablation/variants.yaml --seeds 0 1 2
[--only NAME ...] [--out experiments/ablation] [--work outputs/ablation] -- <common Hydra overrides>``

``variants.yaml`` maps a variant name to a list of Hydra overrides of ``conf/train.yaml``
(e.g. ``baseline: []``, ``hue: [trainer.augment.hue_rotation=0.5]``). Each (variant, seed) is
trained with ``trainer.resume=true`` under ``<work>/<variant>/seed<k>``, so a killed ablation
continues and finished runs are reused. The table reports the validation metrics of each
run's ``best.pt`` (chosen by that run's ``trainer.select_best``) as mean ± sample std over
seeds: ``ablation.md`` and ``ablation.json`` (per-seed values too) in ``--out``, written
atomically after every finished run.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import yaml
from hydra import compose, initialize_config_dir

from colorgen.config_schema import register_configs
from colorgen.io import write_atomic
from colorgen.training import load_checkpoint, run

log = logging.getLogger("colorgen.ablate")
register_configs()  # the typed config groups (conf/browser, conf/decoding) before Hydra composes

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
# (validation key, column header, decimals); FCDs in the reported unit (x 10^3)
COLUMNS = (
    ("val/forward_rgb_acc", "fwd acc RGB", 3),
    ("val/rgb_acc", "acc RGB", 3),
    ("val/f1_rgb", "F RGB", 4),
    ("val/f1_rgb_present", "F RGB (present)", 3),
    ("val/fcd_bg", "BG-FCD", 2),
    ("val/fcd_text", "Text-FCD", 1),
    ("val/fcd_ratio", "FCD / floor", 2),
    ("val/score", "score", 5),
    ("val/loss", "val CE", 3),
)


def load_variants(path: str | os.PathLike, only: Sequence[str] | None = None) -> dict[str, list[str]]:
    """``{name: [overrides]}`` from YAML, in file order; ``only`` keeps the named ones."""
    raw = yaml.safe_load(Path(path).read_text())
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"{path}: expected a mapping of variant name -> list of Hydra overrides")
    variants = {}
    for name, overrides in raw.items():
        if overrides is None:
            overrides = []
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise ValueError(f"{path}: variant {name!r} must be a list of override strings, got {overrides!r}")
        variants[str(name)] = overrides
    if only:
        missing = sorted(set(only) - set(variants))
        if missing:
            raise ValueError(f"{path}: no variant named {missing}; have {list(variants)}")
        variants = {k: v for k, v in variants.items() if k in only}
    return variants


def train_variant(name: str, overrides: Sequence[str], seed: int, common: Sequence[str], work: Path) -> dict:
    """Train (or reuse) one (variant, seed) and return its best.pt's step and validation metrics."""
    run_dir = work / name / f"seed{seed}"
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", [*common, *overrides, f"seed={seed}", f"ckpt_dir={run_dir / 'ckpt'}",
                                "trainer.resume=true", "logger=none"])
    result = run(cfg, run_dir / "run")
    best = load_checkpoint(result.best_path)
    return {"seed": seed, "step": int(best["step"]), "select": best["metric_name"],
            "metrics": {k: float(v) for k, v in (best.get("metrics") or {}).items()}}


def summarise(runs: Sequence[dict]) -> dict[str, dict[str, float]]:
    """Mean and sample std (n - 1; 0 for one seed) of every metric over seeds."""
    keys = sorted({k for r in runs for k in r["metrics"]})
    out = {}
    for k in keys:
        vals = np.array([r["metrics"].get(k, math.nan) for r in runs], dtype=np.float64)
        out[k] = {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                  "n": len(vals)}
    return out


def markdown(results: Mapping[str, dict], common: Sequence[str]) -> str:
    """The ablation table: one row per variant, mean ± std over seeds of best.pt's validation metrics."""
    head = ["variant", "seeds", "best step", *[c[1] for c in COLUMNS]]
    lines = ["# Ablation (validation split)", "",
             f"Common overrides: `{' '.join(common) or '(none)'}`. Each cell: mean ± std over seeds of the "
             "validation metrics of the run's `best.pt` (chosen by its `trainer.select_best`); FCD x 10^3 between "
             "the two validation halves (real first half vs generated second half), floor = real vs real.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, res in results.items():
        summary, runs = res["summary"], res["runs"]
        steps = "/".join(str(r["step"]) for r in runs)
        cells = []
        for key, _, dec in COLUMNS:
            s = summary.get(key)
            cells.append("–" if s is None or math.isnan(s["mean"]) else f"{s['mean']:.{dec}f} ± {s['std']:.{dec}f}")
        lines.append("| " + " | ".join([name, str(len(runs)), steps, *cells]) + " |")
    lines += ["", "Variants:", ""] + [f"- `{n}`: `{' '.join(r['overrides']) or '(defaults)'}`" for n, r in results.items()]
    return "\n".join(lines) + "\n"


def ablate(variants: Mapping[str, list[str]], seeds: Sequence[int], common: Sequence[str],
           out_dir: Path, work: Path) -> dict[str, dict]:
    """Train every (variant, seed); rewrite the table after each run (a partial table is kept)."""
    results: dict[str, dict] = {}
    for name, overrides in variants.items():
        results[name] = {"overrides": list(overrides), "runs": [], "summary": {}}
        for seed in seeds:
            log.info("variant %s, seed %d: %s", name, seed, " ".join(overrides) or "(defaults)")
            results[name]["runs"].append(train_variant(name, overrides, seed, common, work))
            results[name]["summary"] = summarise(results[name]["runs"])
            write_atomic(out_dir / "ablation.json", json.dumps({"common": list(common), "seeds": list(seeds),
                                                                "variants": results}, indent=1))
            write_atomic(out_dir / "ablation.md", markdown(results, common))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m colorgen.ablate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="experiments/ablation/variants.yaml", help="YAML: name -> [overrides]")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", nargs="*", help="train only these variants")
    ap.add_argument("--out", default="experiments/ablation", help="where ablation.md / .json go")
    ap.add_argument("--work", default="outputs/ablation", help="checkpoints and run logs")
    ap.add_argument("common", nargs="*", help="Hydra overrides for every run (after --)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    variants = load_variants(args.variants, args.only)
    ablate(variants, args.seeds, args.common, Path(args.out), Path(args.work).resolve())
    log.info("wrote %s", Path(args.out) / "ablation.md")


if __name__ == "__main__":
    main()
