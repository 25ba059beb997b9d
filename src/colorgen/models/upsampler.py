"""Colour upsampler: predicts RGBA residuals inside each bin from content + binned colours.

At inference it turns any generator's colour classes into full colours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from colorgen.data.batching import packing
from colorgen.data.webcolor_format import MAX_ELEMENTS
from colorgen.models.base import (
    Colors,
    Upsampler,
    encode_style,
    encoder_options,
    ground_truth_colors,
    to_dense,
)
from colorgen.models.content_encoder import ContentEncoder
from colorgen.models.style import ResidualDecoder, StyleEncoder
from colorgen.models.transformer import Encoder, PositionalEncoding


class ColorUpsampler(Upsampler):
    """Transformer encoder over ``Linear(2d->d)([content ; style of binned colours])``.

    ``final_norm`` and ``packed`` as in :class:`~colorgen.models.nar.NAR` (default False = official).
    """

    def __init__(
        self,
        d_model: int = 256,
        n_layers: int = 4,
        n_heads: int = 8,
        d_ff: int = 512,
        dropout: float = 0.1,
        encoder: Mapping[str, Any] | None = None,
        final_norm: bool = False,
        packed: bool = True,
    ) -> None:
        super().__init__()
        self.content_encoder = ContentEncoder(d_model, **encoder_options(encoder))
        self.style_encoder = StyleEncoder(d_model)
        self.style_decoder = ResidualDecoder(d_model)
        self.fc_input = nn.Linear(2 * d_model, d_model)
        self.transformer = Encoder(d_model, n_heads, n_layers, d_ff, dropout, final_norm)
        self.positional_encoding = PositionalEncoding(d_model, dropout, max_len=MAX_ELEMENTS)
        self.packed = packed

    def forward(self, batch: Any, colors: Colors) -> tuple[Tensor, Tensor]:
        """Text and background residuals ``[N, 4]`` for the given colour classes."""
        content = self.content_encoder(batch)
        style = encode_style(self.style_encoder, colors, batch.has_text)
        x = self.fc_input(torch.cat([content, style], dim=-1))
        if self.packed:
            pk = packing(batch)
            return self.style_decoder(self.transformer.packed(self.positional_encoding.packed(x, pk), pk))
        x, mask = to_dense(batch, x)
        out = self.transformer(self.positional_encoding(x), key_padding_mask=~mask)
        return self.style_decoder(out[mask])

    def loss(self, batch: Any) -> dict[str, Tensor]:
        """MSE on text residuals of text elements plus MSE on background residuals of all."""
        text, bg = self(batch, ground_truth_colors(batch))
        has_text = batch.has_text
        loss_text = (
            F.mse_loss(text[has_text], batch.text_res[has_text])
            if bool(has_text.any())
            else text.sum() * 0
        )
        loss_bg = F.mse_loss(bg, batch.bg_res)
        return {"loss": loss_text + loss_bg, "loss_text": loss_text, "loss_bg": loss_bg}

    @torch.no_grad()
    def residuals(self, batch: Any, colors: Colors) -> tuple[Tensor, Tensor]:
        return self(batch, colors)
