"""An exponential moving average of the weights (``trainer.ema``), validated and kept instead of them.

Why: with few pages and a constant learning rate the weights wander around a good region; their
running average (Polyak averaging) sits nearer its centre, like a decayed learning rate, without
ending the run's exploration. ``0`` (default) is the published behaviour: the raw weights are
validated and saved. Measured on NAR (``experiments/ablation/cpu_2026-11-27.md``): 0.995 on a
constant-rate run ends where cosine decay does, so it stays off.

The averaged copy is what validation scores and what ``best.pt`` holds, so ``colorgen.eval`` and
``colorize`` use it unchanged; ``last.pt`` keeps the raw weights (to resume training) and the
average under ``"ema"``. The decay warms up as ``min(decay, (1 + t) / (10 + t))`` after ``t``
updates, so the first steps' random weights fade fast; the update is deterministic.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """Holds ``model``'s averaged copy (eval mode, no gradients) and its update count."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"trainer.ema={decay}: a decay in (0, 1), or 0 for off")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)

    def rate(self) -> float:
        """The decay used by the next update."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """``avg = r * avg + (1 - r) * weights`` for float tensors; others (counters) are copied."""
        r = self.rate()
        for avg, new in zip(self.model.state_dict().values(), model.state_dict().values(), strict=True):
            if avg.dtype.is_floating_point:
                avg.lerp_(new.to(avg.dtype), 1.0 - r)
            else:
                avg.copy_(new)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
