"""Colour-space augmentation that keeps a page's colour relations (``trainer.augment``).

A page is recoloured by one random hue rotation, the matrix of CSS ``filter: hue-rotate(θ)``
(Filter Effects Level 1), applied to every text and background colour of the page. Why that
matrix: its rows sum to 1, so greys (R = G = B) map to themselves and luminance (Rec. 709
weights) is nearly kept, so light stays light and dark stays dark and text stays legible on its
background. Why one angle per page: equal colours stay equal, so the page's palette structure
(which elements share a colour) is what the model keeps learning, in new hues.

Exactly kept: achromatic colours (R = G = B), fully transparent colours (alpha class 0 and
residual 0, e.g. ``rgba(0, 0, 0, 0)``), every alpha class and alpha residual, and the text
slots of elements without text. Changed colours are re-encoded by the one codec rule
(``bin = v // 32``, ``residual = (v % 32) / 31``), so classes and residuals stay consistent.

Applied on the fly to each training batch with a generator seeded by ``(seed, step)``: a
resumed run augments exactly as the uninterrupted one, and the global RNG stream (dropout)
does not move.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from colorgen.data.colors import BIN_WIDTH

COLOR_SLOTS = ("text", "bg")


def hue_rotation_matrix(theta: Tensor) -> Tensor:
    """``[..., 3, 3]`` CSS ``hue-rotate`` matrices for angles ``theta`` (radians), float64."""
    c, s = torch.cos(theta.double()), torch.sin(theta.double())
    rows = [
        [0.213 + 0.787 * c - 0.213 * s, 0.715 - 0.715 * c - 0.715 * s, 0.072 - 0.072 * c + 0.928 * s],
        [0.213 - 0.213 * c + 0.143 * s, 0.715 + 0.285 * c + 0.140 * s, 0.072 - 0.072 * c - 0.283 * s],
        [0.213 - 0.213 * c - 0.787 * s, 0.715 - 0.715 * c + 0.715 * s, 0.072 + 0.928 * c + 0.072 * s],
    ]
    return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)


def class_values(rgb: Tensor, res: Tensor) -> Tensor:
    """RGB classes + residuals ``[N, 4]`` -> integer channel values ``[N, 3]`` (0-255)."""
    bins = torch.stack([rgb // 64, (rgb // 8) % 8, rgb % 8], dim=-1)
    return bins * BIN_WIDTH + torch.round(res[:, :3].double() * (BIN_WIDTH - 1)).long()


def encode_values(values: Tensor) -> tuple[Tensor, Tensor]:
    """Integer channel values ``[N, 3]`` -> (RGB classes ``[N]``, RGB residuals ``[N, 3]`` float32)."""
    bins = values // BIN_WIDTH
    res = (values % BIN_WIDTH).float() / (BIN_WIDTH - 1)
    return 64 * bins[:, 0] + 8 * bins[:, 1] + bins[:, 2], res


def rotate_colors(rgb: Tensor, alpha: Tensor, res: Tensor, theta: Tensor) -> tuple[Tensor, Tensor]:
    """Rotate the hue of each colour by its own angle ``theta [N]``; returns new (rgb, res).

    Greys and fully transparent colours come back bit-identical; alpha is never touched.
    """
    values = class_values(rgb, res)  # [N, 3] long
    m = hue_rotation_matrix(theta)  # [N, 3, 3]
    v = values.double()
    # elementwise products (no batched matmul): equal colours with equal angles give equal results
    rotated = m[:, :, 0] * v[:, 0:1] + m[:, :, 1] * v[:, 1:2] + m[:, :, 2] * v[:, 2:3]
    new_values = torch.round(rotated).clamp(0, 255).long()
    grey = (values[:, 0] == values[:, 1]) & (values[:, 1] == values[:, 2])
    transparent = (alpha == 0) & (res[:, 3] == 0)
    keep = grey | transparent | (theta == 0)
    new_values = torch.where(keep[:, None], values, new_values)
    new_rgb, new_res3 = encode_values(new_values)
    new_rgb = torch.where(keep, rgb, new_rgb)
    new_res = res.clone()
    new_res[:, :3] = torch.where(keep[:, None], res[:, :3], new_res3.to(res.dtype))
    return new_rgb, new_res


def hue_rotate_batch(batch: Any, p: float, generator: torch.Generator) -> Any:
    """Give each page of ``batch`` (with probability ``p``) one uniformly random hue rotation.

    The batch's colour fields are replaced (not modified in place); text slots of elements
    without text stay as they were.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"trainer.augment.hue_rotation={p}: a probability in [0, 1]")
    n_pages = int(batch.num_graphs)
    angles = torch.rand(n_pages, generator=generator, dtype=torch.float64) * (2 * math.pi)
    chosen = torch.rand(n_pages, generator=generator, dtype=torch.float64) < p
    theta = torch.where(chosen, angles, torch.zeros_like(angles))[batch.batch.cpu()].to(batch.bg_rgb.device)
    for slot in COLOR_SLOTS:
        rgb, alpha, res = (getattr(batch, f"{slot}_{k}") for k in ("rgb", "alpha", "res"))
        slot_theta = theta if slot == "bg" else torch.where(batch.has_text, theta, torch.zeros_like(theta))
        new_rgb, new_res = rotate_colors(rgb, alpha, res, slot_theta)
        setattr(batch, f"{slot}_rgb", new_rgb)
        setattr(batch, f"{slot}_res", new_res)
    return batch


def augment_seed(seed: int, step: int) -> int:
    """The augmentation generator's seed at a (1-based) step: a pure function, so resume matches."""
    return (int(seed) * 1_000_003 + int(step)) % (2**63)


def augment_batch(batch: Any, augment_cfg: Mapping[str, Any] | None, seed: int, step: int) -> Any:
    """Apply the switched-on augmentations of ``trainer.augment`` to one training batch."""
    if not augment_cfg:
        return batch
    p = float(augment_cfg.get("hue_rotation", 0.0) or 0.0)
    if p > 0:
        batch = hue_rotate_batch(batch, p, torch.Generator().manual_seed(augment_seed(seed, step)))
    return batch
