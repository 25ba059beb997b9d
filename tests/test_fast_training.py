"""The opt-in cheaper training step (colorgen.training.fast): bit-drawn dropout and bf16 autocast."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import colorgen.training.fast as fast
from colorgen.models import NAR
from colorgen.models.transformer import MultiheadAttention
from colorgen.training.fast import (
    BitsDropout,
    attention_with_bits_dropout,
    bits_keep_scale,
    training_precision,
    use_dropout_rng,
)


@pytest.mark.parametrize("source", ["bits", "pcg"])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.03])
def test_bits_masks_drop_at_rate_p_and_rescale(p, source):
    torch.manual_seed(0)
    scale = bits_keep_scale(torch.Size([1000, 2000]), p, torch.device("cpu"), torch.float32, source)
    values = scale.unique()
    assert torch.allclose(values, torch.tensor([0.0, 1.0 / (1.0 - p)]))
    assert abs(float((scale == 0).float().mean()) - p) < 0.002  # 2M draws: std 0.0002
    assert abs(float(scale.mean()) - 1.0) < 0.005  # expectation kept


@pytest.mark.parametrize("source", ["bits", "pcg"])
def test_bits_masks_follow_the_seed(source):
    def draw(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return bits_keep_scale(torch.Size([37, 11]), 0.1, torch.device("cpu"), torch.float32, source)

    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))
    torch.manual_seed(3)
    first = bits_keep_scale(torch.Size([37, 11]), 0.1, torch.device("cpu"), torch.float32, source)
    second = bits_keep_scale(torch.Size([37, 11]), 0.1, torch.device("cpu"), torch.float32, source)
    assert not torch.equal(first, second)  # each mask advances the torch generator


def test_pcg_and_torch_words_differ_but_both_come_from_the_torch_generator():
    torch.manual_seed(5)
    pcg = fast.random_words(1000, torch.device("cpu"), "pcg")
    torch.manual_seed(5)
    bits = fast.random_words(1000, torch.device("cpu"), "bits")
    assert pcg.dtype == bits.dtype == torch.int64 and pcg.shape == bits.shape == (1000,)
    assert not torch.equal(pcg, bits)
    ones = torch.stack([(pcg >> b) & 1 for b in range(63)]).float().mean(1)  # each bit of 1,000 words
    assert ((ones - 0.5).abs() < 0.07).all()  # std 0.016 per bit


def test_bits_dropout_trains_like_dropout_and_is_identity_in_eval():
    layer = BitsDropout(0.25)
    x = torch.randn(64, 33, requires_grad=True)
    assert layer.eval()(x) is x
    torch.manual_seed(1)
    y = layer.train()(x)
    kept = y != 0
    assert torch.allclose(y[kept], x[kept] / 0.75)
    y.sum().backward()  # the gradient is the mask times the scale
    assert torch.allclose(x.grad, kept.float() / 0.75)
    assert torch.equal(BitsDropout(1.0).train()(x), torch.zeros_like(x))


def test_use_dropout_rng_swaps_every_dropout_and_keeps_the_checkpoint_format():
    model = NAR(d_model=32, n_layers=1, n_heads=2, d_ff=64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    n_dropout = sum(type(m) is nn.Dropout for m in model.modules())
    n_attention = sum(isinstance(m, MultiheadAttention) for m in model.modules())
    assert use_dropout_rng(model, "torch") == 0
    pcg_model = copy.deepcopy(model)
    assert use_dropout_rng(model, "bits") == n_dropout + n_attention and n_dropout > 0 and n_attention > 0
    assert not any(type(m) is nn.Dropout for m in model.modules())
    assert all(m.dropout_rng == "bits" for m in model.modules() if isinstance(m, MultiheadAttention))
    assert use_dropout_rng(pcg_model, "pcg") == n_dropout + n_attention
    assert sum(type(m) is fast.PcgDropout for m in pcg_model.modules()) == n_dropout
    assert all(m.dropout_rng == "pcg" for m in pcg_model.modules() if isinstance(m, MultiheadAttention))
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match="dropout_rng"):
        use_dropout_rng(model, "fast")


def test_training_precision_autocasts_only_for_bf16():
    linear = nn.Linear(8, 4)
    x = torch.randn(3, 8)
    with training_precision("fp32", torch.device("cpu")):
        assert linear(x).dtype == torch.float32
    with training_precision("bf16", torch.device("cpu")):
        assert linear(x).dtype == torch.bfloat16
    assert linear(x).dtype == torch.float32
    with pytest.raises(ValueError, match="precision"), training_precision("fp16", torch.device("cpu")):
        pass


@pytest.mark.parametrize("boolean_mask", [True, False])
def test_attention_with_bits_dropout_is_sdpa_with_the_drawn_mask(boolean_mask, monkeypatch):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 7, 4), torch.randn(2, 3, 7, 4)
    allowed = torch.rand(2, 1, 5, 7) > 0.3
    allowed[..., 0] = True  # every query sees a key
    mask = allowed if boolean_mask else torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))
    monkeypatch.setattr(fast, "bits_keep_scale", lambda shape, p, device, dtype, source="bits": torch.ones(shape, dtype=dtype))
    no_drop = attention_with_bits_dropout(q, k, v, mask, 0.3)
    torch.testing.assert_close(no_drop, torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    monkeypatch.undo()
    torch.manual_seed(7)
    dropped = attention_with_bits_dropout(q, k, v, mask, 0.3)
    torch.manual_seed(7)
    scale = bits_keep_scale(torch.Size([2, 3, 5, 7]), 0.3, q.device, q.dtype)
    probs = torch.softmax((q @ k.transpose(-1, -2) / 2).masked_fill(~allowed, float("-inf")), -1)
    torch.testing.assert_close(dropped, (probs * scale) @ v)


def test_bits_dropout_reaches_the_attention_of_a_training_model():
    torch.manual_seed(0)
    attn = MultiheadAttention(8, 2, dropout=0.5).train()
    x = torch.randn(1, 6, 8)
    eval_before = attn.eval()(x, x, None)
    torch.manual_seed(3)
    torch_masks = attn.train()(x, x, None)
    use_dropout_rng(attn, "bits")
    torch.manual_seed(3)
    assert not torch.allclose(torch_masks, attn(x, x, None))
    assert torch.equal(attn.eval()(x, x, None), eval_before)  # evaluation never drops
