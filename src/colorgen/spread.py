"""Runs of the same rows under several seeds -> mean ± std per row, to tell a change from noise.

A 300-step model on ~900 pages moves by a few hundredths of accuracy between seeds; a table of one
seed cannot say whether 0.01 is an improvement. Each seed's runs sit in their own folder (e.g.
``outputs/webpages/seed-runs/s1``, written by ``make spread``); this reads every ``metrics.json``
below each folder, groups them by row, and reports mean, sample standard deviation (ddof 1) and
the number of seeds per column, plus min/max. Rows seen under fewer than two seeds get no std.

CLI: ``python -m colorgen.spread <seed dir> <seed dir> ... --out DIR`` (``spread.md``, ``spread.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorgen.columns import COLUMNS, Column
from colorgen.io import write_atomic
from colorgen.table import MISSING, _number, find_metrics_files, load_metrics

# columns whose spread is worth a line: every table column that a seed run can carry
SPREAD_COLUMNS: tuple[Column, ...] = COLUMNS


@dataclass(frozen=True)
class Spread:
    """One column of one row over seeds."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if self.n > 1 else None

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": self.n,
                "min": min(self.values), "max": max(self.values), "values": list(self.values)}


@dataclass
class SpreadRow:
    """A table row over seeds: label, the seeds it was seen with, and each column's spread."""

    key: str
    label: str
    seeds: list[Any] = field(default_factory=list)
    columns: dict[str, Spread] = field(default_factory=dict)


def spread_rows(runs: Sequence[Sequence[dict[str, Any]]]) -> list[SpreadRow]:
    """``runs[i]``: the metric dicts of seed folder ``i``. One row per ``row`` key, in first-seen order.

    A row appearing twice in one seed folder is an error (which of the two would count?).
    """
    rows: dict[str, SpreadRow] = {}
    values: dict[str, dict[str, list[float]]] = {}
    for i, metrics in enumerate(runs):
        seen: set[str] = set()
        for m in metrics:
            key = str(m.get("row") or m.get("model") or "?")
            if key in seen:
                raise ValueError(f"seed folder {i}: row {key!r} appears more than once")
            seen.add(key)
            row = rows.setdefault(key, SpreadRow(key, str(m.get("label") or key)))
            row.seeds.append(m.get("seed", i))
            for c in SPREAD_COLUMNS:
                v = _number(m.get(c.key))
                if v is not None:
                    values.setdefault(key, {}).setdefault(c.key, []).append(v)
    for key, row in rows.items():
        row.columns = {k: Spread(tuple(v)) for k, v in values.get(key, {}).items()}
    return list(rows.values())


def _cell(s: Spread | None, decimals: int) -> str:
    if s is None:
        return MISSING
    if s.std is None:
        return f"{s.mean:.{decimals}f}"
    return f"{s.mean:.{decimals}f} ± {s.std:.{decimals}f}"


def to_markdown(rows: Sequence[SpreadRow]) -> str:
    """Mean ± std (n seeds) for every column that any row has."""
    cols = [c for c in SPREAD_COLUMNS if any(c.key in r.columns for r in rows)]
    head = ["Row", "Seeds", *[c.header for c in cols]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        seeds = ", ".join(str(s) for s in r.seeds)
        cells = [_cell(r.columns.get(c.key), c.decimals + 1) for c in cols]  # one digit more: the spread
        lines.append("| " + " | ".join([r.label, seeds, *cells]) + " |")
    return "\n".join(lines) + "\n"


def to_json(rows: Sequence[SpreadRow]) -> dict[str, Any]:
    return {r.key: {"label": r.label, "seeds": r.seeds,
                    "columns": {k: s.as_dict() for k, s in r.columns.items()}} for r in rows}


def main(argv: Sequence[str] | None = None) -> None:
    from rich.console import Console

    parser = argparse.ArgumentParser(prog="python -m colorgen.spread", description=__doc__.splitlines()[0])
    parser.add_argument("seed_dirs", nargs="+", help="one folder per seed, searched recursively for metrics.json")
    parser.add_argument("--out", required=True, help="directory for spread.md and spread.json")
    args = parser.parse_args(argv)
    runs = []
    for d in args.seed_dirs:
        files = find_metrics_files([d])
        if not files:
            raise SystemExit(f"no metrics.json under {d}")
        runs.append(load_metrics(files))
    rows = spread_rows(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = to_markdown(rows)
    write_atomic(out / "spread.md", md)
    write_atomic(out / "spread.json", json.dumps(to_json(rows), indent=1) + "\n")
    Console().print(md, markup=False, soft_wrap=True)
    Console().print(f"{len(args.seed_dirs)} seed folder(s) -> {out / 'spread.md'}, {out / 'spread.json'}")


if __name__ == "__main__":
    main()
