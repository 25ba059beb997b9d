"""Stats baseline: per-tag histograms of training colours.

Text colours are counted on text elements only, background colours on all elements. A tag
never seen in training falls back to the global histogram. ``mode`` and ``sampling`` are the
shared decoding rule with ``top_p = 0`` and ``top_p = 1`` over the log-histogram.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES
from colorgen.data.tags import NUM_TAGS
from colorgen.models.base import Generator, StyleLogits

_KEYS = ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")


class Stats(Generator):
    """Histogram generator; fit by one counting pass (``fit``), histograms stored as buffers."""

    freq_text_rgb: Tensor
    freq_text_alpha: Tensor
    freq_bg_rgb: Tensor
    freq_bg_alpha: Tensor

    def __init__(self) -> None:
        super().__init__()
        for key in _KEYS:
            classes = NUM_RGB_CLASSES if key.endswith("rgb") else NUM_ALPHA_CLASSES
            self.register_buffer(f"freq_{key}", torch.zeros(NUM_TAGS, classes, dtype=torch.long))

    @torch.no_grad()
    def update(self, batch: Any) -> None:
        """Add one batch's colours to the histograms."""
        text = batch.has_text
        for key in _KEYS:
            freq: Tensor = getattr(self, f"freq_{key}")
            tag, cls = batch.tag, getattr(batch, key)
            if key.startswith("text"):
                tag, cls = tag[text], cls[text]
            flat = tag.to(freq.device) * freq.size(1) + cls.to(freq.device)
            freq.view(-1).add_(torch.bincount(flat, minlength=freq.numel()))

    def fit(self, loader: Iterable[Any]) -> Stats:
        """Count every batch of ``loader`` (one pass); returns self."""
        for batch in loader:
            self.update(batch)
        return self

    def histograms(self, key: str) -> Tensor:
        """Float histogram per tag ``[NUM_TAGS, K]`` with unseen tags replaced by the global one."""
        freq: Tensor = getattr(self, f"freq_{key}").float()
        total = freq.sum(0, keepdim=True)
        if float(total.sum()) == 0:  # no element of this kind seen at all: uniform
            total = torch.ones_like(total)
        seen = freq.sum(1) > 0
        return torch.where(seen[:, None], freq, total)

    def loss(self, batch: Any) -> dict[str, Tensor]:
        """Stats has nothing to optimise; counting happens in :meth:`fit`."""
        raise NotImplementedError("Stats is fitted by counting: call fit(loader)")

    def logits(self, batch: Any) -> StyleLogits:
        """Log-histograms of each element's tag (``-inf`` for never-seen classes)."""
        if int(self.freq_bg_rgb.sum()) == 0:
            raise RuntimeError("Stats has no counts yet: call fit(loader) first")
        tag = batch.tag.to(self.freq_bg_rgb.device)
        return StyleLogits(*(self.histograms(key).log()[tag] for key in _KEYS))  # log per tag, then rows
