"""metrics.json files -> the paper's results table, our numbers beside the published ones.

Each metrics.json is a flat dict: metric keys (see :data:`colorgen.published.METRIC_COLUMNS`
plus ``f1_*_present``), real-vs-real floors (``fcd_bg_real``, ``fcd_text_real``,
``pixel_fcd_real``, ``contrast_real_*``) and metadata (``row``, ``model``, ``decoding``,
``data``, ``steps``, ``train_seconds``, ``eval_seconds``). FCD values are in the reported
unit (× 10³). Rows follow the published order; rows of ours without a published
counterpart come next, then one "Real data" row per data set.

CLI: ``python -m colorgen.table <metrics.json files or dirs...> --out DIR``.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorgen.columns import OUR_COLUMNS, REAL_KEYS, Column
from colorgen.evaluation.results import read_run_metrics
from colorgen.io import write_atomic
from colorgen.published import METRIC_COLUMNS, PUBLISHED, PUBLISHED_BY_KEY

log = logging.getLogger(__name__)

MISSING = "–"
REAL_KEY = "real"
EXTRA_COLUMNS: tuple[Column, ...] = OUR_COLUMNS  # declared in colorgen.columns
NOTES = (
    "Cells read `ours (published)`; published = WebColor v1.1 test set, WACV 2023. "
    f"`{MISSING}` = not measured. FCD columns are ×10⁻³ (shown value = Fréchet distance × 10³). "
    "F = macro F1 over all 512 RGB / 8 alpha classes, absent classes counting 0 (the published "
    "semantics); F (present) averages only over classes that occur in targets or predictions. "
    "Contrast counts axe-core color-contrast violations (Lighthouse's reading); the (incl. 1:1) "
    "columns also count text coloured exactly like its background, which axe reports only as "
    "incomplete. "
    "Real data = test1 ground truth against test2 ground truth, the floor of each FCD."
)


@dataclass
class TableRow:
    """One row: our values (None = missing), the published values if any, and run metadata."""

    key: str | None
    label: str
    ours: dict[str, float | None] = field(default_factory=dict)
    published: dict[str, float] | None = None
    data: str | None = None
    steps: int | None = None
    train_seconds: float | None = None
    eval_seconds: float | None = None


@dataclass
class Table:
    """The results table; render with :meth:`to_markdown` / :meth:`to_csv`."""

    rows: list[TableRow]
    # content digests of the data the rows were scored and trained on (colorgen.data.fingerprint)
    digests: dict[str, list[str]] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """A markdown document: title, notes and the table with `ours (published)` cells."""
        headers = ["Model", *(c.header for c in METRIC_COLUMNS), *(c.header for c in EXTRA_COLUMNS),
                   "Data", "Steps", "Train time", "Eval time"]
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for r in self.rows:
            cells = [r.label]
            for c in METRIC_COLUMNS:
                cell = _fmt(r.ours.get(c.key), c.decimals)
                if r.published is not None and c.key in r.published:
                    cell += f" ({_fmt(r.published[c.key], c.decimals)})"
                cells.append(cell)
            cells += [_fmt(r.ours.get(c.key), c.decimals) for c in EXTRA_COLUMNS]
            cells += [r.data or MISSING, _fmt_steps(r.steps), _fmt_seconds(r.train_seconds),
                      _fmt_seconds(r.eval_seconds)]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [""] + [f"Data {kind}: " + ", ".join(f"`{d}`" for d in ds) + (" (rows differ)" if len(ds) > 1 else "")
                         for kind, ds in self.digests.items()]
        return "# Results\n\n" + NOTES + "\n\n" + "\n".join(lines).rstrip("\n") + "\n"

    def to_csv(self) -> str:
        """Machine-readable: one column per value (ours, then `<key>_published`); empty = missing."""
        metric_cols = []
        for c in METRIC_COLUMNS:
            metric_cols += [c.key, f"{c.key}_published"]
        metric_cols += [c.key for c in EXTRA_COLUMNS]
        header = ["row", "model", "data", "steps", "train_seconds", "eval_seconds", *metric_cols]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        for r in self.rows:
            values: list[Any] = [r.key or "", r.label, r.data or "", _csv(r.steps),
                                 _csv(r.train_seconds), _csv(r.eval_seconds)]
            for c in METRIC_COLUMNS:
                values += [_csv(r.ours.get(c.key)), _csv((r.published or {}).get(c.key))]
            values += [_csv(r.ours.get(c.key)) for c in EXTRA_COLUMNS]
            writer.writerow(values)
        return buf.getvalue()


def _number(v: Any) -> float | None:
    """A finite number, or None for anything missing / non-numeric / NaN."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _fmt(v: float | None, decimals: int) -> str:
    return MISSING if v is None else f"{v:.{decimals}f}"


