"""`python -m colorgen.corpus [out=<dir>] [cache=<dir>]`: build the pinned registry corpus (make corpus)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import hydra
from hydra.utils import to_absolute_path
from omegaconf import DictConfig
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .build import build_corpus
from .fetch import FetchError
from .pins import load_registry

log = logging.getLogger("colorgen.corpus")


def run(cfg: DictConfig, console: Console | None = None) -> dict:
    console = console or Console(stderr=True)
    reg = load_registry(Path(to_absolute_path(str(cfg.registry))) if cfg.get("registry") else None)
    out = Path(to_absolute_path(str(cfg.out)))
    cache = Path(to_absolute_path(str(cfg.cache)))
    n_sites = len(reg.sites) + (27 if reg.examples and cfg.bootswatch else 1 if reg.examples else 0)
    console.print(f"[bold]colorgen.corpus[/]: {len(reg.pins)} pinned archives -> {cache}; sites -> {out}")
    with Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[item]}"),
                  TimeElapsedColumn(), console=console) as bar:
        tasks = {
            "fetch": bar.add_task("fetch", total=len(reg.pins), item=""),
            "unpack": bar.add_task("unpack", total=len(reg.pins), item=""),
            "layout": bar.add_task("layout", total=n_sites, item=""),
        }

        def progress(stage: str, item: str) -> None:
            bar.update(tasks[stage], advance=1, item=item)

        result = build_corpus(reg, out, cache, cap=int(cfg.cap_per_design), bootswatch=bool(cfg.bootswatch),
                              batch=int(cfg.batch), progress=progress)
    summary = {"pages": result.pages, "sites": result.sites, "downloaded": result.downloaded, "seconds": result.seconds,
               "pages_per_site": result.site_pages, "removed_sites": result.removed_sites}
    (out / "corpus.json").write_text(json.dumps(summary, indent=1))
    console.print(f"{result.pages} pages in {result.sites} sites (= designs) -> {out / 'MANIFEST.tsv'}; "
                  f"downloaded {result.downloaded}; seconds {result.seconds}")
    return summary


@hydra.main(version_base="1.3", config_path="../../../conf", config_name="corpus")
def main(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except FetchError as err:  # names the package; nothing unverified was unpacked or listed
        log.error("corpus build stopped: %s", err)
        sys.exit(1)


if __name__ == "__main__":
    main()
