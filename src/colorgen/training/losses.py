"""Loss switches for learning from few pages: label smoothing, neighbour-bin soft targets,
class-balanced weights and the focal term. All off = the published plain cross-entropy.

Why a context (:func:`loss_options`) rather than model arguments: the models call
:func:`colorgen.models.base.generator_loss` from their own ``loss()``; the training loop wraps
each *training* step in ``with loss_options(cfg):`` so validation loss stays the plain
cross-entropy (comparable across variants) and no model needs to know about these switches.

Per element ``i`` with target ``t`` and log-probabilities ``logp``::

    ce_i = -(1 - ls - nb) logp[t] - ls * mean_k logp[k] - nb * mean_{k in N(t)} logp[k]
    l_i  = w[t] * (1 - p[t]) ** gamma * ce_i          (focal factor only when gamma > 0)
    loss = sum_i l_i / sum_i w[t_i]                   (as F.cross_entropy with weight=w)

``N(t)`` are the RGB bins that differ from ``t`` by one step in one channel of the 8x8x8 cube
(close colours; 3 to 6 of them). Neighbour smoothing applies to RGB only; alpha gets label
smoothing, class weights and the focal factor. ``legibility`` adds that weight times the
probability, under the model's own colours, that a text is seen on a colour contrasting less than
``legibility_ratio`` with it (:mod:`colorgen.training.legibility`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES, rgb_class_bins


@dataclass(frozen=True)
class LossOptions:
    """The loss switches of one run (``trainer.loss``); class weights are built from the training split."""

    label_smoothing: float = 0.0
    neighbour_smoothing: float = 0.0
    focal_gamma: float = 0.0
    class_balance: float = 0.0  # beta of the effective number of samples; 0 = off
    rgb_weight: Tensor | None = None  # [512] per-class weights (class_balance > 0)
    alpha_weight: Tensor | None = None  # [8]
    legibility: float = 0.0  # weight of the legibility term; 0 = off
    legibility_ratio: float = 1.5  # contrast below which a text counts as hidden

    def __post_init__(self) -> None:
        ls, nb = self.label_smoothing, self.neighbour_smoothing
        if ls < 0 or nb < 0 or ls + nb >= 1:
            raise ValueError(f"trainer.loss: label_smoothing={ls} and neighbour_smoothing={nb} must be >= 0 "
                             "and sum to less than 1")
        if self.focal_gamma < 0:
            raise ValueError(f"trainer.loss.focal_gamma={self.focal_gamma} must be >= 0")
        if not 0 <= self.class_balance < 1:
            raise ValueError(f"trainer.loss.class_balance={self.class_balance} must lie in [0, 1)")
        if self.legibility < 0 or self.legibility_ratio < 1:
            raise ValueError(f"trainer.loss.legibility={self.legibility} must be >= 0 and "
                             f"legibility_ratio={self.legibility_ratio} >= 1")

    @property
    def plain(self) -> bool:
        """True when the loss is exactly the published cross-entropy."""
        return self.plain_classes and self.legibility == 0

    @property
    def plain_classes(self) -> bool:
        """True when each head's loss is the plain cross-entropy (a legibility term may still be added)."""
        return (self.label_smoothing == 0 and self.neighbour_smoothing == 0 and self.focal_gamma == 0
                and self.rgb_weight is None and self.alpha_weight is None)


_ACTIVE: ContextVar[LossOptions | None] = ContextVar("colorgen_loss_options", default=None)


@contextmanager
def loss_options(options: LossOptions | None) -> Iterator[None]:
    """Make ``options`` the loss switches of every :func:`generator_loss` call inside the block."""
    token = _ACTIVE.set(options)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active_loss_options() -> LossOptions | None:
    """The switches set by the innermost :func:`loss_options` (``None`` = plain cross-entropy)."""
    return _ACTIVE.get()


