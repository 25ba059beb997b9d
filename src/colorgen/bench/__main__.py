"""`python -m colorgen.bench [--quick] [--only models,official,extract,render] --out DIR`: the speed report.

Each section module exposes ``run(quick) -> dict`` of measured numbers; this writes them all to
``bench.json`` and a readable ``bench.md``. With ``--only``, the other sections of an existing
report are kept (each section carries the date and the machine it was measured on,
:mod:`colorgen.bench.machine`). Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import time
from pathlib import Path

from rich.console import Console

from colorgen.bench.machine import describe
from colorgen.io import write_atomic

SECTIONS = ("models", "official", "contrast", "extract", "render")


def _flatten(prefix: str, value, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, rows)
    else:
        rows.append((prefix, f"{value:.4g}" if isinstance(value, float) else str(value)))


def to_markdown(report: dict) -> str:
    lines = ["# colorgen bench", "", f"Machine of the last run: {report['machine']}", ""]
    for name, section in report["sections"].items():
        rows: list[tuple[str, str]] = []
        _flatten("", section, rows)
        lines += [
            f"## {name}",
            "",
            "| measure | value |",
            "|---|---|",
            *[f"| {k} | {v} |" for k, v in rows],
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="experiments/bench")
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (a smoke check of the bench itself)"
    )
    parser.add_argument("--only", default=",".join(SECTIONS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True)
    report = {
        "machine": describe(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "sections": {},
    }
    previous = Path(args.out) / "bench.json"
    if previous.is_file():  # keep what --only does not measure again
        report["sections"] = json.loads(previous.read_text()).get("sections", {})
    for name in args.only.split(","):
        console.rule(f"bench: {name}")
        module = importlib.import_module(f"colorgen.bench.{name}")
        start = time.perf_counter()
        report["sections"][name] = module.run(quick=args.quick)
        report["sections"][name]["bench_seconds"] = round(time.perf_counter() - start, 1)
        report["sections"][name]["measured"] = time.strftime("%Y-%m-%d %H:%M")
        report["sections"][name]["machine"] = report["machine"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "bench.json", json.dumps(report, indent=2))
    write_atomic(out / "bench.md", to_markdown(report))
    console.print(to_markdown(report))
    console.print(f"wrote {out / 'bench.json'} and {out / 'bench.md'}")


if __name__ == "__main__":
    main()
