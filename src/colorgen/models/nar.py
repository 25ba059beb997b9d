"""Non-autoregressive Transformer: every element's colours at once from its context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from colorgen.data.batching import packing
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
    ``packed`` (default True) runs linear layers on the real elements only (padding-free,
    :class:`~colorgen.data.batching.Packing`); False = the padded layout. Same function; in
    training the dropout masks are drawn over a different layout, so runs differ by chance.
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
        super().__init__(d_model, n_layers, n_heads, d_ff, dropout, encoder, style_encoder=False)
        self.transformer = Encoder(d_model, n_heads, n_layers, d_ff, dropout, final_norm)
        self.packed = packed

    def logits(self, batch: Any) -> StyleLogits:
        if self.packed:
            pk = packing(batch)
            x = self.positional_encoding.packed(self.content_encoder(batch), pk)
            return self.style_decoder(self.transformer.packed(x, pk))
        src, mask = to_dense(batch, self.content_encoder(batch))
        out = self.transformer(self.positional_encoding(src), key_padding_mask=~mask)
        return self.style_decoder(out[mask])

    def loss(self, batch: Any) -> dict[str, Tensor]:
        return generator_loss(self.logits(batch), batch)
