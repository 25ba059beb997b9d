"""Checkpoints: atomic writes, and loading a model back from the config saved inside.

A checkpoint is a plain dict (``torch.load(weights_only=True)``-safe):

``format``, ``config`` (the resolved run config), ``model`` (state dict), ``step``,
``optimizer`` (``None`` for Stats / in ``best``), ``rng`` (see :mod:`.seed`),
``best_metric``, ``metric_name``, ``metric_mode`` (``"max"`` / ``"min"``), ``metrics``
(the validation metrics at ``step``), ``stopped`` (why training ended there: ``"fit"`` for
Stats, ``"max_steps"``, ``"max_minutes"``; ``None`` for an intermediate checkpoint).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from colorgen.io import torch_save_atomic

FORMAT_VERSION = 1
# keys of a `model` config that describe the run, not constructor arguments
META_KEYS = ("name",)


def build_model(model_cfg: Mapping[str, Any]) -> nn.Module:
    """Instantiate a model from its Hydra config (``_target_`` + constructor arguments)."""
    cfg = OmegaConf.create(_plain(model_cfg))
    for key in META_KEYS:
        cfg.pop(key, None)
    return instantiate(cfg, _convert_="all")


def checkpoint_paths(ckpt_dir: str | os.PathLike, model_name: str) -> tuple[Path, Path]:
    """``(<ckpt_dir>/<model>/best.pt, <ckpt_dir>/<model>/last.pt)``: where eval looks."""
    d = Path(ckpt_dir) / model_name
    return d / "best.pt", d / "last.pt"


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any]) -> None:
    """Write to a temp file in the same directory, then rename: never a half-written checkpoint."""
    torch_save_atomic({"format": FORMAT_VERSION, **state}, path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint dict (tensors only, no pickled code)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; train first (python -m colorgen.train)")
    return torch.load(path, map_location=map_location, weights_only=True)


def load_model(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, DictConfig]:
    """Rebuild the model from the config stored in the checkpoint and load its weights (eval mode)."""
    ckpt = load_checkpoint(path, map_location)
    cfg = OmegaConf.create(ckpt["config"])
    model = build_model(cfg.model)
    model.load_state_dict(ckpt["model"])
    model.to(map_location).eval()
    return model, cfg


def _plain(cfg: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)
