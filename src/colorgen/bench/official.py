"""`make bench` section: issue 12's figures beside the official code's (``colorgen.bench.speed``).

Real pages when the default data are extracted (the first 32 training pages of ``data=webpages``),
else synthetic ones; the report says which. ``figures`` are the published behaviour (fp32, torch
dropout masks), timed on one batch as the official references were.

``rotating_batches`` (where the official code was timed on this kind of machine over 8 batches)
compares the mean over 8 consecutive batches, which is what training sees: the official code pads
every page to its batch's longest, so the single batch's ratio depends on its longest page.

``fast_training`` times the training steps with the opt-in switches of
:mod:`colorgen.training.fast` beside the published step, cycling through 8 batches of different
shapes as training does: bf16 autocast on CPU looked 40 % faster on one repeated batch, but
oneDNN builds kernels per shape, and in a real run (shapes change every step) bf16 was 2x slower.

``floors`` splits each training figure into matmuls, dropout masks and the rest
(:mod:`colorgen.bench.floors`): the first two are its floor under the published behaviour.
"""

from __future__ import annotations

from typing import Any

from colorgen.bench import floors, speed
from colorgen.bench.checkout import data_config

VARIANTS = {"fp32, torch masks (published)": (False, "torch"), "fp32, dropout_rng=bits": (False, "bits"),
            "fp32, dropout_rng=pcg": (False, "pcg"), "bf16, dropout_rng=bits": (True, "bits")}
ROTATING_BATCHES = speed.ROTATING_BATCHES


def fast_training(repeats: int) -> dict[str, Any]:
    """Seconds per training step of each model under each :data:`VARIANTS` entry, on rotating batches."""
    batches, source = speed.load_batches(data_config(), ROTATING_BATCHES)
    out: dict[str, Any] = {"pages": source, "batches": len(batches), "threads": 2,
                           "elements_per_batch": [int(b.num_nodes) for b in batches]}
    with speed.torch_threads(2):
        times = {name: {label: speed.train_step_seconds(cls, batches, repeats, bf16, rng)
                        for label, (bf16, rng) in VARIANTS.items()} for name, cls in speed.TRAIN_MODELS.items()}
    refs, _ = speed.reference_set()
    for name, seconds in times.items():
        base = seconds["fp32, torch masks (published)"]
        out[name] = {label: {"s": round(t, 4), "speedup": round(base / t, 3),
                             "met": t <= refs.figures[name].target} for label, t in seconds.items()}
    return out


def run(quick: bool = False) -> dict[str, Any]:
    repeats = 2 if quick else 7
    out = speed.run(data_config(), threads=2, repeats=repeats)
    rotating = speed.rotating_run(data_config(), speed.reference_set()[0])
    if rotating is not None:
        out["rotating_batches"] = rotating
    out["fast_training"] = fast_training(max(repeats, ROTATING_BATCHES) if not quick else repeats)
    batches, _ = speed.load_batches(data_config(), ROTATING_BATCHES)
    refs, like_for_like = speed.reference_set()
    out["floors"] = floors.run(batches, refs.rotating if like_for_like else None)
    return out
