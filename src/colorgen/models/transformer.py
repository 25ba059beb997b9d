"""Pre-norm Transformer layers with an incremental (key/value cached) decoder.

Parameter names mirror ``torch.nn.Transformer(norm_first=True, batch_first=True)``
(``self_attn.in_proj_weight``, ``linear1``, ``norm1``, ``encoder.norm`` ...), so the
official checkpoints' Transformer weights map one to one (:mod:`colorgen.models.official`);
the outputs equal PyTorch's layers in eval mode (tested). Our own layers exist for two reasons:
the decoder can run one position at a time against a preallocated key/value cache (AR
generation linear in length), and every stack has a ``packed`` form whose linear layers see
only real elements while attention runs per group of similar-length pages (no padding work).

Masks: ``key_padding_mask`` is True where a position is padding (PyTorch convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from colorgen.data.batching import Packing


class PositionalEncoding(nn.Module):
    """Sinusoidal positional encoding followed by dropout (as in the published code)."""

    pe: Tensor

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 200) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        """``x [B, L, d]`` holds positions ``offset .. offset + L - 1``."""
        return self.dropout(x + self.pe[:, offset : offset + x.size(1)])

    def packed(self, x: Tensor, packing: Packing) -> Tensor:
        """``x [N, d]`` packed elements (see :class:`Packing`)."""
        return self.dropout(x + self.pe[0, packing.positions])


def attention_mask(
    key_padding_mask: Tensor | None, q_len: int, k_len: int, causal: bool, device: torch.device
) -> Tensor | None:
    """Boolean mask ``[B|1, 1, Lq, Lk]`` for SDPA, True = may attend."""
    mask = None
    if causal:
        mask = torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(k_len - q_len)
        mask = mask[None, None]
    if key_padding_mask is not None:
        kp = ~key_padding_mask[:, None, None, :]
        mask = kp if mask is None else mask & kp
    return mask


def group_masks(packing: Packing, causal: bool, device: torch.device) -> list[Tensor | None]:
    """One attention mask per attention group of ``packing`` (built once per forward)."""
    masks = []
    for group in packing.groups:
        length = group.key_padding_mask.size(1)
        masks.append(attention_mask(group.key_padding_mask, length, length, causal, device))
    return masks


MATH_ATTENTION = True  # False: CPU training attention through F.scaled_dot_product_attention (same numbers)


def attention_with_dropout(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, p: float) -> Tensor:
    """``F.scaled_dot_product_attention(q, k, v, mask, dropout_p=p)`` on a CPU, bit for bit.

    With dropout a CPU runs SDPA's math path, and so does this: ``q`` and ``k`` each scaled by
    ``sqrt(1 / sqrt(d_head))`` (SDPA's double-precision factor), the scores masked, softmax, ``F.dropout`` (the same ``bernoulli_`` draws,
    in the same order), times ``v``. What it leaves out costs a training step more than the
    arithmetic around it: the boolean mask turned into a float one and added, and the softmax's
    guard for rows whose every key is masked (an ``isneginf``, ``all`` and ``where`` over every
    score). No such row occurs here: ``mask`` (True = may attend) always lets a query see its page's
    first element.
    """
    scale = math.sqrt(1.0 / math.sqrt(q.size(-1)))
    scores = torch.matmul(q * scale, (k * scale).transpose(-2, -1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.matmul(F.dropout(torch.softmax(scores, dim=-1), p, training=True), v)


class MultiheadAttention(nn.Module):
    """Multi-head attention with ``nn.MultiheadAttention``'s parameter layout."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.dropout = dropout
        self.dropout_rng = "torch"  # "bits" / "pcg": colorgen.training.fast.use_dropout_rng
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def _heads(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.n_heads, d // self.n_heads).transpose(1, 2)

    def project_q(self, x: Tensor) -> Tensor:
        d = x.size(-1)
        return self._heads(F.linear(x, self.in_proj_weight[:d], self.in_proj_bias[:d]))

    def project_kv(self, x: Tensor) -> tuple[Tensor, Tensor]:
        d = x.size(-1)
        k, v = F.linear(x, self.in_proj_weight[d:], self.in_proj_bias[d:]).chunk(2, dim=-1)
        return self._heads(k), self._heads(v)

    def _sdpa(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        """Attention with this module's dropout; masks from 64-bit words under ``trainer.dropout_rng=bits|pcg``."""
        p = self.dropout if self.training else 0.0
        if p > 0.0 and self.dropout_rng != "torch":
            from colorgen.training.fast import attention_with_bits_dropout

            return attention_with_bits_dropout(q, k, v, mask, p, self.dropout_rng)
        if p > 0.0 and MATH_ATTENTION and q.device.type == "cpu":  # GPUs: SDPA's fused kernels
            return attention_with_dropout(q, k, v, mask, p)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        out = self._sdpa(q, k, v, mask)
        b, _, n, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, -1))

    def attend_step(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        """:meth:`attend` for a few query positions (decoding): plain matmul + softmax.

        CPU's fused SDPA kernel costs ~0.5 ms per call at one query position, several times
        the arithmetic; this is the same function (``mask`` additive here).
        """
        if self.training and self.dropout > 0:
            return self.attend(q, k, v, None if mask is None else mask > float("-inf"))
        scores = q @ k.transpose(-1, -2) * (q.size(-1) ** -0.5)
        if mask is not None:
            scores = scores + mask
        out = torch.softmax(scores, dim=-1) @ v
        b, _, n, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, -1))

    def forward(self, query: Tensor, key_value: Tensor, mask: Tensor | None) -> Tensor:
        k, v = self.project_kv(key_value)
        return self.attend(self.project_q(query), k, v, mask)

    def _attend_packed(self, qkv: Tensor, packing: Packing, masks: list[Tensor | None]) -> Tensor:
        """Packed ``[N, 3d]`` q/k/v -> packed ``[N, d]``; only the softmax sees a padded layout,
        one per attention group of similar-length pages (``masks`` per group)."""
        rows = torch.cat([qkv, qkv.new_zeros(1, qkv.size(1))])  # row N: the zero padding row
        outs = []
        for group, mask in zip(packing.groups, masks, strict=True):
            b, length = group.key_padding_mask.shape
            x = rows.index_select(0, group.slots).view(b, length, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
            out = self._sdpa(x[0], x[1], x[2], mask)
            outs.append(out.transpose(1, 2).reshape(b * length, -1))
        return self.out_proj(torch.cat(outs).index_select(0, packing.gather))

    def self_attention_packed(self, x: Tensor, packing: Packing, mask: list[Tensor | None]) -> Tensor:
        """Self-attention over packed ``x [N, d]``: one fused q/k/v projection."""
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        return self._attend_packed(qkv, packing, mask)

    def cross_attention_packed(
        self, x: Tensor, memory: Tensor, packing: Packing, mask: list[Tensor | None]
    ) -> Tensor:
        """Packed queries ``x`` against packed ``memory`` of the same pages (same packing)."""
        d = x.size(-1)
        q = F.linear(x, self.in_proj_weight[:d], self.in_proj_bias[:d])
        kv = F.linear(memory, self.in_proj_weight[d:], self.in_proj_bias[d:])
        return self._attend_packed(torch.cat([q, kv], dim=-1), packing, mask)


class _FeedForward(nn.Module):
    """Shared by both layer kinds: ``linear2(dropout(relu(linear1(x))))``."""

    linear1: nn.Linear
    linear2: nn.Linear
    dropout: nn.Dropout

    def _ff(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(F.relu(self.linear1(x))))


class EncoderLayer(_FeedForward):
    """Pre-norm self-attention + feed-forward block."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, n_heads, dropout)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        y = self.norm1(x)
        x = x + self.dropout1(self.self_attn(y, y, mask))
        return x + self.dropout2(self._ff(self.norm2(x)))

    def packed(self, x: Tensor, packing: Packing, mask: list[Tensor | None]) -> Tensor:
        x = x + self.dropout1(self.self_attn.self_attention_packed(self.norm1(x), packing, mask))
        return x + self.dropout2(self._ff(self.norm2(x)))


class Encoder(nn.Module):
    """Stack of pre-norm encoder layers, optionally ending in a LayerNorm.

    ``final_norm=False`` is ``nn.TransformerEncoder(layer, n)`` without ``norm=`` (what the
    official NAR and upsampler use: no ``norm`` parameters at all); ``True`` adds the final
    LayerNorm that ``nn.Transformer``'s encoder has.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_layers: int,
        d_ff: int,
        dropout: float,
        final_norm: bool = True,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)
        )
        self.norm: nn.Module = nn.LayerNorm(d_model) if final_norm else nn.Identity()

    def forward(self, src: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        mask = attention_mask(key_padding_mask, src.size(1), src.size(1), False, src.device)
        for layer in self.layers:
            src = layer(src, mask)
        return self.norm(src)

    def packed(self, src: Tensor, packing: Packing) -> Tensor:
        """Same function as :meth:`forward` on packed ``src [N, d]``; returns ``[N, d]``."""
        mask = group_masks(packing, False, src.device)
        for layer in self.layers:
            src = layer.packed(src, packing, mask)
        return self.norm(src)


@dataclass
class LayerCache:
    """Keys/values of one decoder layer: memory (fixed) and self-attention (preallocated).

    ``self_k`` / ``self_v`` are ``[B, H, capacity, d_head]`` buffers of which the first
    ``length`` positions are filled: a step writes its keys in place instead of
    concatenating the whole history again (which made decoding quadratic in copies).
    """

    mem_k: Tensor
    mem_v: Tensor
    self_k: Tensor
    self_v: Tensor
    length: int = 0

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store new positions ``[B, H, t, d_head]``; returns all keys and values so far."""
        end = self.length + k.size(2)
        if end > self.self_k.size(2):  # more steps than planned: grow (rare)
            grow = max(end, 2 * self.self_k.size(2)) - self.self_k.size(2)
            self.self_k = torch.cat([self.self_k, self.self_k.new_zeros(*k.shape[:2], grow, k.size(3))], 2)
            self.self_v = torch.cat([self.self_v, self.self_v.new_zeros(*v.shape[:2], grow, v.size(3))], 2)
        self.self_k[:, :, self.length : end] = k
        self.self_v[:, :, self.length : end] = v
        self.length = end
        return self.self_k[:, :, :end], self.self_v[:, :, :end]


class DecoderLayer(_FeedForward):
    """Pre-norm self-attention + cross-attention + feed-forward block."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, n_heads, dropout)
        self.multihead_attn = MultiheadAttention(d_model, n_heads, dropout)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(
        self, x: Tensor, memory: Tensor, self_mask: Tensor | None, mem_mask: Tensor | None
    ) -> Tensor:
        y = self.norm1(x)
        x = x + self.dropout1(self.self_attn(y, y, self_mask))
        x = x + self.dropout2(self.multihead_attn(self.norm2(x), memory, mem_mask))
        return x + self.dropout3(self._ff(self.norm3(x)))

    def packed(
        self, x: Tensor, memory: Tensor, packing: Packing, self_mask: list[Tensor | None],
        mem_mask: list[Tensor | None],
    ) -> Tensor:
        x = x + self.dropout1(self.self_attn.self_attention_packed(self.norm1(x), packing, self_mask))
        x = x + self.dropout2(self.multihead_attn.cross_attention_packed(self.norm2(x), memory, packing, mem_mask))
        return x + self.dropout3(self._ff(self.norm3(x)))

    def step(
        self, x: Tensor, cache: LayerCache, self_mask: Tensor | None, mem_mask: Tensor | None
    ) -> Tensor:
        """Run new positions ``x [B, t, d]`` against the cache, appending their keys/values."""
        attn = self.self_attn
        b, t, _ = x.shape
        qkv = F.linear(self.norm1(x), attn.in_proj_weight, attn.in_proj_bias)
        q, k, v = qkv.view(b, t, 3, attn.n_heads, -1).permute(2, 0, 3, 1, 4)
        keys, values = cache.append(k, v)
        x = x + self.dropout1(attn.attend_step(q, keys, values, self_mask))
        q = self.multihead_attn.project_q(self.norm2(x))
        x = x + self.dropout2(self.multihead_attn.attend_step(q, cache.mem_k, cache.mem_v, mem_mask))
        return x + self.dropout3(self._ff(self.norm3(x)))


class Decoder(nn.Module):
    """Stack of pre-norm decoder layers with a final LayerNorm; full or incremental."""

    def __init__(
        self, d_model: int, n_heads: int, n_layers: int, d_ff: int, dropout: float
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        causal: bool = False,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
    ) -> Tensor:
        lq, lk = tgt.size(1), memory.size(1)
        self_mask = attention_mask(tgt_key_padding_mask, lq, lq, causal, tgt.device)
        mem_mask = attention_mask(memory_key_padding_mask, lq, lk, False, tgt.device)
        for layer in self.layers:
            tgt = layer(tgt, memory, self_mask, mem_mask)
        return self.norm(tgt)

    def packed(self, tgt: Tensor, memory: Tensor, packing: Packing, causal: bool = False) -> Tensor:
        """:meth:`forward` on packed ``tgt`` / ``memory [N, d]`` of the same pages."""
        self_mask = group_masks(packing, causal, tgt.device)
        mem_mask = self_mask if not causal else group_masks(packing, False, tgt.device)
        for layer in self.layers:
            tgt = layer.packed(tgt, memory, packing, self_mask, mem_mask)
        return self.norm(tgt)

    def init_cache(self, memory: Tensor, capacity: int | None = None) -> list[LayerCache]:
        """Project the memory once per layer; self-attention buffers for ``capacity`` positions
        (default: the memory's length, what AR decoding needs)."""
        caches = []
        for layer in self.layers:
            # contiguous: every step's batched matmul then reads them without a copy
            mem_k, mem_v = (t.contiguous() for t in layer.multihead_attn.project_kv(memory))
            size = (*mem_k.shape[:2], capacity or memory.size(1), mem_k.size(3))
            caches.append(LayerCache(mem_k, mem_v, mem_k.new_zeros(size), mem_k.new_zeros(size)))
        return caches

    def step(
        self,
        x: Tensor,
        cache: list[LayerCache],
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
    ) -> Tensor:
        """Decode new causal positions ``x [B, t, d]`` given all earlier ones in ``cache``.

        ``tgt_key_padding_mask`` covers every position so far (cached + new), ``[B, past + t]``.
        Masks are built once per step as additive float masks shared by all layers.
        """
        past = cache[0].length if cache else 0
        t = x.size(1)
        self_mask = _additive(attention_mask(tgt_key_padding_mask, t, past + t, t > 1, x.device), x)
        mem_len = cache[0].mem_k.size(2) if cache else 0
        mem_mask = _additive(attention_mask(memory_key_padding_mask, t, mem_len, False, x.device), x)
        for layer, layer_cache in zip(self.layers, cache, strict=True):
            x = layer.step(x, layer_cache, self_mask, mem_mask)
        return self.norm(x)


def _additive(mask: Tensor | None, like: Tensor) -> Tensor | None:
    """Boolean "may attend" mask -> additive float mask (0 / -inf), converted once, not per layer."""
    if mask is None:
        return None
    return torch.zeros(mask.shape, dtype=like.dtype, device=like.device).masked_fill_(~mask, float("-inf"))


TRANSFORMER_INITS = ("xavier", "layer")


class EncoderDecoder(nn.Module):
    """``encoder`` + ``decoder`` under the names ``nn.Transformer`` uses.

    ``init="xavier"`` re-initialises every parameter with more than one dimension with
    Xavier-uniform, as ``nn.Transformer.__init__`` does (the official AR and CVAE);
    ``"layer"`` keeps each layer's own initialisation (colorgen before issue 11).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_layers: int,
        d_ff: int,
        dropout: float,
        init: str = "xavier",
    ) -> None:
        super().__init__()
        if init not in TRANSFORMER_INITS:
            raise ValueError(f"transformer init {init!r} unknown; choose from {TRANSFORMER_INITS}")
        self.encoder = Encoder(d_model, n_heads, n_layers, d_ff, dropout)
        self.decoder = Decoder(d_model, n_heads, n_layers, d_ff, dropout)
        if init == "xavier":
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)


class PrefixDecoder:
    """Incremental decoding of pages sorted longest first, where finished pages drop off the end.

    At step ``i`` the pages still decoding are the first ``k`` of the batch, and every one of them
    has all of positions ``0..i``, so self-attention needs no mask and every cache is read as a
    row prefix (pages x heads), never copied. Why not :meth:`Decoder.step`: there, memory is one
    tensor padded to the longest page, so the one long page of a batch made every cross-attention
    read all pages at its length (4x the real elements on real batches). Here the memory's keys and
    values are held in ``buckets`` of pages of similar length, each padded only to its own longest
    (their keys stored transposed, ``[pages x heads, d_head, length]``, as the score matmul reads
    them). A step is a flat sequence of fused ops on 2-D rows (no module calls, no
    dropout calls: eval only). Same function as :meth:`Decoder.step` to float tolerance (tested).
    """

    def __init__(self, decoder: Decoder, memory: Tensor, lengths: list[int], bucket_ratio: float = 0.5) -> None:
        """``memory [B, L, d]`` of pages sorted by ``lengths``, longest first; a new bucket starts
        at the first page shorter than ``bucket_ratio`` x its bucket's longest."""
        if decoder.training:
            raise RuntimeError("PrefixDecoder decodes in eval mode only (it skips dropout)")
        if any(a < b for a, b in zip(lengths, lengths[1:], strict=False)):
            raise ValueError("pages must be sorted longest first")
        self.decoder = decoder
        self.heads = decoder.layers[0].self_attn.n_heads
        bsz, _, d = memory.shape
        self.d_head = d // self.heads
        self.scale = self.d_head**-0.5
        starts = [0]
        for b, n in enumerate(lengths):
            if n < bucket_ratio * lengths[starts[-1]]:
                starts.append(b)
        self.buckets = list(zip(starts, [*starts[1:], bsz], strict=True))
        capacity = max(lengths, default=0)
        h, dh = self.heads, self.d_head
        self.mem_kt: list[list[Tensor]] = []  # per layer, per bucket: [pages*H, dh, len]
        self.mem_v: list[list[Tensor]] = []  # per layer, per bucket: [pages*H, len, dh]
        self.mem_mask: list[Tensor | None] = []  # per bucket: additive [pages*H, 1, len], None if no padding
        for s, e in self.buckets:
            length = lengths[s]
            short = torch.tensor(lengths[s:e], device=memory.device)[:, None] <= torch.arange(length, device=memory.device)
            mask = None
            if short.any():
                mask = memory.new_zeros(e - s, length).masked_fill_(short, float("-inf"))
                mask = mask.repeat_interleave(h, 0)[:, None]
            self.mem_mask.append(mask)
        for layer in decoder.layers:
            kts, vs = [], []
            for s, e in self.buckets:
                k, v = layer.multihead_attn.project_kv(memory[s:e, : lengths[s]])  # [pages, H, len, dh]
                kts.append(k.transpose(-1, -2).reshape((e - s) * h, dh, -1).contiguous())
                vs.append(v.reshape((e - s) * h, -1, dh).contiguous())
            self.mem_kt.append(kts)
            self.mem_v.append(vs)
        # self-attention keys row-major like the values: a step writes one contiguous row per head
        self.self_k = [memory.new_zeros(bsz * h, capacity, dh) for _ in decoder.layers]
        self.self_v = [memory.new_zeros(bsz * h, capacity, dh) for _ in decoder.layers]
        self._zero = memory.new_zeros(1, 1, 1)
        # each layer's parameters as a step reads them, sliced and transposed once (views: every
        # product is the addmm F.linear would run, so the numbers are the same)
        self.params = [_StepParams(layer, d) for layer in decoder.layers]
        self.norm = (decoder.norm.weight, decoder.norm.bias, decoder.norm.eps)

    def _attend(self, q: Tensor, kt: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        """``softmax(scale q k^T + mask) v`` for rows ``[n, 1, dh]`` (one fused score op)."""
        scores = torch.baddbmm(self._zero if mask is None else mask, q, kt, beta=0.0 if mask is None else 1.0,
                               alpha=self.scale)
        return torch.bmm(torch.softmax(scores, dim=-1), v)

    def step(self, x: Tensor, i: int) -> Tensor:
        """Position ``i`` of the first ``k`` pages, ``x [k, d]`` (embedded and position-encoded):
        returns the final-normed decoder output ``[k, d]`` and caches this position's keys/values."""
        k, d = x.shape
        rows, dh = k * self.heads, self.d_head
        heads = self.heads
        one_bucket = k <= self.buckets[0][1]
        for n, p in enumerate(self.params):
            y = F.layer_norm(x, (d,), *p.norm1)
            qkv = torch.addmm(p.qkv_b, y, p.qkv_wt).view(k, 3, heads, dh)
            self_k, self_v = self.self_k[n], self.self_v[n]
            self_k[:rows, i] = qkv[:, 1].reshape(rows, dh)
            self_v[:rows, i] = qkv[:, 2].reshape(rows, dh)
            o = self._attend(qkv[:, 0].reshape(rows, 1, dh), self_k[:rows, : i + 1].transpose(1, 2),
                             self_v[:rows, : i + 1], None)
            x = x + torch.addmm(p.sa_out_b, o.view(k, d), p.sa_out_wt)
            y = F.layer_norm(x, (d,), *p.norm2)
            q = torch.addmm(p.ca_q_b, y, p.ca_q_wt).view(rows, 1, dh)
            if one_bucket:
                mask = self.mem_mask[0]
                o = self._attend(q, self.mem_kt[n][0][:rows], self.mem_v[n][0][:rows],
                                 None if mask is None else mask[:rows])
            else:
                outs = []
                for (s, e), kt, v, mask in zip(self.buckets, self.mem_kt[n], self.mem_v[n], self.mem_mask, strict=True):
                    if s >= k:
                        break
                    m = (min(e, k) - s) * heads
                    outs.append(self._attend(q[s * heads : s * heads + m], kt[:m], v[:m],
                                             None if mask is None else mask[:m]))
                o = torch.cat(outs)
            x = x + torch.addmm(p.ca_out_b, o.view(k, d), p.ca_out_wt)
            y = F.layer_norm(x, (d,), *p.norm3)
            x = x + torch.addmm(p.ff2_b, torch.addmm(p.ff1_b, y, p.ff1_wt).relu_(), p.ff2_wt)
        return F.layer_norm(x, (d,), *self.norm)


class _StepParams:
    """One decoder layer's weights for :meth:`PrefixDecoder.step`: transposed views (``W.t()``, what
    ``F.linear`` hands ``addmm``), the cross-attention's query slice, the norms' arguments."""

    def __init__(self, layer: DecoderLayer, d: int) -> None:
        sa, ca = layer.self_attn, layer.multihead_attn
        self.norm1 = (layer.norm1.weight, layer.norm1.bias, layer.norm1.eps)
        self.norm2 = (layer.norm2.weight, layer.norm2.bias, layer.norm2.eps)
        self.norm3 = (layer.norm3.weight, layer.norm3.bias, layer.norm3.eps)
        self.qkv_wt, self.qkv_b = sa.in_proj_weight.t(), sa.in_proj_bias
        self.sa_out_wt, self.sa_out_b = sa.out_proj.weight.t(), sa.out_proj.bias
        self.ca_q_wt, self.ca_q_b = ca.in_proj_weight[:d].t(), ca.in_proj_bias[:d]
        self.ca_out_wt, self.ca_out_b = ca.out_proj.weight.t(), ca.out_proj.bias
        self.ff1_wt, self.ff1_b = layer.linear1.weight.t(), layer.linear1.bias
        self.ff2_wt, self.ff2_b = layer.linear2.weight.t(), layer.linear2.bias
