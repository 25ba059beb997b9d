"""Which pages move Pixel-FCD between two runs of the same test pages.

Why: Pixel-FCD is one Fréchet distance over ~100 generated screenshots' 512-bin histograms, so a
handful of pages can move it by tens of percent (an ensemble's 133 → 207; CVAE + AA's +12.8 %,
over half of it one page). Swapping one test2 page's screenshot of run ``b`` into run ``a`` at
a time gives each page's effect; the pages with the largest effects, all put back, give ``b``
without them. The effects are not additive (the covariance couples pages), so both are shown.

    python -m colorgen.pixel_pages outputs/webpages/table-runs/cvae outputs/webpages/table-runs/cvae_aa

Reads each run's ``renders.json`` (written by the visual pass: ``python -m colorgen.visual``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from colorgen.evaluation.visual import RENDERS_FILE
from colorgen.metrics.pixels import load_pixel_histogram, pixel_fcd


@dataclass(frozen=True)
class PageEffects:
    """Pixel-FCD of ``a`` and ``b`` and, per test2 page whose screenshots differ, the change of
    ``a``'s Pixel-FCD when that page alone takes ``b``'s screenshot (largest first)."""

    fcd_a: float
    fcd_b: float
    effects: list[tuple[str, float]]
    without_top: list[tuple[int, float]]  # (k, b's Pixel-FCD with its k largest-effect pages taken from a)


def _renders(run: Path) -> dict[str, dict]:
    path = Path(run) / RENDERS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the visual pass (python -m colorgen.visual {run}) first")
    return json.loads(path.read_text())


def page_effects(a: dict[str, dict], b: dict[str, dict], top: Sequence[int] = (1, 3, 10)) -> PageEffects:
    """Per-page Pixel-FCD effects between two ``renders.json`` maps of the same pages."""
    if set(a) != set(b):
        raise ValueError(f"the runs cover other pages ({len(set(a) ^ set(b))} differ)")
    # as the visual pass scores: test1 pages' real screenshots against test2 pages' generated ones
    t1 = [p for p in sorted(a) if not a[p]["test2"] and a[p]["truth"]]
    t2 = [p for p in sorted(a) if a[p]["test2"] and a[p]["truth"] and a[p]["generated"] and b[p]["generated"]]
    real = [load_pixel_histogram(a[p]["truth"]) for p in t1]
    ha = {p: load_pixel_histogram(a[p]["generated"]) for p in t2}
    hb = {p: load_pixel_histogram(b[p]["generated"]) for p in t2}

    def fcd(take_b: set[str]) -> float:
        return pixel_fcd(real, [hb[p] if p in take_b else ha[p] for p in t2])

    fcd_a, every = fcd(set()), set(t2)
    differ = [p for p in t2 if not np.array_equal(ha[p], hb[p])]
    effects = sorted(((p, fcd({p}) - fcd_a) for p in differ), key=lambda e: -abs(e[1]))
    without = [(k, fcd(every - {p for p, _ in effects[:k]})) for k in top if k <= len(effects)]
    return PageEffects(fcd_a, fcd(every), effects, without)


def to_markdown(e: PageEffects, a: str, b: str, shown: int = 10) -> str:
    lines = [f"Pixel-FCD: {a} {e.fcd_a:.2f}, {b} {e.fcd_b:.2f} ({e.fcd_b - e.fcd_a:+.2f}); "
             f"{len(e.effects)} test2 pages differ", "", "| page | effect of its screenshot from b alone |", "|---|---|"]
    lines += [f"| {p} | {d:+.2f} |" for p, d in e.effects[:shown]]
    lines += ["", f"sum of the single-page effects: {sum(d for _, d in e.effects):+.2f}"]
    lines += [f"{b} with its {k} largest-effect page(s) from {a}: {v:.2f}" for k, v in e.without_top]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m colorgen.pixel_pages", description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="the reference run folder (e.g. a model without the constraint)")
    ap.add_argument("b", type=Path, help="the run compared with it, on the same pages")
    ap.add_argument("--shown", type=int, default=10, help="pages listed")
    args = ap.parse_args(argv)
    e = page_effects(_renders(args.a), _renders(args.b))
    print(to_markdown(e, args.a.name, args.b.name, args.shown), end="")


if __name__ == "__main__":
    main()
