"""`python -m colorgen.visual RUN_DIR...`: add Pixel-FCD and contrast to finished eval runs.

Why a separate step: rendering dominates evaluation time, and most of it is opening and settling
each page. Scoring the runs of a table together opens every test page once and shoots each run's
colouring on it, instead of opening every page once per run (``make reproduce-table`` does
this). Each run directory needs the ``generated.npz`` that ``colorgen.eval`` writes; its
``metrics.json`` gains the visual keys, and ``eval_seconds`` becomes generation plus the run's
share of the shared render time. Renders are cached, so a killed run resumes.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress
from rich.table import Table

from colorgen.eval import write_metrics
from colorgen.evaluation import Generated
from colorgen.render.visual_metrics import VisualRun, score_runs

log = logging.getLogger("colorgen.visual")


def load_run(run_dir: Path) -> tuple[VisualRun, dict, dict]:
    """A run's colours, its metrics so far and the meta its eval saved; clear errors when missing."""
    npz, metrics = run_dir / "generated.npz", run_dir / "metrics.json"
    for path in (npz, metrics):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: run `python -m colorgen.eval hydra.run.dir={run_dir}` first")
    generated, meta = Generated.load(npz)
    if "text_res" not in generated.pred:
        log.warning("%s has no upsampler residuals: its pages are rendered with colour-bin centres", npz)
    return VisualRun(meta.get("label") or run_dir.name, generated, run_dir), json.loads(metrics.read_text()), meta


def score_dirs(run_dirs: list[Path], workers: int | None = None) -> list[dict]:
    """Score every run, one render pass per data set; returns the updated metrics, in order."""
    loaded = [load_run(d) for d in run_dirs]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (_, _, meta) in enumerate(loaded):  # one ground truth and browser setting per pass
        data = meta.get("data", {})
        browser = (meta.get("visual") or {}).get("browser")
        groups[json.dumps([data.get("root"), data.get("corpus"), browser], sort_keys=True)].append(i)
    results: list[dict] = [{} for _ in loaded]
    with Progress(console=Console(stderr=True), transient=True) as progress:
        for idx in groups.values():
            meta = loaded[idx[0]][2]
            settings = dict(meta.get("visual") or {}) | ({"workers": workers} if workers else {})
            scored = score_runs([loaded[i][0] for i in idx], meta.get("data", {}), settings, progress)
            for i, visual in zip(idx, scored, strict=True):
                run, metrics, _ = loaded[i]
                metrics |= visual
                base = metrics.get("generate_seconds", metrics.get("eval_seconds", 0.0))
                metrics["eval_seconds"] = round(base + visual.get("visual_seconds", 0.0), 2)
                write_metrics(run.out_dir, metrics)
                results[i] = metrics
    return results


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
    show(score_dirs(args.runs, args.workers))


if __name__ == "__main__":
    main()
