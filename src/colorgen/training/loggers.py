"""Metric sinks: a JSONL file beside the checkpoints (always) and W&B (offline by default).

W&B is imported only when asked for, runs without network in ``offline`` mode, writes its
run folder into the Hydra run dir (``WANDB_DIR``) and keeps quiet on the console; sync
later with ``wandb sync <run dir>/wandb/offline-run-*``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class MetricsLogger:
    """Append metrics as one JSON object per line (``{"step": s, ...}``) and mirror them to W&B."""

    def __init__(self, jsonl_path: str | os.PathLike, wandb_run: Any = None, resume_step: int | None = None):
        self.jsonl_path = Path(jsonl_path)
        self.jsonl_path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is None:
            self.jsonl_path.write_text("")
        else:
            _truncate_after(self.jsonl_path, resume_step)
        self._file = self.jsonl_path.open("a", encoding="utf-8")
        self.wandb_run = wandb_run

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        row = {"step": int(step), **{k: _jsonable(v) for k, v in metrics.items()}}
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        if self.wandb_run is not None:
            self.wandb_run.log(dict(metrics), step=int(step))

    def close(self) -> None:
        self._file.close()
        if self.wandb_run is not None:
            self.wandb_run.finish()
            self.wandb_run = None


def make_logger(
    logger_cfg: Mapping[str, Any] | None,
    jsonl_path: str | os.PathLike,
    run_dir: str | os.PathLike,
    config: Mapping[str, Any],
    run_name: str,
    resume_step: int | None = None,
) -> MetricsLogger:
    """JSONL always; W&B too when ``logger.name == "wandb"``."""
    name = (logger_cfg or {}).get("name", "none")
    if name == "none":
        return MetricsLogger(jsonl_path, None, resume_step)
    if name != "wandb":
        raise ValueError(f"unknown logger {name!r}; choose wandb or none")
    return MetricsLogger(jsonl_path, _start_wandb(logger_cfg, run_dir, config, run_name), resume_step)


def log_eval(logger: MetricsLogger, metrics: Mapping[str, Any], run_dir: str | os.PathLike, max_images: int = 8) -> None:
    """An eval run's numbers (JSONL + W&B), and on W&B also the metrics as a table, the contact
    sheet and a few generated screenshots as images: what a dashboard user opens first."""
    numbers = {k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    logger.log(numbers, step=int(metrics.get("steps") or 0))
    run = logger.wandb_run
    if run is None:
        return
    import wandb

    media: dict[str, Any] = {"summary": wandb.Table(columns=list(numbers), data=[list(numbers.values())])}
    run_dir = Path(run_dir)
    if (run_dir / "contact_sheet.png").is_file():
        media["contact_sheet"] = wandb.Image(str(run_dir / "contact_sheet.png"))
    shots = sorted((run_dir / "renders").glob("*.png"))[:max_images]
    if shots:
        media["screenshots"] = [wandb.Image(str(p), caption=p.name.split(".")[0]) for p in shots]
    run.log(media)
    run.summary.update(numbers)


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All rows of a metrics log."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _start_wandb(cfg: Mapping[str, Any], run_dir: str | os.PathLike, config: Mapping[str, Any], run_name: str) -> Any:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    os.environ["WANDB_DIR"] = str(run_dir)
    os.environ["WANDB_SILENT"] = "true"
    os.environ.setdefault("WANDB_CONSOLE", "off")
    logging.getLogger("wandb").setLevel(logging.WARNING)
    import wandb  # heavy and spawns a service process: only when asked for

    mode = str(cfg.get("mode", "offline"))
    settings = wandb.Settings(silent=True, console="off", disable_git=True, save_code=False,
                              x_disable_stats=True, x_disable_machine_info=True)
    run = wandb.init(
        project=str(cfg.get("project", "colorgen")),
        entity=cfg.get("entity"),
        group=cfg.get("group"),
        tags=list(cfg.get("tags") or []),
        name=run_name,
        mode=mode,
        dir=str(run_dir),
        config=dict(config),
        settings=settings,
        reinit="create_new",
    )
    log.info("W&B %s run in %s (upload later: wandb sync <that dir>)", mode, Path(run.dir).parent)
    return run


def _truncate_after(path: Path, step: int) -> None:
    """Keep only rows up to ``step``: a resumed run rewrites what came after its checkpoint."""
    rows = read_jsonl(path) if path.is_file() else []
    path.write_text("".join(json.dumps(r) + "\n" for r in rows if r.get("step", 0) <= step))


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else str(v)
    return v
