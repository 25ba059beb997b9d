"""`python -m colorgen.extract corpus=<dir> out=<dir>`: real pages -> a WebColor-format dataset."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import hydra
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from colorgen.browser import BrowserConfig
from colorgen.config_schema import register_configs
from colorgen.data.fingerprint import data_digest, page_digests
from colorgen.io import write_json
from colorgen.progress import progress_bar

from .bundle import staged_path, write_atomic
from .corpus import RunSettings, assemble, extract_pages, pending, read_manifest, select_entries
from .report import build_report, color_histograms, to_markdown

log = logging.getLogger("colorgen.extract")
register_configs()  # the typed config groups (conf/browser, conf/decoding) before Hydra composes


def run(cfg: DictConfig, console: Console | None = None) -> dict:
    """Extract (resuming), assemble the dataset, write the report; returns the report dict."""
    console = console or Console(stderr=True)
    corpus = Path(to_absolute_path(str(cfg.corpus)))
    out = Path(to_absolute_path(str(cfg.out)))
    if not (corpus / "MANIFEST.tsv").is_file():
        raise FileNotFoundError(f"corpus {corpus} has no MANIFEST.tsv (set corpus=<webpages dir>)")
    out.mkdir(parents=True, exist_ok=True)
    all_entries = read_manifest(corpus)
    pages = list(cfg.pages) if cfg.get("pages") else None
    entries = select_entries(all_entries, pages, cfg.get("limit"), str(cfg.get("sample", "first")))
    browser_cfg = BrowserConfig.from_cfg(OmegaConf.to_container(cfg.browser, resolve=True))
    settings = RunSettings(
        workers=int(cfg.workers),
        page_timeout_s=float(cfg.page_timeout_s),
        fidelity=bool(cfg.fidelity.enabled),
        fidelity_tolerance=int(cfg.fidelity.tolerance),
        fidelity_reload=bool(cfg.fidelity.get("reload", True)),
        retry_failed=bool(cfg.retry_failed),
        skip_covered=bool(cfg.get("skip_covered", True)),
        retries=int(cfg.get("retries", 1)),
    )
    console.print(f"[bold]colorgen.extract[/]: {len(entries)} pages of {corpus} -> {out} ({settings.workers} workers)")
    with progress_bar(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("failed {task.fields[failed]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
    ) as bar:
        todo = {e.page_id for e in pending(entries, out, settings.retry_failed)}
        done_before = [e for e in entries if e.page_id not in todo]
        failed = sum(staged_path(out, e.page_id, failed=True).is_file() for e in done_before)
        task = bar.add_task("extracting", total=len(entries), completed=len(done_before), failed=failed)

        def progress(entry, reason):
            nonlocal failed
            failed += reason is not None
            bar.update(task, advance=1, failed=failed)

        run_info = asyncio.run(extract_pages(corpus, out, entries, browser_cfg, settings, progress))
    result = assemble(out, str(cfg.name), entries, all_entries, int(cfg.split.seed),
                      {k: float(cfg.split[k]) for k in ("test1", "test2", "val")})
    report = build_report(result["metas"], result["failures"], color_histograms(result["pages"]), run_info,
                          result["splits"], float(cfg.fidelity.threshold), len(entries))
    # what a run trained on, comparable across extractions (a few pages vary between loads)
    digests = page_digests(out / f"webcolor_{cfg.name}.hdf5")
    write_json(out / "page_digests.json", digests, indent=0, sort_keys=True)
    report["data_digest"] = data_digest(digests)
    write_atomic(out / "report.json", json.dumps(report, indent=1))
    write_atomic(out / "report.md", to_markdown(report))
    p, fid = report["pages"], report["fidelity"]["changed_share"]
    console.print(
        f"kept {p['kept']} / failed {p['failed']} / cut at 200: {p['cut_at_200']}; "
        f"{run_info['pages_per_second'] or 'n/a'} pages/s; fidelity median "
        f"{100 * fid.get('median', float('nan')):.3f} % changed -> {out / 'report.md'}"
    )
    return report


@hydra.main(version_base="1.3", config_path="../../../conf", config_name="extract")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
