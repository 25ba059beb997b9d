"""Progress that reaches a log: a rich bar on a terminal, plain log lines everywhere else.

Why: rich bars draw only on a terminal, so ``make reproduce-table 2>&1 | tee log`` showed nothing
for the twenty minutes of extraction. :func:`progress_bar` gives the same interface
(``add_task`` / ``advance`` / ``update``) either way; off a terminal it logs one line every
``every_pct`` percent of each task (and when it completes).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn

log = logging.getLogger("colorgen.progress")


@dataclass
class _Task:
    description: str
    total: float | None
    completed: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)
    logged_pct: float = -1.0
    started: float = field(default_factory=time.monotonic)


class LogProgress:
    """rich ``Progress``'s task interface, writing a log line every ``every_pct`` percent."""

    def __init__(self, every_pct: float = 5.0, logger: logging.Logger = log) -> None:
        self.every_pct = every_pct
        self.logger = logger
        self.tasks: dict[int, _Task] = {}

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Nothing to draw: lines are written as tasks advance."""

    def stop(self) -> None:
        """Nothing to erase."""

    def add_task(self, description: str, total: float | None = 100.0, completed: float = 0, **fields: Any) -> int:
        task_id = len(self.tasks)
        self.tasks[task_id] = _Task(description, total, float(completed), dict(fields))
        self._maybe_log(task_id)
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def update(self, task_id: int, *, advance: float | None = None, completed: float | None = None,
               total: float | None = None, description: str | None = None, **fields: Any) -> None:
        task = self.tasks[task_id]
        if total is not None:
            task.total = total
        if description is not None:
            task.description = description
        if completed is not None:
            task.completed = float(completed)
        if advance:
            task.completed += advance
        task.fields.update(fields)
        self._maybe_log(task_id)

    def _maybe_log(self, task_id: int) -> None:
        task = self.tasks[task_id]
        if not task.total:
            return
        pct = min(100.0, 100.0 * task.completed / task.total)
        step = (pct // self.every_pct) * self.every_pct if pct < 100 else 100.0
        if step <= task.logged_pct:
            return
        task.logged_pct = step
        extra = "".join(f" {k} {v}" for k, v in task.fields.items() if k != "info")
        elapsed = time.monotonic() - task.started
        self.logger.info("%s: %d/%d (%.0f%%)%s, %.0fs", task.description, task.completed, task.total, pct, extra, elapsed)


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default stderr, where bars draw) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def progress_bar(*columns: str | ProgressColumn, console: Console | None = None, transient: bool = True,
                 every_pct: float = 5.0) -> Iterator[Progress | LogProgress]:
    """A started rich ``Progress`` on a terminal, else a :class:`LogProgress`."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        with LogProgress(every_pct) as progress:
            yield progress
        return
    with Progress(*columns, console=console, transient=transient) as progress:
        yield progress
