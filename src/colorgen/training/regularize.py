"""Regularising the tree (content) encoder during training only (``trainer.encoder_reg``).

Why a forward hook: the switches act on training alone, change no weights and no checkpoint
format, so a model trained with them loads and generates like any other.

- ``drop_path`` (stochastic depth, Huang et al. 2016): the content encoder returns ``h + d``
  (embedding + tree messages); with probability ``p`` per page the message branch ``d`` is
  dropped, and kept branches are scaled by ``1 / (1 - p)`` so the expectation is unchanged.
- ``dropout``: element-wise dropout on the encoder output.

Both draw from the global torch RNG, whose state checkpoints save, so a resumed run matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle


def _hook(drop_path: float, dropout: float):
    def hook(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> Tensor | None:
        if not module.training:
            return None
        out = output
        if drop_path and getattr(module, "message_passing", False) and getattr(module, "residual", False):
            batch = args[0]
            h = module.embed(batch)
            keep = (torch.rand(batch.num_graphs, device=out.device) >= drop_path).to(out.dtype)
            out = h + (out - h) * (keep[batch.batch] / (1.0 - drop_path))[:, None]
        if dropout:
            out = F.dropout(out, dropout, training=True)
        return out

    return hook


def attach_encoder_regularisation(model: nn.Module, cfg: Mapping[str, Any] | None) -> RemovableHandle | None:
    """Hook ``trainer.encoder_reg`` (``drop_path``, ``dropout``) onto ``model.content_encoder``."""
    if not cfg:
        return None
    drop_path = float(cfg.get("drop_path", 0.0) or 0.0)
    dropout = float(cfg.get("dropout", 0.0) or 0.0)
    for name, value in (("drop_path", drop_path), ("dropout", dropout)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"trainer.encoder_reg.{name}={value}: a probability in [0, 1)")
    if not (drop_path or dropout):
        return None
    encoder = getattr(model, "content_encoder", None)
    if encoder is None:
        raise ValueError(f"trainer.encoder_reg is on but {type(model).__name__} has no content_encoder")
    return encoder.register_forward_hook(_hook(drop_path, dropout))
