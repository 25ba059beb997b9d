"""Conditional VAE: a per-element latent sequence explains the colours given the content.

Encoder: Transformer encoder over ``Linear(2d->d)([content ; style])`` -> ``Linear(d->2d)``
-> heads for mu and log sigma^2. Decoder: Transformer decoder whose target sequence is the
content and whose memory is the latent sequence, no causal mask. Loss = cross-entropy +
``kl_weight`` * KL (summed over d, mean over elements). Generation draws z ~ N(0, I).

``free_bits`` (nats per latent dimension, 0 = published) is the cure of Kingma et al. (2016) for
posterior collapse: each dimension's KL, averaged over the batch's elements, costs nothing below
that floor, so the posterior has no reason to carry no information. On the few pages of
``data=webpages`` the published loss ends training at ~0.05 nats per element in all (issue 14).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from colorgen.data.batching import packing
from colorgen.models.base import (
    NeuralGenerator,
    StyleLogits,
    encode_style,
    generator_loss,
    ground_truth_colors,
    to_dense,
)
from colorgen.models.transformer import EncoderDecoder


class CVAE(NeuralGenerator):
    """Conditional variational autoencoder over the element sequence.

    ``transformer_init``: ``"xavier"`` (official, as ``nn.Transformer``) or ``"layer"``.
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
        kl_weight: float = 0.1,
        free_bits: float = 0.0,
        transformer_init: str = "xavier",
        packed: bool = True,
    ) -> None:
        super().__init__(d_model, n_layers, n_heads, d_ff, dropout, encoder, style_encoder=True)
        self.fc_input = nn.Linear(2 * d_model, d_model)
        self.transformer = EncoderDecoder(d_model, n_heads, n_layers, d_ff, dropout, transformer_init)
        self.fc_vae = nn.Linear(d_model, 2 * d_model)
        self.fc_mu = nn.Linear(2 * d_model, d_model)
        self.fc_logvar = nn.Linear(2 * d_model, d_model)
        if free_bits < 0:
            raise ValueError(f"free_bits must be >= 0 nats per dimension, got {free_bits}")
        self.kl_weight = kl_weight
        self.free_bits = free_bits
        self.packed = packed

    def posterior(self, batch: Any, content: Tensor) -> tuple[Tensor, Tensor]:
        """mu and log sigma^2 per element, ``[N, d]`` each."""
        style = encode_style(self.style_encoder, ground_truth_colors(batch), batch.has_text)
        x = self.fc_input(torch.cat([content, style], dim=-1))
        if self.packed:
            pk = packing(batch)
            x = self.fc_vae(self.transformer.encoder.packed(self.positional_encoding.packed(x, pk), pk))
            return self.fc_mu(x), self.fc_logvar(x)
        x, mask = to_dense(batch, x)
        memory = self.transformer.encoder(self.positional_encoding(x), key_padding_mask=~mask)
        x = self.fc_vae(memory[mask])
        return self.fc_mu(x), self.fc_logvar(x)

    def decode(self, batch: Any, content: Tensor, z: Tensor) -> StyleLogits:
        if self.packed:
            pk = packing(batch)
            pe = self.positional_encoding.packed
            out = self.transformer.decoder.packed(pe(content, pk), pe(z, pk), pk, causal=False)
            return self.style_decoder(out)
        tgt, mask = to_dense(batch, content)
        memory, _ = to_dense(batch, z)
        out = self.transformer.decoder(
            self.positional_encoding(tgt),
            self.positional_encoding(memory),
            causal=False,
            tgt_key_padding_mask=~mask,
            memory_key_padding_mask=~mask,
        )
        return self.style_decoder(out[mask])

    def forward_logits(self, batch: Any) -> StyleLogits:
        """Decoder logits for a posterior sample ``z = mu + eps * sigma`` (the official forward)."""
        return self._posterior_pass(batch)[0]

    def _posterior_pass(self, batch: Any) -> tuple[StyleLogits, Tensor, Tensor]:
        content = self.content_encoder(batch)
        mu, logvar = self.posterior(batch, content)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(batch, content, z), mu, logvar

    def loss(self, batch: Any) -> dict[str, Tensor]:
        logits, mu, logvar = self._posterior_pass(batch)
        out = generator_loss(logits, batch)
        kl_dims = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # [N, d]
        kl = kl_dims.sum(dim=1).mean()
        penalty = kl if self.free_bits == 0 else kl_dims.mean(dim=0).clamp(min=self.free_bits).sum()
        out["loss_ce"] = out["loss"]
        out["loss_kl"] = kl  # the real KL, also under free bits
        out["loss"] = out["loss"] + self.kl_weight * penalty
        return out

    def generation_logits(self, batch: Any, generator: torch.Generator | None = None) -> StyleLogits:
        return self.prior_logits(batch, generator)

    def prior_logits(self, batch: Any, generator: torch.Generator | None = None) -> StyleLogits:
        """Decoder logits for z drawn from the prior N(0, I): what generation decodes."""
        content = self.content_encoder(batch)
        z = torch.randn(content.shape, generator=generator, device=content.device, dtype=content.dtype)
        return self.decode(batch, content, z)
