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
from colorgen.models.official import convert_official, is_official_checkpoint

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
    """Read a checkpoint dict (tensors only, no pickled code).

    An official WebColor Lightning ``.ckpt`` is recognised by its content and converted in
    memory (:func:`colorgen.models.official.convert_official`), so every caller sees the
    colorgen format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; train first (python -m colorgen.train)")
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if is_official_checkpoint(ckpt):
        return convert_official(ckpt, path)
    return ckpt


def load_model(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, DictConfig]:
    """Rebuild the model from the config stored in the checkpoint and load its weights (eval mode).

    Works on colorgen checkpoints and on official WebColor ``.ckpt`` files alike.
    """
    ckpt = load_checkpoint(path, map_location)
    cfg = OmegaConf.create(ckpt["config"])
    model_cfg = _legacy_switches(_plain(cfg.model), ckpt["model"])
    model = build_model(model_cfg)
    model.load_state_dict(ckpt["model"])
    model.to(map_location).eval()
    return model, cfg


def _legacy_switches(model_cfg: dict[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """Checkpoints written before a switch existed keep the behaviour they were trained with.

    ``final_norm`` (NAR, upsampler) defaults to the official False now; a checkpoint whose
    config does not say and whose weights hold ``transformer.norm.*`` had the final norm.
    """
    if "final_norm" not in model_cfg and str(model_cfg.get("_target_", "")).endswith((".NAR", ".ColorUpsampler")):
        model_cfg = {**model_cfg, "final_norm": "transformer.norm.weight" in state}
    return model_cfg


def _plain(cfg: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)
