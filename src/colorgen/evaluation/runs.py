"""Where a run's inputs are: paths resolved once, checkpoints found and loaded one way.

Shared by ``colorgen.eval``, ``colorgen.colorize`` and ``colorgen.visual``. Relative paths are
taken from the launch directory (Hydra runs do not change directory). Models are loaded only
through :func:`colorgen.training.checkpoint.load_model`, which knows every checkpoint format.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf
from torch import nn

from colorgen.extract.bundle import PageBundle, load_bundle
from colorgen.extract.official_pages import OfficialPages
from colorgen.training.checkpoint import checkpoint_paths, load_checkpoint, load_model

log = logging.getLogger(__name__)

DATA_PATH_KEYS = ("root", "cache_dir", "corpus", "pages")


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


@dataclass(frozen=True)
class PageFiles:
    """Where the HTML of a data set's pages is: a page id -> its bundle, and the folder to serve.

    Two layouts: colorgen's extracted bundles (``data.root``/pages + the ``data.corpus`` pages),
    or the official processed-page archives (``data.pages``: ``<data_id>.zip`` or unpacked
    folders with ``user.html``, ``user.css``, ``selectors.txt``), unpacked under ``renders``.
    """

    bundle: Callable[[str], PageBundle]
    serve_root: Path
    renders: Path  # where ground-truth renders are cached (writable)


def page_files(data: Mapping) -> PageFiles | None:
    """The pages of ``data`` (absolute paths, see :func:`data_config`), or None when it has no HTML."""
    if data.get("pages"):
        renders = Path(data.get("cache_dir") or data["root"]) / "renders"
        official = OfficialPages(data["pages"], renders / "official_pages")
        return PageFiles(official.bundle, official.serve_root, renders)
    if data.get("corpus"):
        root = Path(data["root"])
        return PageFiles(lambda pid: load_bundle(root, pid), Path(data["corpus"]), root / "renders")
    return None


def checkpoint_path(cfg: DictConfig, name: str, override: str | None = None, folder: str | None = None) -> Path:
    """``override`` if given, else ``<folder or ckpt_dir>/<name>/best.pt`` (the trainer's best checkpoint)."""
    if override:
        return resolve_path(override)
    return checkpoint_paths(resolve_path(folder or cfg.ckpt_dir), name)[0]


def load_generator(cfg: DictConfig) -> tuple[nn.Module, Path, dict[str, Any]]:
    """The run's generator (``cfg.model.name``, or ``cfg.ckpt``), its path and training info
    (``official``: the class and init_args of an official checkpoint, else None).

    With ``cfg.ensemble`` (checkpoint folders), the model there joins the run's own in one
    :class:`colorgen.models.ensemble.Ensemble`; its info lists every member's steps and sums
    their training time."""
    path = checkpoint_path(cfg, str(cfg.model.name), cfg.get("ckpt"))
    model, model_cfg = load_model(path)
    official = model_cfg.get("official")
    info = training_info(path) | {"official": OmegaConf.to_container(official) if official is not None else None}
    if not cfg.get("ensemble"):
        return model, path, info
    from colorgen.models.ensemble import Ensemble

    paths = [path] + [checkpoint_path(cfg, str(cfg.model.name), folder=d) for d in cfg.ensemble]
    members, infos = [model], [info]
    for p in paths[1:]:
        if not p.is_file():
            raise FileNotFoundError(f"ensemble member {p} not found: train it (seed and ckpt_dir of that folder) first")
        members.append(load_model(p)[0])
        infos.append(training_info(p))
    digests = {i.get("data_digest") for i in infos}
    if len(digests) > 1:
        raise ValueError(f"ensemble members were trained on different data: {sorted(map(str, digests))}")
    seconds = [i.get("train_seconds") for i in infos]
    info |= {"step": max(i["step"] for i in infos), "member_steps": [i["step"] for i in infos],
             "members": [str(p) for p in paths],
             "train_seconds": sum(seconds) if all(s is not None for s in seconds) else None}
    return Ensemble(members), path, info


def training_info(path: Path) -> dict[str, Any]:
    """Steps and train time recorded in a checkpoint (empty for formats that do not record them)."""
    try:
        ckpt = load_checkpoint(path)
    except Exception as err:  # e.g. an official Lightning checkpoint: load_model reads it, not this
        log.info("no training record in %s (%s)", path, err)
        return {"step": 0, "train_seconds": None}
    step = ckpt.get("step", ckpt.get("global_step", 0))
    return {"step": int(step or 0), "train_seconds": ckpt.get("train_seconds"), "data_digest": ckpt.get("data_digest")}


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
