"""Where the benchmark finds the checkout it measures: its ``conf/`` and ``tests/helpers``.

Why not ``Path(__file__).parents[...]``: that breaks for an installed (non-editable) package.
``make bench`` runs from the checkout root; ``$COLORGEN_ROOT`` points elsewhere.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def checkout_root() -> Path:
    """``$COLORGEN_ROOT`` or the working directory; a clear error when it is not a checkout."""
    root = Path(os.environ.get("COLORGEN_ROOT") or Path.cwd()).resolve()
    if not (root / "conf").is_dir() or not (root / "tests" / "helpers").is_dir():
        raise FileNotFoundError(f"{root} is not a colorgen checkout (conf/ and tests/helpers/); "
                                "run from the checkout root or set COLORGEN_ROOT")
    return root


def import_test_helpers() -> ModuleType:
    """``tests/helpers`` (synthetic pages, reference oracles), shared with the test suite."""
    tests = str(checkout_root() / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    helpers = importlib.import_module("helpers")
    for name in ("synthetic", "oracles"):
        importlib.import_module(f"helpers.{name}")
    return helpers


def data_config(overrides: list[str] | None = None) -> dict[str, Any]:
    """The default ``data`` group of the checkout's config (paths absolute), as eval sees it."""
    from hydra import compose, initialize_config_dir

    from colorgen.config_schema import register_configs
    from colorgen.evaluation.runs import data_config as absolute

    register_configs()
    with initialize_config_dir(config_dir=str(checkout_root() / "conf"), version_base="1.3"):
        cfg = compose("eval", overrides or [])
    return absolute(cfg.data)