def _fmt_steps(v: int | None) -> str:
    return MISSING if v is None else f"{v:,}"


def _fmt_seconds(v: float | None) -> str:
    if v is None:
        return MISSING
    s = int(round(v))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _csv(v: float | int | None) -> str:
    return "" if v is None else repr(v) if isinstance(v, float) else str(v)


def _label(m: dict[str, Any]) -> str:
    model, decoding = m.get("model"), m.get("decoding")
    if not model:
        return str(m.get("row") or "?")
    return f"{model} ({decoding})" if decoding else str(model)


def _our_row(m: dict[str, Any]) -> TableRow:
    key = m.get("row")
    pub = PUBLISHED_BY_KEY.get(key)
    steps = _number(m.get("steps"))
    return TableRow(
        key=key,
        label=pub.label if pub is not None else str(m.get("label") or _label(m)),
        ours={c.key: _number(m.get(c.key)) for c in (*METRIC_COLUMNS, *EXTRA_COLUMNS)},
        published=dict(pub.values) if pub is not None else None,
        data=m.get("data"),
        steps=None if steps is None else int(steps),
        train_seconds=_number(m.get("train_seconds")),
        eval_seconds=_number(m.get("eval_seconds")),
    )


def _real_rows(metrics: Sequence[dict[str, Any]]) -> list[TableRow]:
    """One row per data set; each value from the first file that has it."""
    by_data: dict[str | None, dict[str, float | None]] = {}
    for m in metrics:
        ours = by_data.setdefault(m.get("data"), {})
        for col, src in REAL_KEYS.items():
            v = _number(m.get(src))
            if v is None:
                continue
            if ours.get(col) is None:
                ours[col] = v
            elif not math.isclose(ours[col], v, rel_tol=1e-6, abs_tol=1e-9):
                log.warning("data %s: %s differs between files (%g vs %g); keeping the first",
                            m.get("data"), src, ours[col], v)
    return [TableRow(key=REAL_KEY, label="Real data", ours=ours, data=data)
            for data, ours in by_data.items() if any(v is not None for v in ours.values())]


def build_table(metrics: list[dict[str, Any]]) -> Table:
    """Published rows in order (placeholders where we have no run), then our other rows, then real data."""
    rows: list[TableRow] = []
    for pub in PUBLISHED:
        matched = [m for m in metrics if m.get("row") == pub.key]
        if not matched:
            rows.append(TableRow(key=pub.key, label=pub.label, published=dict(pub.values)))
        rows += [_our_row(m) for m in sorted(matched, key=lambda m: str(m.get("data") or ""))]
    rows += [_our_row(m) for m in metrics if m.get("row") not in PUBLISHED_BY_KEY]
    rows += _real_rows(metrics)
    digests = {kind: sorted({m[key] for m in metrics if m.get(key)})
               for kind, key in (("scored (content digest)", "data_digest"), ("trained on", "train_data_digest"))}
    return Table(rows, {k: v for k, v in digests.items() if v})


def write_table(table: Table, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``table.md`` and ``table.csv`` into ``out_dir`` (each atomically); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, csv_path = out / "table.md", out / "table.csv"
    write_atomic(md, table.to_markdown())
    write_atomic(csv_path, table.to_csv())
    return md, csv_path


def find_metrics_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; directories searched recursively for ``metrics.json`` (sorted, deduplicated)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(p.rglob("metrics.json"))
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such metrics file or directory: {p}")
    return list(dict.fromkeys(found))


def load_metrics(files: Iterable[Path]) -> list[dict[str, Any]]:
    """Read metrics.json files (each one JSON object), with the visual.json beside each merged in."""
    return [read_run_metrics(f) for f in files]


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: collect metrics.json files, write table.md / table.csv, show the table."""
    from rich.console import Console

    parser = argparse.ArgumentParser(prog="python -m colorgen.table", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="metrics.json files or directories searched recursively")
    parser.add_argument("--out", required=True, help="directory for table.md and table.csv")
    args = parser.parse_args(argv)
    files = find_metrics_files(args.paths)
    console = Console()
    if not files:
        console.print("[yellow]no metrics.json found; the table shows published values only")
    table = build_table(load_metrics(files))
    md, csv_path = write_table(table, args.out)
    console.print(table.to_markdown(), markup=False, soft_wrap=True)
    console.print(f"{len(files)} metrics file(s) -> {md}, {csv_path}")


if __name__ == "__main__":
    main()
