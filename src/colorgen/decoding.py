"""The one decoding rule shared by every generator: temperature, top-k, top-p (nucleus), draw.

``top_p == 0`` keeps only the best class (greedy / the Stats "mode"), ``top_p == 1`` is plain
sampling from the (top-k filtered) distribution. Filtering follows the published
``top_k_top_p_filtering``: the smallest set of classes whose cumulative probability reaches
``top_p`` is kept, and the best class is always kept.

``contrast`` (``None`` | ``"aa"`` | ``"aaa"``) switches on legible-by-construction decoding
(:mod:`colorgen.constrained`): text colours are drawn only among the classes that meet the WCAG
ratio against their effective background. ``None`` (default) is the published behaviour,
bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from colorgen.metrics.contrast import LEVELS


@dataclass(frozen=True)
class DecodingConfig:
    """How logits become classes. Defaults are greedy decoding."""

    top_k: int = 0  # 0 = off
    top_p: float = 0.0  # 0 = keep only the best class, 1 = no nucleus filtering
    temperature: float = 1.0
    contrast: str | None = None  # None = published; "aa" / "aaa" = WCAG-constrained text colours
    # with contrast, greedy tree decoding picks each background with the text it lies under in
    # view (colorgen.lookahead): the weight of that text's legibility cost against the background's
    # own log-probability (per element it paints); 0 = parents first with the model's best
    # background. 2 chosen on the validation split: NAR + AA acc RGB 0.777 at 0, 0.776 at 0.5,
    # 0.780 at 1, 0.782 at 2, 0.782 at 4 (NAR 0.790); acc alpha 0.929, 0.926, 0.922, 0.916, 0.909
    contrast_lookahead: float = 2.0
    # with the lookahead: clearing a box over a showing background image costs its log-probability
    # once, not once per element it paints (colorgen.lookahead, ``reveal``). Off: held out it changes
    # little (acc RGB of + AA -0.0002..+0.0002 on validation, NAR and CVAE seeds 0-2; +0.0000..+0.0007
    # on the 443 registry training pages these models never saw); on the test pages it moves one
    # design (gridgum__sotex): CVAE + AA acc RGB 0.753 -> 0.760, but Pixel-FCD 138 -> 158 and its
    # text left unjudged over a faint texture (experiments/contrast/reveal.md, 2026-12-08)
    contrast_reveal: bool = False
    # with contrast, the rendered page's text that no model colours (below the first screen, left
    # out of the tree) is made legible in the browser too (colorgen/render/legible_rest.js)
    contrast_rest: bool = True

    @property
    def rest_level(self) -> str | None:
        """The contrast level the renderer applies to the text no model colours (None: none)."""
        return self.contrast if self.contrast and self.contrast_rest else None

    def __post_init__(self) -> None:
        if isinstance(self.contrast, str):
            object.__setattr__(self, "contrast", self.contrast.lower())
        if self.contrast is not None and self.contrast not in LEVELS:
            raise ValueError(f"contrast must be null or one of {sorted(LEVELS)}, got {self.contrast!r}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not 0.0 <= self.top_p <= 1.0:
            raise ValueError(f"top_p must lie in [0, 1], got {self.top_p}")
        if self.contrast_lookahead < 0:
            raise ValueError(f"contrast_lookahead must be >= 0, got {self.contrast_lookahead}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    @property
    def greedy(self) -> bool:
        """True when decoding is deterministic (argmax)."""
        return self.top_p == 0.0 or self.top_k == 1

    @classmethod
    def from_cfg(cls, cfg: Mapping[str, Any] | None) -> DecodingConfig:
        """Build from a mapping (a Hydra node or a plain dict), checked against the ``decoding``
        group's schema (:mod:`colorgen.config_schema`): the group's ``name`` is accepted and
        dropped, unknown keys and wrong types raise."""
        from colorgen.config_schema import validated

        return cls(**validated(cls, cfg))


def filter_top_k_top_p(
    logits: Tensor, top_k: int = 0, top_p: float = 0.0, filter_value: float = -float("inf")
) -> Tensor:
    """Return a copy of ``logits [..., K]`` with classes outside top-k / the nucleus set to ``filter_value``."""
    out = logits.clone()
    k = min(top_k, out.size(-1))
    if k > 0:
        kth = torch.topk(out, k, dim=-1).values[..., -1:]
        out = out.masked_fill(out < kth, filter_value)
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(out, dim=-1, descending=True)
        cum = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        # drop a class once the classes ranked before it exceed top_p; always keep the best
        remove = (cum > top_p).roll(1, dims=-1)
        remove[..., 0] = False
        remove_orig = torch.zeros_like(remove).scatter(-1, sorted_idx, remove)
        out = out.masked_fill(remove_orig, filter_value)
    return out


def sample(logits: Tensor, cfg: DecodingConfig, generator: torch.Generator | None = None) -> Tensor:
    """Classes ``[...]`` from logits ``[..., K]``: argmax when greedy, else filter and draw."""
    if cfg.greedy:
        return logits.argmax(dim=-1)
    shape = logits.shape[:-1]
    flat = logits.reshape(-1, logits.size(-1)).float() / cfg.temperature
    flat = filter_top_k_top_p(flat, cfg.top_k, cfg.top_p)
    probs = F.softmax(flat, dim=-1)
    if flat.size(0) == 0:
        return torch.zeros(shape, dtype=torch.long, device=logits.device)
    draw = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    return draw.reshape(shape)
