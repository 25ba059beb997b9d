"""The opt-in cheaper training step (colorgen.training.fast): bit-drawn dropout and bf16 autocast."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from colorgen.models import NAR
from colorgen.training.fast import BitsDropout, bits_keep_scale, training_precision, use_dropout_rng


@pytest.mark.parametrize("p", [0.1, 0.5, 0.03])
def test_bits_masks_drop_at_rate_p_and_rescale(p):
    torch.manual_seed(0)
    scale = bits_keep_scale(torch.Size([1000, 2000]), p, torch.device("cpu"), torch.float32)
    values = scale.unique()
    assert torch.allclose(values, torch.tensor([0.0, 1.0 / (1.0 - p)]))
    assert abs(float((scale == 0).float().mean()) - p) < 0.002  # 2M draws: std 0.0002
    assert abs(float(scale.mean()) - 1.0) < 0.005  # expectation kept


def test_bits_masks_follow_the_seed():
    def draw(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return bits_keep_scale(torch.Size([37, 11]), 0.1, torch.device("cpu"), torch.float32)

    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))


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
    assert use_dropout_rng(model, "torch") == 0
    assert use_dropout_rng(model, "bits") == n_dropout > 0
    assert not any(type(m) is nn.Dropout for m in model.modules())
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
