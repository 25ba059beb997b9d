"""Progress off a terminal: plain log lines every few percent, so `... | tee log` shows progress."""

from __future__ import annotations

import io
import logging

from rich.console import Console

from colorgen.progress import LogProgress, progress_bar


def test_log_progress_writes_a_line_every_few_percent(caplog):
    caplog.set_level(logging.INFO, logger="colorgen.progress")
    with progress_bar(console=Console(file=io.StringIO()), every_pct=25) as bar:  # not a terminal
        assert isinstance(bar, LogProgress)
        task = bar.add_task("rendering pages", total=200, completed=10)
        for _ in range(190):
            bar.advance(task)
        bar.update(task, failed=2)
    lines = [r.getMessage() for r in caplog.records]
    assert [ln.split(":")[1].split("(")[1].split(")")[0] for ln in lines] == ["5%", "25%", "50%", "75%", "100%"]
    assert lines[-1].startswith("rendering pages: 200/200 (100%)")
