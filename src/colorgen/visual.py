"""`python -m colorgen.visual RUN_DIR...`: add Pixel-FCD and contrast to finished eval runs.

Why a separate step: rendering dominates evaluation time, and most of it is opening and settling
each page. Scoring the runs of a table together opens every test page once and shoots each run's
colouring on it, instead of opening every page once per run (``make reproduce-table`` does
this). Each run directory needs the ``generated.npz`` that ``colorgen.eval`` writes; the visual
keys go to ``visual.json`` beside its ``metrics.json`` (the table merges them), with
``eval_seconds`` = generation plus the run's share of the shared render time. Renders are
cached, so a killed run resumes.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from colorgen.evaluation.visual import score_dirs
from colorgen.progress import progress_bar

log = logging.getLogger("colorgen.visual")


def show(rows: list[dict]) -> None:
    table = Table(title="visual metrics")
    cols = ("row", "pixel_fcd", "contrast_pages_pct", "contrast_elements_per_page", "visual_pages", "visual_seconds")
    for c in cols:
        table.add_column(c)
    for m in rows:
        table.add_row(*(f"{m.get(c):.3f}" if isinstance(m.get(c), float) else str(m.get(c)) for c in cols))
    Console(stderr=True).print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m colorgen.visual", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="eval run directories (with generated.npz)")
    parser.add_argument("--workers", type=int, default=None, help="browser pages at once (default: the runs' visual.workers)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(show_path=False)])
    with progress_bar() as progress:
        rows = score_dirs(args.runs, args.workers, progress)
    show(rows)


if __name__ == "__main__":
    main()
