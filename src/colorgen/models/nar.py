"""Non-autoregressive Transformer: every element's colours at once from its context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from colorgen.models.base import (
    NeuralGenerator,
    StyleLogits,
    generator_loss,
    to_dense,
)
from colorgen.models.transformer import Encoder


class NAR(NeuralGenerator):
    """Transformer encoder over content vectors; argmax per element by default.

    ``final_norm`` (default False = official ``nn.TransformerEncoder`` without ``norm``) adds
    a LayerNorm after the last layer.
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
    ) -> None:
        super().__init__(d_model, n_layers, n_heads, d_ff, dropout, encoder, style_encoder=False)
        self.transformer = Encoder(d_model, n_heads, n_layers, d_ff, dropout, final_norm)

    def logits(self, batch: Any) -> StyleLogits:
        src, mask = to_dense(batch, self.content_encoder(batch))
        out = self.transformer(self.positional_encoding(src), key_padding_mask=~mask)
        return self.style_decoder(out[mask])

    def loss(self, batch: Any) -> dict[str, Tensor]:
        return generator_loss(self.logits(batch), batch)
