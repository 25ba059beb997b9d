"""Training: the loop, checkpoints (and loading a model back), metric loggers, seeding."""

from colorgen.training.checkpoint import (
    build_model,
    checkpoint_paths,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from colorgen.training.loop import TrainResult, fit, run, validate
from colorgen.training.seed import get_rng_state, seed_everything, set_rng_state

__all__ = [
    "TrainResult",
    "build_model",
    "checkpoint_paths",
    "fit",
    "get_rng_state",
    "load_checkpoint",
    "load_model",
    "run",
    "save_checkpoint",
    "seed_everything",
    "set_rng_state",
    "validate",
]
