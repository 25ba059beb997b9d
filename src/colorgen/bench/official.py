"""`make bench` section: issue 12's figures beside the official code's (``colorgen.bench.speed``).

Real pages when the default data are extracted (the first 32 training pages of ``data=webpages``),
else synthetic ones; the report says which.
"""

from __future__ import annotations

from typing import Any

from colorgen.bench import speed
from colorgen.bench.checkout import data_config


def run(quick: bool = False) -> dict[str, Any]:
    return speed.run(data_config(), threads=2, repeats=2 if quick else 5)
