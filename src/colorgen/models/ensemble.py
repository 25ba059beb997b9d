"""Several trained generators as one: their class probabilities averaged (a deep ensemble).

Why: on a few hundred training pages one run's colours follow its seed (acc RGB moves by ~0.01
between seeds). Averaging the probabilities of independently trained runs cancels part of that
variance: on the validation split, three NAR seeds together reach acc RGB 0.772 against 0.749-0.769
alone, with macro F and FCD inside the members' range (``experiments/ablation/ensemble_2026-12-07.md``).
The average is a mixture: ``log mean_k softmax(logits_k)``, which the shared decoding rule (greedy,
top-p, the contrast constraint) then treats as any model's logits.

Members decode every element at once (NAR, CVAE); AR's logits depend on the colours it
decoded before, so it cannot join.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from colorgen.models.base import Generator
from colorgen.models.style import StyleLogits


def mean_probabilities(parts: Sequence[StyleLogits]) -> StyleLogits:
    """``log`` of the members' mean class probabilities, field by field."""
    log_n = math.log(len(parts))
    return StyleLogits(*(
        torch.logsumexp(torch.stack([torch.log_softmax(p.float(), -1) for p in fields]), 0) - log_n
        for fields in zip(*parts, strict=True)
    ))


class Ensemble(Generator):
    """Generators of one kind whose class probabilities are averaged; generation only."""

    def __init__(self, members: Sequence[Generator]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        kinds = {type(m).__name__ for m in members}
        if len(kinds) > 1:
            raise ValueError(f"ensemble members must be one kind of model, got {sorted(kinds)}")
        self.members = torch.nn.ModuleList(members)

    def _each(self, fn) -> StyleLogits:
        parts = [fn(m) for m in self.members]
        if any(p is None for p in parts):
            raise ValueError(f"{type(self.members[0]).__name__} decodes element by element and cannot join an ensemble")
        return mean_probabilities(parts)

    def logits(self, batch: Any) -> StyleLogits:
        return self._each(lambda m: m.logits(batch))

    def forward_logits(self, batch: Any) -> StyleLogits:
        return self._each(lambda m: m.forward_logits(batch))

    def generation_logits(self, batch: Any, generator: torch.Generator | None = None) -> StyleLogits:
        """Each member's generation logits in member order (CVAE members draw their own z from
        ``generator`` one after another), averaged."""
        return self._each(lambda m: m.generation_logits(batch, generator))

    def loss(self, batch: Any) -> dict[str, torch.Tensor]:
        raise NotImplementedError("an ensemble is assembled from trained members; train each member")
