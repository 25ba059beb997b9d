"""Two opt-in ways to make a CPU training step cheaper (issue 12): ``trainer.dropout_rng`` and
``trainer.precision``.

Why: on 2 CPU cores a quarter of a NAR training step is ``bernoulli_`` drawing dropout masks
(one Mersenne-Twister draw per element), and the matmuls run in fp32 although many CPUs and
GPUs have bf16 units. Both switches change the numbers a run produces (other random masks, rounded
matmuls), so both default to the published behaviour (``torch`` / ``fp32``) and a run that turns
them on is a different run, not a faster copy of the same one.

- ``dropout_rng: bits`` -- every ``nn.Dropout`` draws its mask from 64-bit random words cut into
  four 16-bit numbers: a quarter of the generator calls, and no per-element float draw. The drop
  probability is rounded to a multiple of 1/65,536 (0.1 -> 0.100006). Masks come from the global
  torch generator, whose state checkpoints save, so seeded runs repeat and resumed runs continue.
  Attention dropout draws the same way: attention then runs as matmul + softmax (what
  ``scaled_dot_product_attention`` does on CPU whenever it drops out).
- ``dropout_rng: pcg`` -- the same masks' scheme, with the words from numpy's PCG64 (about 2 ns a
  word against torch's CPU generator's 11): each mask seeds a fresh PCG64 with one 63-bit draw
  from the global torch generator, so seeded runs repeat and resumed runs continue as above.
  On a GPU the words come from torch, as with ``bits``.
- ``precision: bf16`` -- the training forward pass runs under ``torch.autocast`` in bfloat16;
  weights, gradients and optimizer stay fp32, validation and generation stay fp32. For GPUs: on
  this 2-core CPU it is 1.4x faster on one repeated batch but 2x slower in a real run, whose
  batch shapes change every step (oneDNN builds its bf16 kernels per shape); see ``make bench``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor, nn

DROPOUT_RNGS = ("torch", "bits", "pcg")
PRECISIONS = ("fp32", "bf16")
_LEVELS = 1 << 16  # a 16-bit draw: the drop probability's resolution


def random_words(count: int, device: torch.device, source: str = "bits") -> Tensor:
    """``count`` uniform random int64 words: torch's generator (``bits``) or, on CPU, a PCG64
    seeded by one draw from it (``pcg``)."""
    if source == "pcg" and device.type == "cpu":
        seed = int(torch.randint(0, 2**63 - 1, (1,), dtype=torch.int64))
        return torch.from_numpy(np.random.PCG64(seed).random_raw(count).view(np.int64))
    return torch.randint(-(2**63), 2**63 - 1, (count,), dtype=torch.int64, device=device)


def bits_keep_scale(shape: torch.Size, p: float, device: torch.device, dtype: torch.dtype, source: str = "bits") -> Tensor:
    """Inverted-dropout multipliers ``[shape]``: ``1 / (1 - p)`` with probability ``1 - p``, else 0."""
    n = shape.numel()
    words = random_words((n + 3) // 4, device, source)
    draws = words.view(torch.int16)[:n].view(shape)  # uniform on [-32768, 32767]
    keep = draws >= round(p * _LEVELS) - _LEVELS // 2
    return torch.where(keep, 1.0 / (1.0 - p), 0.0).to(dtype)


class BitsDropout(nn.Dropout):
    """``nn.Dropout`` with masks from :func:`bits_keep_scale`; same parameters, same ``p``."""

    source = "bits"

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p >= 1.0:
            return x * 0.0
        scale = bits_keep_scale(x.shape, self.p, x.device, x.dtype, self.source)
        if self.inplace:
            return x.mul_(scale)
        return x * scale


class PcgDropout(BitsDropout):
    """:class:`BitsDropout` with PCG64 words (``trainer.dropout_rng=pcg``)."""

    source = "pcg"


def attention_with_bits_dropout(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, p: float,
                                source: str = "bits") -> Tensor:
    """``scaled_dot_product_attention(q, k, v, mask, dropout_p=p)`` with masks of :func:`bits_keep_scale`."""
    scores = q @ k.transpose(-1, -2) * q.size(-1) ** -0.5
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    probs = torch.softmax(scores, dim=-1)
    return (probs * bits_keep_scale(probs.shape, p, probs.device, probs.dtype, source)) @ v


def use_dropout_rng(model: nn.Module, rng: str) -> int:
    """Make every plain ``nn.Dropout`` of ``model`` (and the dropout inside its attention modules)
    draw its masks with ``rng``; returns how many dropout sites changed.

    ``torch`` leaves the model as it is. The swap changes the class only (no parameters or
    buffers), so checkpoints are unchanged and load into either kind.
    """
    if rng not in DROPOUT_RNGS:
        raise ValueError(f"trainer.dropout_rng={rng!r}: choose from {DROPOUT_RNGS}")
    if rng == "torch":
        return 0
    swapped = 0
    for module in model.modules():
        if type(module) is nn.Dropout:
            module.__class__ = PcgDropout if rng == "pcg" else BitsDropout
            swapped += 1
        elif getattr(module, "dropout_rng", None) == "torch":  # colorgen.models.transformer.MultiheadAttention
            module.dropout_rng = rng
            swapped += 1
    return swapped


@contextlib.contextmanager
def training_precision(precision: str, device: torch.device) -> Iterator[None]:
    """The context the training forward pass runs in: nothing for fp32, bf16 autocast for bf16."""
    if precision not in PRECISIONS:
        raise ValueError(f"trainer.precision={precision!r}: choose from {PRECISIONS}")
    if precision == "fp32":
        yield
        return
    with torch.autocast(device.type, dtype=torch.bfloat16):
        yield
