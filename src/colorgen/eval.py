"""`python -m colorgen.eval`: generate colours for the test split and score them.

A thin Hydra entry: the work is in :mod:`colorgen.evaluation`. Writes ``metrics.json`` and
``generated.npz`` (kept so that ``python -m colorgen.visual`` can score this run later, with
others, in one render pass); ``metrics=full`` also renders now and writes ``visual.json``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from colorgen.config_schema import register_configs
from colorgen.data.dataset import load_split
from colorgen.data.fingerprint import recorded_digest
from colorgen.decoding import DecodingConfig
from colorgen.evaluation import decoding_label, generate_split, row_key, score
from colorgen.evaluation.results import write_metrics
from colorgen.evaluation.runs import data_config, load_generator, load_upsampler
from colorgen.models.official import official_generator
from colorgen.progress import progress_bar
from colorgen.training.loggers import log_eval, make_logger
from colorgen.training.seed import seed_everything

log = logging.getLogger("colorgen.eval")
register_configs()  # the typed config groups (conf/browser, conf/decoding) before Hydra composes


def evaluate(cfg: DictConfig, out_dir: Path) -> dict:
    """Load, generate, score, write ``metrics.json`` (and ``visual.json`` with ``metrics=full``);
    returns the metrics of both."""
    seed_everything(cfg.seed)
    if cfg.rng not in ("colorgen", "official"):
        raise ValueError(f"rng must be colorgen or official, got {cfg.rng!r}")
    name = cfg.model.name
    model, path, info = load_generator(cfg)
    upsampler = load_upsampler(cfg, required=cfg.metrics == "full")
    dec = DecodingConfig.from_cfg(cfg.decoding)
    row = cfg.row or row_key(name, dec, 1 + len(cfg.get("ensemble") or []))
    data = data_config(cfg.data)
    dataset = load_split(data, cfg.split)
    start = time.perf_counter()
    with progress_bar() as progress:
        generator = official_generator(info["official"], cfg.seed) if cfg.rng == "official" else None
        generated = generate_split(model, dataset, dec, cfg.seed, cfg.batch_size, upsampler, progress,
                                   generator=generator)
        metrics = score(generated)
        generate_seconds = round(time.perf_counter() - start, 2)
        visual_settings = OmegaConf.to_container(cfg.visual, resolve=True)
        generated.save(out_dir / "generated.npz", {"label": row, "data": data, "visual": visual_settings,
                                                      "rest": dec.rest_level})
        eval_seconds = round(time.perf_counter() - start, 2)
        metrics |= {
            "row": row,
            "label": cfg.get("label") or None,
            "model": name,
            "decoding": decoding_label(name, dec),
            "top_k": dec.top_k, "top_p": dec.top_p, "temperature": dec.temperature,
            "data": cfg.data.name,
            "data_digest": recorded_digest(data["root"]) if data.get("root") else None,
            "train_data_digest": info.get("data_digest"),
            "split": cfg.split,
            "seed": cfg.seed,
            "rng": cfg.rng,
            "batch_size": cfg.batch_size,
            "checkpoint": str(path),
            "steps": info["step"],
            "train_seconds": info["train_seconds"],
            "ensemble": info.get("members"),  # checkpoints averaged (cfg.ensemble), else None
            "member_steps": info.get("member_steps"),
            "generate_seconds": generate_seconds,
            "eval_seconds": eval_seconds,
        }
        write_metrics(out_dir, metrics)
        if cfg.metrics == "full":
            from colorgen.evaluation.visual import score_dirs  # browser work only when asked

            (metrics,) = score_dirs([out_dir], progress=progress)
    return metrics


def show(metrics: dict) -> None:
    table = Table(title=f"{metrics['row']} on {metrics['data']} ({metrics['pages']} test pages)")
    for k in ("metric", "value"):
        table.add_column(k)
    for k, v in metrics.items():
        if isinstance(v, float):
            table.add_row(k, f"{v:.4f}")
    Console(stderr=True).print(table)


@hydra.main(config_path="../../conf", config_name="eval", version_base="1.3")
def main(cfg: DictConfig) -> None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    metrics = evaluate(cfg, out_dir)
    show(metrics)
    config = OmegaConf.to_container(cfg, resolve=True)
    logger = make_logger(cfg.logger, out_dir / "eval.jsonl", out_dir, config, run_name=f"eval-{metrics['row']}")
    log_eval(logger, metrics, out_dir)
    logger.close()
    log.info("wrote %s", out_dir / "metrics.json")


if __name__ == "__main__":
    main()
