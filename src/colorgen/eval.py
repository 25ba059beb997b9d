"""`python -m colorgen.eval`: generate colours for the test split and score them (metrics.json)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from colorgen.data.dataset import load_split
from colorgen.decoding import DecodingConfig
from colorgen.evaluation import decoding_label, generate_split, row_key, score
from colorgen.io import write_json
from colorgen.training.checkpoint import load_checkpoint, load_model
from colorgen.training.loggers import make_logger
from colorgen.training.seed import seed_everything

log = logging.getLogger("colorgen.eval")


def _abs(path: str) -> str:
    return hydra.utils.to_absolute_path(str(path))


def data_config(cfg: DictConfig) -> dict:
    """The `data` group with paths made absolute against the launch directory."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    for key in ("root", "cache_dir", "corpus"):
        if data.get(key):
            data[key] = _abs(data[key])
    return data


def checkpoint_for(cfg: DictConfig, name: str, override: str | None) -> Path:
    return Path(_abs(override)) if override else Path(_abs(cfg.ckpt_dir)) / name / "best.pt"


def load_upsampler(cfg: DictConfig):
    """The upsampler for continuous colours: required by ``metrics=full``; otherwise used when
    trained, so that ``generated.npz`` carries exact colours for a later ``colorgen.visual``."""
    path = checkpoint_for(cfg, "upsampler", cfg.upsampler_ckpt)
    if cfg.metrics == "full" or path.is_file():
        return load_model(path)[0]
    log.warning("no upsampler at %s: renders of this run will use colour-bin centres", path)
    return None


def evaluate(cfg: DictConfig, out_dir: Path) -> dict:
    """Load, generate, score, write ``metrics.json``; returns the metrics."""
    seed_everything(cfg.seed)
    name = cfg.model.name
    path = checkpoint_for(cfg, name, cfg.ckpt)
    model, _ = load_model(path)
    info = load_checkpoint(path)
    upsampler = load_upsampler(cfg)
    dec = DecodingConfig.from_cfg(cfg.decoding)
    row = cfg.row or row_key(name, dec)
    data = data_config(cfg)
    dataset = load_split(data, cfg.split)
    start = time.perf_counter()
    with Progress(transient=True) as progress:
        generated = generate_split(model, dataset, dec, cfg.seed, cfg.batch_size, upsampler, progress)
        metrics = score(generated)
        generate_seconds = round(time.perf_counter() - start, 2)
        # kept so that `python -m colorgen.visual` can score this run later, with others, in one pass
        generated.save(out_dir / "generated.npz", {"label": row, "data": data, "visual": OmegaConf.to_container(cfg.visual, resolve=True)})
        if cfg.metrics == "full":
            from colorgen.render.visual_metrics import (
                visual_metrics,  # browser work only when asked
            )

            metrics |= visual_metrics(cfg, generated, out_dir, progress=progress)
    metrics |= {
        "row": row,
        "model": name,
        "decoding": decoding_label(name, dec),
        "top_k": dec.top_k, "top_p": dec.top_p, "temperature": dec.temperature,
        "data": cfg.data.name,
        "split": cfg.split,
        "seed": cfg.seed,
        "checkpoint": str(path),
        "steps": int(info.get("step", 0)),
        "train_seconds": info.get("train_seconds"),
        "generate_seconds": generate_seconds,
        "eval_seconds": round(time.perf_counter() - start, 2),
    }
    write_metrics(out_dir, metrics)
    return metrics


def write_metrics(out_dir: Path, metrics: dict) -> None:
    """``metrics.json``, atomically (a killed run leaves the old file or none, never half of one)."""
    write_json(out_dir / "metrics.json", metrics)


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
    numbers = {k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    logger.log(numbers, step=metrics["steps"])
    if logger.wandb_run is not None:
        import wandb

        logger.wandb_run.log({"summary": wandb.Table(columns=list(numbers), data=[list(numbers.values())])})
        logger.wandb_run.summary.update(numbers)
    logger.close()
    log.info("wrote %s", out_dir / "metrics.json")


if __name__ == "__main__":
    main()
