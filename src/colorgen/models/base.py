"""What every colour model shares: the output type, the loss targets and the base classes.

Predictions and targets are always the concatenation the paper scores:
``[text colours of text elements ; background colours of all elements]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from colorgen.constrained import decode_tree
from colorgen.data.batching import to_dense
from colorgen.data.webcolor_format import MAX_ELEMENTS
from colorgen.decoding import DecodingConfig, sample
from colorgen.models.content_encoder import ContentEncoder
from colorgen.models.style import StyleDecoder, StyleEncoder, StyleLogits
from colorgen.models.transformer import PositionalEncoding

__all__ = [
    "MAX_ELEMENTS",
    "Colors",
    "Generator",
    "NeuralGenerator",
    "StyleLogits",
    "Upsampler",
    "decode_logits",
    "encode_style",
    "generator_loss",
    "ground_truth_colors",
    "scored",
    "target_classes",
    "to_dense",
]


class Colors(NamedTuple):
    """Generated colour classes, node-aligned with the batch (long ``[N_total]`` each)."""

    text_rgb: Tensor
    text_alpha: Tensor
    bg_rgb: Tensor
    bg_alpha: Tensor


def scored(batch: Any, text: Tensor, bg: Tensor) -> Tensor:
    """Concatenate per-node text values (text elements only) and background values (all)."""
    return torch.cat([text[batch.has_text], bg])


def target_classes(batch: Any) -> tuple[Tensor, Tensor]:
    """Ground-truth RGB and alpha classes over the scored concatenation."""
    rgb = scored(batch, batch.text_rgb, batch.bg_rgb)
    alpha = scored(batch, batch.text_alpha, batch.bg_alpha)
    return rgb, alpha


def generator_loss(logits: StyleLogits, batch: Any) -> dict[str, Tensor]:
    """Cross-entropy on RGB plus cross-entropy on alpha over the scored concatenation.

    Inside the training loop's ``colorgen.training.losses.loss_options`` block the switches of
    ``trainer.loss`` apply (label smoothing, neighbour bins, class weights, focal, legibility); elsewhere,
    and with every switch off, this is the published plain cross-entropy.
    """
    from colorgen.training.losses import (  # lazy: training imports models
        active_loss_options,
        class_loss,
    )

    options = active_loss_options()
    rgb_t, alpha_t = target_classes(batch)
    loss_rgb = class_loss(scored(batch, logits.text_rgb, logits.bg_rgb), rgb_t, options, "rgb")
    loss_alpha = class_loss(scored(batch, logits.text_alpha, logits.bg_alpha), alpha_t, options, "alpha")
    out = {"loss": loss_rgb + loss_alpha, "loss_rgb": loss_rgb, "loss_alpha": loss_alpha}
    if options is not None and options.legibility:
        from colorgen.training.legibility import legibility_term

        out["loss_legibility"] = legibility_term(logits, batch, options.legibility_ratio)
        out["loss"] = out["loss"] + options.legibility * out["loss_legibility"]
    return out


def decode_logits(
    logits: StyleLogits,
    decoding: DecodingConfig,
    generator: torch.Generator | None = None,
    batch: Any = None,
) -> Colors:
    """Turn logits into classes with the shared decoding rule.

    With ``decoding.contrast`` set, text colours are constrained to legible ones, decided in tree
    order (:func:`colorgen.constrained.decode_tree`), which needs the ``batch`` (tree and fonts).
    """
    if decoding.contrast is None:
        return Colors(*(sample(lg, decoding, generator) for lg in logits))
    if batch is None:
        raise ValueError(f"decoding.contrast={decoding.contrast!r} needs the batch (the page tree) to decode")
    return Colors(*decode_tree(batch, logits, decoding, generator))


def encoder_options(encoder: Mapping[str, Any] | None) -> dict[str, Any]:
    """Content-encoder switches from a (Hydra) mapping; ``None`` = published behaviour."""
    return {} if encoder is None else {str(k): v for k, v in encoder.items()}


class Generator(nn.Module):
    """A colour generator: a training loss and a ``generate`` that returns colour classes."""

    def loss(self, batch: Any) -> dict[str, Tensor]:
        """``"loss"`` to minimise plus its parts for logging."""
        raise NotImplementedError

    def logits(self, batch: Any) -> StyleLogits:
        """Per-element class logits (models that decode element by element override ``generate``)."""
        raise NotImplementedError

    def forward_logits(self, batch: Any) -> StyleLogits:
        """The logits of the official ``forward()``: what its validation accuracy scores.

        Teacher-forced for AR, a posterior sample of z for CVAE, else :meth:`logits`.
        """
        return self.logits(batch)

    def generation_logits(self, batch: Any, generator: torch.Generator | None = None) -> StyleLogits | None:
        """The logits :meth:`generate` decodes, every element's at once (CVAE: z drawn from the
        prior with ``generator``); ``None`` for models that decode element by element (AR)."""
        return self.logits(batch)

    @torch.no_grad()
    def generate(
        self,
        batch: Any,
        decoding: DecodingConfig | None = None,
        generator: torch.Generator | None = None,
    ) -> Colors:
        """Colour classes for every element of the batch: its logits through the shared decoding rule."""
        return decode_logits(self.generation_logits(batch, generator), decoding or DecodingConfig(), generator, batch)


class Upsampler(nn.Module):
    """Turns binned colours into full colours by predicting residuals inside each bin."""

    def loss(self, batch: Any) -> dict[str, Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def residuals(self, batch: Any, colors: Colors) -> tuple[Tensor, Tensor]:
        """Text and background RGBA residuals in [0, 1], float ``[N_total, 4]`` each."""
        raise NotImplementedError


def ground_truth_colors(batch: Any) -> Colors:
    """The batch's own colour classes (for teacher forcing and tests)."""
    return Colors(batch.text_rgb, batch.text_alpha, batch.bg_rgb, batch.bg_alpha)


def encode_style(encoder: StyleEncoder, colors: Colors, has_text: Tensor) -> Tensor:
    """Style vectors of (node-aligned or dense) colour classes."""
    return encoder(colors.text_rgb, colors.text_alpha, colors.bg_rgb, colors.bg_alpha, has_text)


class NeuralGenerator(Generator):
    """Content encoder + positional encoding + style decoder, shared by AR, NAR and CVAE.

    ``encoder`` holds the content-encoder switches (see :class:`ContentEncoder`).
    """

    def __init__(
        self,
        d_model: int = 256,
        n_layers: int = 4,
        n_heads: int = 8,
        d_ff: int = 512,
        dropout: float = 0.1,
        encoder: Mapping[str, Any] | None = None,
        style_encoder: bool = True,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.content_encoder = ContentEncoder(d_model, **encoder_options(encoder))
        self.style_encoder = StyleEncoder(d_model) if style_encoder else None
        self.style_decoder = StyleDecoder(d_model)
        self.positional_encoding = PositionalEncoding(d_model, dropout, max_len=MAX_ELEMENTS)
