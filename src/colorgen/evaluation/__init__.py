"""Evaluation: generate a split, score it, score it visually, and find a run's checkpoints.

Data path: checkpoints (:mod:`.runs`) -> :mod:`.generate` (``generated.npz``) -> :mod:`.score`
(``metrics.json``) -> :mod:`.visual` (renders in Chromium, ``visual.json``) -> :mod:`colorgen.table`,
which merges the two files of each run. The entry points (``colorgen.eval``, ``colorgen.visual``,
``colorgen.colorize``) only compose config and call these.
"""

from .generate import Generated, generate_split
from .rows import decoding_label, row_key
from .score import score

__all__ = ["Generated", "decoding_label", "generate_split", "row_key", "score"]
