"""Run a generator over a split: node-aligned predictions, kept in ``generated.npz``.

Generated colours are kept as flat, node-aligned arrays (plus each node's page index) so
that every metric is one vectorised pass, and renderers can reuse the same predictions.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress

from colorgen.constrained import Residuals, decode_tree, enforce_contrast
from colorgen.data.batching import make_loader
from colorgen.decoding import DecodingConfig
from colorgen.io import write_atomic
from colorgen.models.base import Colors


@dataclass
class Generated:
    """Predictions and ground truth of one split, node-aligned; ``page`` indexes ``page_ids``."""

    page_ids: list[str]
    is_test2: np.ndarray  # [pages] bool
    page: np.ndarray  # [nodes] page index
    has_text: np.ndarray
    true: dict[str, np.ndarray]  # text_rgb, text_alpha, bg_rgb, bg_alpha (+ text_res, bg_res)
    pred: dict[str, np.ndarray]  # same keys; residuals only when an upsampler ran

    def save(self, path: str | os.PathLike, meta: dict | None = None) -> Path:
        """Write ``generated.npz`` atomically (no pickles), with ``meta`` as JSON beside the arrays.

        Why: scoring that needs a browser can run later, for many runs at once
        (``python -m colorgen.visual``), without generating again.
        """
        path = Path(path)
        arrays = {"page_ids": np.asarray(self.page_ids, dtype=str), "is_test2": self.is_test2, "page": self.page,
                  "has_text": self.has_text, "meta": np.asarray(json.dumps(meta or {}))}
        arrays |= {f"true.{k}": v for k, v in self.true.items()} | {f"pred.{k}": v for k, v in self.pred.items()}
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return write_atomic(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple[Generated, dict]:
        """Read what :meth:`save` wrote: the predictions and their ``meta``."""
        with np.load(path, allow_pickle=False) as z:
            part = {src: {k.split(".", 1)[1]: z[k] for k in z.files if k.startswith(f"{src}.")} for src in ("true", "pred")}
            g = cls([str(p) for p in z["page_ids"]], z["is_test2"].astype(bool), z["page"], z["has_text"].astype(bool),
                    part["true"], part["pred"])
            return g, json.loads(str(z["meta"]))


@torch.no_grad()
def generate_colors(model, batch, decoding: DecodingConfig, generator: torch.Generator | None = None,
                    upsampler=None) -> tuple[Colors, tuple[torch.Tensor, torch.Tensor] | None]:
    """One batch's classes and, with an upsampler, the residuals that will be rendered.

    With ``decoding.contrast`` and an upsampler, the constraint is judged on the rendered colours,
    not bin centres. Models that decode every element at once (NAR, CVAE, Stats) take the
    Upsampler's residuals for the model's best classes first and decode against exactly those: a
    text colour the model chose that will render legibly keeps its class, and the page is
    rendered with those residuals. AR decodes element by element, so its classes are re-checked
    against the residuals of its final classes afterwards. Eval and colorize both colour pages
    through here.
    """
    if upsampler is None:
        return model.generate(batch, decoding, generator), None
    logits = model.generation_logits(batch, generator) if decoding.contrast else None
    if logits is None:
        colors = model.generate(batch, decoding, generator)
        text_res, bg_res = upsampler.residuals(batch, colors)
        if decoding.contrast:
            colors = enforce_contrast(batch, colors, decoding.contrast, text_res, bg_res)
        return colors, (text_res, bg_res)
    best = Colors(*(lg.argmax(-1) for lg in logits))
    text_res, bg_res = upsampler.residuals(batch, best)
    colors = Colors(*decode_tree(batch, logits, decoding, generator, Residuals(text_res, bg_res), best))
    return colors, (text_res, bg_res)


@torch.no_grad()
def generate_split(model, dataset, decoding: DecodingConfig, seed: int = 0, batch_size: int = 64,
                   upsampler=None, progress: Progress | None = None, device: torch.device | str = "cpu",
                   generator: torch.Generator | None = None) -> Generated:
    """Generate colours for every page of ``dataset`` (seeded, batch order fixed) on ``device``.

    ``generator``: draw from this one instead of a fresh one seeded with ``seed`` (the official
    draw order, :func:`colorgen.models.official.official_generator`)."""
    model.eval()
    gen = generator if generator is not None else torch.Generator(device=device).manual_seed(seed)
    keys = ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")
    true: dict[str, list] = {k: [] for k in (*keys, "text_res", "bg_res")}
    pred: dict[str, list] = {k: [] for k in keys}
    pages, has_text, page_ids, is_test2, offset = [], [], [], [], 0
    task = progress.add_task("generating", total=len(dataset)) if progress else None
    for batch in make_loader(dataset, batch_size):
        batch = batch.to(device)
        colors, residuals = generate_colors(model, batch, decoding, gen, upsampler)
        if residuals is not None:
            pred.setdefault("text_res", []).append(residuals[0].cpu().numpy())
            pred.setdefault("bg_res", []).append(residuals[1].cpu().numpy())
        for k in keys:
            pred[k].append(getattr(colors, k).cpu().numpy())
        for k in true:
            true[k].append(getattr(batch, k).cpu().numpy())
        pages.append(batch.batch.cpu().numpy() + offset)
        has_text.append(batch.has_text.cpu().numpy())
        page_ids += list(batch.page_id)
        is_test2.append(batch.is_test2.cpu().numpy())
        offset += batch.num_graphs
        if progress:
            progress.advance(task, batch.num_graphs)
    cat = np.concatenate
    return Generated(page_ids, cat(is_test2).astype(bool), cat(pages), cat(has_text).astype(bool),
                     {k: cat(v) for k, v in true.items()}, {k: cat(v) for k, v in pred.items()})
