"""A run's result files: ``metrics.json`` (written by eval) and ``visual.json`` (by the visual pass).

Why two files: each has one writer, so the visual pass never rewrites what eval wrote. Readers
get one flat dict through :func:`read_run_metrics`, the visual keys laid over eval's. Runs from
before the split kept the visual keys inside ``metrics.json``; they read the same.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from colorgen.io import write_json

METRICS_FILE = "metrics.json"
VISUAL_FILE = "visual.json"


def write_metrics(run_dir: str | os.PathLike, metrics: dict[str, Any]) -> Path:
    """``<run_dir>/metrics.json``, atomically."""
    return write_json(Path(run_dir) / METRICS_FILE, metrics)


def write_visual(run_dir: str | os.PathLike, visual: dict[str, Any]) -> Path:
    """``<run_dir>/visual.json``, atomically."""
    return write_json(Path(run_dir) / VISUAL_FILE, visual)


def _read_object(path: Path) -> dict[str, Any]:
    obj = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def read_run_metrics(metrics_path: str | os.PathLike) -> dict[str, Any]:
    """A ``metrics.json`` with the ``visual.json`` beside it (if any) merged over it."""
    metrics_path = Path(metrics_path)
    metrics = _read_object(metrics_path)
    visual = metrics_path.with_name(VISUAL_FILE)
    if metrics_path.name == METRICS_FILE and visual.is_file():
        metrics |= _read_object(visual)
    return metrics
