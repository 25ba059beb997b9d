"""Where a run's inputs are: paths resolved once, checkpoints found and loaded one way.

Shared by ``colorgen.eval``, ``colorgen.colorize`` and ``colorgen.visual``. Relative paths are
taken from the launch directory (Hydra runs do not change directory). Models are loaded only
through :func:`colorgen.training.checkpoint.load_model`, which knows every checkpoint format.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf
from torch import nn

from colorgen.training.checkpoint import checkpoint_paths, load_checkpoint, load_model

log = logging.getLogger(__name__)

DATA_PATH_KEYS = ("root", "cache_dir", "corpus")


def resolve_path(path: str | os.PathLike) -> Path:
    """An absolute path: relative ones against the directory the command was launched from."""
    return Path(to_absolute_path(str(path)))


def _plain(cfg: Mapping | DictConfig | None) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg or {})


def data_config(data: Mapping | DictConfig) -> dict[str, Any]:
    """The ``data`` group as a plain dict with its paths made absolute."""
    out = _plain(data)
    for key in DATA_PATH_KEYS:
        if out.get(key):
            out[key] = str(resolve_path(out[key]))
    return out


def checkpoint_path(cfg: DictConfig, name: str, override: str | None = None) -> Path:
    """``override`` if given, else ``<ckpt_dir>/<name>/best.pt`` (the trainer's best checkpoint)."""
    if override:
        return resolve_path(override)
    return checkpoint_paths(resolve_path(cfg.ckpt_dir), name)[0]


def load_generator(cfg: DictConfig) -> tuple[nn.Module, Path, dict[str, Any]]:
    """The run's generator (``cfg.model.name``, or ``cfg.ckpt``), its path and training info."""
    path = checkpoint_path(cfg, str(cfg.model.name), cfg.get("ckpt"))
    model, _ = load_model(path)
    return model, path, training_info(path)


def training_info(path: Path) -> dict[str, Any]:
    """Steps and train time recorded in a checkpoint (empty for formats that do not record them)."""
    try:
        ckpt = load_checkpoint(path)
    except Exception as err:  # e.g. an official Lightning checkpoint: load_model reads it, not this
        log.info("no training record in %s (%s)", path, err)
        return {"step": 0, "train_seconds": None}
    step = ckpt.get("step", ckpt.get("global_step", 0))
    return {"step": int(step or 0), "train_seconds": ckpt.get("train_seconds")}


def load_upsampler(cfg: DictConfig, required: bool = False) -> nn.Module | None:
    """The colour upsampler (``cfg.upsampler_ckpt`` or the trained one) when there is one.

    ``required``: a missing upsampler is an error (``metrics=full`` needs exact colours);
    otherwise a warning, and renders use colour-bin centres.
    """
    path = checkpoint_path(cfg, "upsampler", cfg.get("upsampler_ckpt"))
    if required or path.is_file():
        return load_model(path)[0]
    log.warning("no upsampler at %s: colours are bin centres", path)
    return None
