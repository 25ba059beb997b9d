"""Run a generator over a split and score it: the library behind ``python -m colorgen.eval``.

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

from colorgen.data.batching import make_loader
from colorgen.decoding import DecodingConfig
from colorgen.io import write_atomic
from colorgen.metrics.classification import classification_scores, concat_text_bg
from colorgen.metrics.fcd import fcd_score, text_bg_histograms


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


def row_key(model: str, dec: DecodingConfig) -> str:
    """The published-table row a run belongs to (e.g. ``ar-top_p0.8``, ``stats-mode``, ``nar``)."""
    if dec.top_k or dec.temperature != 1.0:
        return f"{model}-k{dec.top_k}-p{dec.top_p:g}-t{dec.temperature:g}"
    if dec.top_p == 0.0:
        return {"stats": "stats-mode", "ar": "ar-greedy"}.get(model, model)
    if dec.top_p == 1.0:
        return f"{model}-sampling"
    return f"{model}-top_p{dec.top_p:g}"


def decoding_label(model: str, dec: DecodingConfig) -> str:
    """How the paper names the decoding of a row ('mode', 'greedy', 'top-p 0.9', 'sampling')."""
    key = row_key(model, dec)
    if key in ("nar", "cvae"):
        return ""
    if dec.top_p == 0.0 and not dec.top_k:
        return "mode" if model == "stats" else "greedy"
    if dec.top_p == 1.0 and not dec.top_k:
        return "sampling"
    return key.split("-", 1)[1].replace("top_p", "top-p ")


@torch.no_grad()
def generate_split(model, dataset, decoding: DecodingConfig, seed: int = 0, batch_size: int = 64,
                   upsampler=None, progress: Progress | None = None) -> Generated:
    """Generate colours for every page of ``dataset`` (seeded, batch order fixed)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    keys = ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")
    true: dict[str, list] = {k: [] for k in (*keys, "text_res", "bg_res")}
    pred: dict[str, list] = {k: [] for k in keys}
    pages, has_text, page_ids, is_test2, offset = [], [], [], [], 0
    task = progress.add_task("generating", total=len(dataset)) if progress else None
    for batch in make_loader(dataset, batch_size):
        colors = model.generate(batch, decoding, gen)
        for k in keys:
            pred[k].append(getattr(colors, k).cpu().numpy())
        for k in true:
            true[k].append(getattr(batch, k).numpy())
        if upsampler is not None:
            text_res, bg_res = upsampler.residuals(batch, colors)
            pred.setdefault("text_res", []).append(text_res.cpu().numpy())
            pred.setdefault("bg_res", []).append(bg_res.cpu().numpy())
        pages.append(batch.batch.numpy() + offset)
        has_text.append(batch.has_text.numpy())
        page_ids += list(batch.page_id)
        is_test2.append(batch.is_test2.numpy())
        offset += batch.num_graphs
        if progress:
            progress.advance(task, batch.num_graphs)
    cat = np.concatenate
    return Generated(page_ids, cat(is_test2).astype(bool), cat(pages), cat(has_text).astype(bool),
                     {k: cat(v) for k, v in true.items()}, {k: cat(v) for k, v in pred.items()})


def score(g: Generated) -> dict[str, float]:
    """Accuracy / F-scores over the whole split, FCD test1-real vs test2-generated, and the real floor."""
    flat = {
        f"{src}_{part}": concat_text_bg(d[f"text_{part}"], d[f"bg_{part}"], g.has_text)
        for src, d in (("pred", g.pred), ("true", g.true)) for part in ("rgb", "alpha")
    }
    metrics = classification_scores(flat["pred_rgb"], flat["true_rgb"], flat["pred_alpha"], flat["true_alpha"])
    n = len(g.page_ids)
    real_text, real_bg = text_bg_histograms(g.true["text_rgb"], g.true["bg_rgb"], g.has_text, g.page, n)
    fake_text, fake_bg = text_bg_histograms(g.pred["text_rgb"], g.pred["bg_rgb"], g.has_text, g.page, n)
    t1, t2 = ~g.is_test2, g.is_test2
    if t1.sum() >= 2 and t2.sum() >= 2:
        metrics |= {
            "fcd_bg": fcd_score(real_bg[t1], fake_bg[t2]),
            "fcd_text": fcd_score(real_text[t1], fake_text[t2]),
            "fcd_bg_real": fcd_score(real_bg[t1], real_bg[t2]),
            "fcd_text_real": fcd_score(real_text[t1], real_text[t2]),
        }
    metrics |= {"pages": n, "elements": int(len(g.page)), "text_elements": int(g.has_text.sum())}
    return metrics
