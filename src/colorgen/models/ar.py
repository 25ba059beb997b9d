"""Autoregressive Transformer: colours element by element, conditioned on earlier colours.

Source = content vectors; target = a learned BOS followed by the style encodings of the
previous elements' colours (teacher forcing + causal mask in training). Generation feeds its
own samples back. ``incremental=True`` decodes one new position per element against a
key/value cache; ``incremental=False`` recomputes the whole prefix each step (the published
way, kept as a switch and as the reference the cache is tested against).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from colorgen.constrained import SequenceConstraint
from colorgen.data.batching import packing
from colorgen.decoding import DecodingConfig
from colorgen.models.base import (
    Colors,
    NeuralGenerator,
    StyleLogits,
    decode_logits,
    encode_style,
    generator_loss,
    ground_truth_colors,
    to_dense,
)
from colorgen.models.transformer import EncoderDecoder, PrefixDecoder


class AR(NeuralGenerator):
    """Encoder-decoder Transformer over the element sequence.

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
        incremental: bool = True,
        transformer_init: str = "xavier",
        packed: bool = True,
    ) -> None:
        super().__init__(d_model, n_layers, n_heads, d_ff, dropout, encoder, style_encoder=True)
        self.transformer = EncoderDecoder(d_model, n_heads, n_layers, d_ff, dropout, transformer_init)
        self.bos = nn.Parameter(torch.rand(1, 1, d_model))
        self.incremental = incremental
        self.packed = packed

    def encode(self, batch: Any) -> tuple[Tensor, Tensor]:
        """Encoder memory ``[B, L, d]`` and the element mask ``[B, L]``."""
        if self.packed:
            pk = packing(batch)
            memory = self.transformer.encoder.packed(self.positional_encoding.packed(self.content_encoder(batch), pk), pk)
            return pk.pad(memory), pk.mask
        src, mask = to_dense(batch, self.content_encoder(batch))
        memory = self.transformer.encoder(self.positional_encoding(src), key_padding_mask=~mask)
        return memory, mask

    def teacher_forcing_logits(self, batch: Any, colors: Colors | None = None) -> StyleLogits:
        """Node-aligned logits given the previous elements' colours (default: ground truth)."""
        colors = ground_truth_colors(batch) if colors is None else colors
        if self.packed:
            pk = packing(batch)
            pe = self.positional_encoding.packed
            memory = self.transformer.encoder.packed(pe(self.content_encoder(batch), pk), pk)
            style = encode_style(self.style_encoder, colors, batch.has_text)
            # each page's target: BOS, then the previous elements' style vectors
            shifted = torch.cat([style[:1], style[:-1]])
            tgt = torch.where((pk.positions == 0)[:, None], self.bos[0], shifted)
            return self.style_decoder(self.transformer.decoder.packed(pe(tgt, pk), memory, pk, causal=True))
        memory, mask = self.encode(batch)
        style, _ = to_dense(batch, encode_style(self.style_encoder, colors, batch.has_text))
        tgt = torch.cat([self.bos.expand(style.size(0), 1, -1), style[:, :-1]], dim=1)
        out = self.transformer.decoder(
            self.positional_encoding(tgt),
            memory,
            causal=True,
            tgt_key_padding_mask=~mask,
            memory_key_padding_mask=~mask,
        )
        return self.style_decoder(out[mask])

    def loss(self, batch: Any) -> dict[str, Tensor]:
        return generator_loss(self.teacher_forcing_logits(batch), batch)

    def forward_logits(self, batch: Any) -> StyleLogits:
        return self.teacher_forcing_logits(batch)

    def generation_logits(self, batch: Any, generator: torch.Generator | None = None) -> None:
        return None  # each element's logits depend on the colours decoded before it

    @torch.no_grad()
    def generate(
        self,
        batch: Any,
        decoding: DecodingConfig | None = None,
        generator: torch.Generator | None = None,
    ) -> Colors:
        colors, _ = self.decode(batch, decoding or DecodingConfig(), generator, self.incremental)
        return colors

    def decode(
        self,
        batch: Any,
        decoding: DecodingConfig,
        generator: torch.Generator | None = None,
        incremental: bool = True,
        forced: Colors | None = None,
    ) -> tuple[Colors, StyleLogits]:
        """Element-by-element decoding; returns node-aligned colours and the logits used.

        ``forced`` feeds the given colours back instead of the samples (teacher forcing
        through the generation loop, used to check the cache against the full pass).
        """
        memory, mask = self.encode(batch)
        has_text, _ = to_dense(batch, batch.has_text)
        if incremental and forced is None and decoding.contrast is None and decoding.greedy:
            return self._greedy_shrinking(memory, mask, has_text, decoding)
        bsz, length = mask.shape
        pad = ~mask
        forced_dense = None if forced is None else Colors(*(to_dense(batch, c)[0] for c in forced))
        cache = self.transformer.decoder.init_cache(memory) if incremental else None
        constraint = None if decoding.contrast is None else SequenceConstraint(batch, decoding, generator)
        inputs = [self.bos.expand(bsz, 1, -1)]
        steps: list[tuple[Colors, StyleLogits]] = []
        for i in range(length):
            if cache is not None:
                x = self.positional_encoding(inputs[-1], offset=i)
                h = self.transformer.decoder.step(x, cache, pad[:, : i + 1], pad)[:, -1]
            else:
                tgt = self.positional_encoding(torch.cat(inputs, dim=1))
                h = self.transformer.decoder(tgt, memory, True, pad[:, : i + 1], pad)[:, -1]
            logits = self.style_decoder(h)
            if constraint is None:
                colors = decode_logits(logits, decoding, generator)
            else:  # legible text colours; later elements are conditioned on them
                colors = Colors(*constraint.step(i, logits))
            steps.append((colors, logits))
            if i + 1 < length:
                fed = colors if forced_dense is None else Colors(*(c[:, i] for c in forced_dense))
                inputs.append(encode_style(self.style_encoder, fed, has_text[:, i])[:, None])
        colors_out = _stack([c for c, _ in steps], mask)
        if constraint is not None:
            colors_out = constraint.finish(colors_out)
        return colors_out, _stack([lg for _, lg in steps], mask)


    def _greedy_shrinking(
        self, memory: Tensor, mask: Tensor, has_text: Tensor, decoding: DecodingConfig
    ) -> tuple[Colors, StyleLogits]:
        """Greedy cached decoding that stops computing pages once they are complete.

        Pages run longest first, so the pages still decoding at step ``i`` are a prefix of the
        batch and every step works on that prefix only (:class:`PrefixDecoder`: caches read as
        row prefixes, memory in buckets of similar length): the work follows the real elements,
        not pages x longest page. Greedy picks are row-wise, so the result is the full-batch
        loop's (no random draws to keep in step).
        """
        bsz, length = mask.shape
        lengths = mask.sum(1)
        order = torch.argsort(lengths, descending=True, stable=True)
        sorted_lengths = lengths[order]
        active = (sorted_lengths[None, :] > torch.arange(length, device=mask.device)[:, None]).sum(1).tolist()
        has_text = has_text[order]
        decoder = PrefixDecoder(self.transformer.decoder, memory[order], sorted_lengths.tolist())
        pe = self.positional_encoding.pe[0]
        x_in = self.bos[0].expand(bsz, -1)
        steps: list[tuple[Tensor, ...]] = []  # per step: the k active pages' 4 classes and 4 logits
        for i, k in enumerate(active):
            logits = self.style_decoder(decoder.step(x_in[:k] + pe[i], i))
            colors = decode_logits(logits, decoding)
            steps.append((*colors, *logits))
            if i + 1 < length:
                x_in = encode_style(self.style_encoder, colors, has_text[:k, i])
        # step-major rows -> node order: row r of step i is sorted page s at position i
        counts = torch.tensor(active, device=mask.device)
        step_of_row = torch.repeat_interleave(torch.arange(length, device=mask.device), counts)
        page_of_row = torch.arange(len(step_of_row), device=mask.device) - (torch.cumsum(counts, 0) - counts)[step_of_row]
        page_start = (torch.cumsum(lengths, 0) - lengths)[order]
        node = page_start[page_of_row] + step_of_row
        out = []
        for parts in zip(*steps, strict=True):
            rows = torch.cat(parts)
            out.append(rows.new_empty(rows.shape).index_copy_(0, node, rows))
        return Colors(*out[:4]), StyleLogits(*out[4:])


def _stack(steps: list[Any], mask: Tensor) -> Any:
    """Per-step NamedTuples of ``[B, ...]`` -> one NamedTuple of node-aligned ``[N, ...]``."""
    cls = type(steps[0])
    return cls(*(torch.stack(parts, dim=1)[mask] for parts in zip(*steps, strict=True)))
