"""The bench's floors: a training figure's matmul and dropout-mask seconds, found by op name."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colorgen.bench import floors, speed
from colorgen.bench.models import realistic_batch

SMALL = {"d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64, "dropout": 0.1}


def test_op_seconds_tells_matmuls_from_dropout_masks() -> None:
    w = torch.randn(64, 64)
    batches = [torch.randn(256, 64) for _ in range(2)]
    only_matmul = floors.op_seconds(lambda x: x @ w, batches)
    assert only_matmul["matmul"] > 0 and only_matmul["masks"] == 0
    with_dropout = floors.op_seconds(lambda x: F.dropout(x @ w, 0.1, training=True), batches)
    assert with_dropout["matmul"] > 0 and with_dropout["masks"] > 0
    no_grad_masks = floors.op_seconds(lambda x: F.dropout(x, 0.1, training=False) + 1, batches)
    assert no_grad_masks == {"matmul": 0.0, "masks": 0.0}


def test_every_training_figure_is_split_and_held_against_its_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speed, "PAPER_SIZE", SMALL)
    batches = [realistic_batch(4, 12, seed=s) for s in range(2)]
    targets = {name: speed.Reference(1.0, None, 0.0 if name.endswith("nar") else 1e9, "s")
               for name in ("train_step_nar", "train_step_upsampler")}
    rows = floors.run(batches, targets)
    assert set(rows) == {*speed.TRAIN_MODELS, "content_encoder_fwd_bwd", "matmul_gflops"}
    assert all(g > 0 for g in rows.pop("matmul_gflops"))
    for name, row in rows.items():
        assert row["floor_s"] == pytest.approx(row["matmul_s"] + row["masks_s"], abs=2e-4)
        assert row["other_s"] == pytest.approx(row["step_s"] - row["floor_s"], abs=2e-4)
        # the models drop out; the content encoder has no dropout
        assert (row["masks_s"] > 0) == (name != "content_encoder_fwd_bwd")
    assert rows["train_step_nar"]["target_below_floor"] is True
    assert rows["train_step_upsampler"]["target_below_floor"] is False
    assert "target_s" not in rows["train_step_ar"]
    table = floors.format_table(rows)
    assert table.count("\n") == len(rows) + 1 and "| train_step_nar |" in table
