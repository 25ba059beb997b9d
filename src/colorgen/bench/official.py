"""`make bench` section: issue 12's figures beside the official code's (``colorgen.bench.speed``).

Real pages when the default data are extracted (the first 32 training pages of ``data=webpages``),
else synthetic ones; the report says which. ``figures`` are the published behaviour (fp32, torch
dropout masks); ``fast_training`` repeats the training steps with both opt-in switches of
:mod:`colorgen.training.fast` (``trainer.dropout_rng=bits trainer.precision=bf16``).
"""

from __future__ import annotations

from typing import Any

from colorgen.bench import speed
from colorgen.bench.checkout import data_config

TRAIN_STEPS = tuple(name for name in speed.REFERENCES if name.startswith("train_step_"))


def run(quick: bool = False) -> dict[str, Any]:
    repeats = 2 if quick else 7
    out = speed.run(data_config(), threads=2, repeats=repeats)
    fast = speed.run(data_config(), threads=2, repeats=repeats, bf16=True, only=TRAIN_STEPS, dropout_rng="bits")
    out["fast_training"] = {"switches": "trainer.dropout_rng=bits trainer.precision=bf16",
                            "figures": fast["figures"], "bf16_loss_change": fast["bf16_loss_change"]}
    return out