@cache
def rgb_neighbours() -> tuple[Tensor, Tensor]:
    """``(index [512, 6], weight [512, 6])``: face-adjacent bins of each RGB class, weights summing to 1.

    Missing neighbours (cube faces) point at the class itself with weight 0.
    """
    bins = rgb_class_bins(np.arange(NUM_RGB_CLASSES))  # [512, 3]
    index = np.repeat(np.arange(NUM_RGB_CLASSES)[:, None], 6, axis=1)
    valid = np.zeros((NUM_RGB_CLASSES, 6), bool)
    for j, (channel, step) in enumerate((c, s) for c in range(3) for s in (-1, 1)):
        moved = bins.copy()
        moved[:, channel] += step
        ok = (moved[:, channel] >= 0) & (moved[:, channel] < 8)
        index[ok, j] = (64 * moved[:, 0] + 8 * moved[:, 1] + moved[:, 2])[ok]
        valid[:, j] = ok
    weight = valid / valid.sum(axis=1, keepdims=True)
    return torch.from_numpy(index), torch.from_numpy(weight).float()


def class_loss(logits: Tensor, target: Tensor, options: LossOptions | None, part: str) -> Tensor:
    """The loss of one head (``part`` = ``"rgb"`` or ``"alpha"``) under ``options``."""
    if options is None or options.plain_classes:
        return F.cross_entropy(logits, target)
    logp = F.log_softmax(logits.float(), dim=-1)
    nll = -logp.gather(1, target[:, None])[:, 0]
    ls = options.label_smoothing
    nb = options.neighbour_smoothing if part == "rgb" else 0.0
    per = (1.0 - ls - nb) * nll
    if ls:
        per = per - ls * logp.mean(dim=-1)
    if nb:
        index, weight = (t.to(logits.device) for t in rgb_neighbours())
        per = per - nb * (logp.gather(1, index[target]) * weight[target]).sum(dim=-1)
    if options.focal_gamma:
        per = per * (1.0 - (-nll).exp()).clamp_min(0.0).pow(options.focal_gamma)
    weight = options.rgb_weight if part == "rgb" else options.alpha_weight
    if weight is None:
        return per.mean()
    w = weight.to(logits.device)[target]
    return (per * w).sum() / w.sum().clamp_min(1e-12)


def effective_number_weights(counts: Tensor, beta: float) -> Tensor:
    """Class-balanced weights (Cui et al., CVPR 2019): ``(1 - beta) / (1 - beta ** n_c)``.

    Normalised so that the mean weight over the training elements is 1 (the loss scale stays
    that of plain cross-entropy); unseen classes get 0 (they are never a target).
    """
    n = counts.double()
    w = torch.where(n > 0, (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), n)),
                    torch.zeros_like(n))
    return (w * n.sum() / (w * n).sum().clamp_min(1e-12)).float()


def class_counts(dataset: Sequence, batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """RGB and alpha class counts over the scored elements of a split (one pass, no shuffling)."""
    from torch_geometric.loader import DataLoader

    from colorgen.models.base import target_classes  # lazy: models import this module

    rgb = torch.zeros(NUM_RGB_CLASSES, dtype=torch.long)
    alpha = torch.zeros(NUM_ALPHA_CLASSES, dtype=torch.long)
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        rgb_t, alpha_t = target_classes(batch)
        rgb += torch.bincount(rgb_t, minlength=NUM_RGB_CLASSES)
        alpha += torch.bincount(alpha_t, minlength=NUM_ALPHA_CLASSES)
    return rgb, alpha


def options_from_cfg(loss_cfg: Mapping[str, Any] | None, train_set: Sequence | None = None) -> LossOptions | None:
    """``trainer.loss`` -> :class:`LossOptions` (class weights counted on ``train_set``); ``None`` when all off."""
    if not loss_cfg:
        return None
    options = LossOptions(  # validates the switches before any counting
        label_smoothing=float(loss_cfg.get("label_smoothing", 0.0) or 0.0),
        neighbour_smoothing=float(loss_cfg.get("neighbour_smoothing", 0.0) or 0.0),
        focal_gamma=float(loss_cfg.get("focal_gamma", 0.0) or 0.0),
        class_balance=float(loss_cfg.get("class_balance", 0.0) or 0.0),
        legibility=float(loss_cfg.get("legibility", 0.0) or 0.0),
        legibility_ratio=float(loss_cfg.get("legibility_ratio", 1.5) or 1.5),
    )
    if options.class_balance:
        if train_set is None:
            raise ValueError("trainer.loss.class_balance needs the training split to count classes")
        rgb_c, alpha_c = class_counts(train_set)
        options = replace(options, rgb_weight=effective_number_weights(rgb_c, options.class_balance),
                          alpha_weight=effective_number_weights(alpha_c, options.class_balance))
    return None if options.plain else options
