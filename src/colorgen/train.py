"""Train one model: ``python -m colorgen.train model=<stats|ar|nar|cvae|upsampler> trainer=<cpu|paper|smoke>``.

A thin Hydra entry: compose the config, show a rich progress bar, call
:func:`colorgen.training.run`. Checkpoints go to ``${ckpt_dir}/<model>/{best,last}.pt``
(with ``metrics.jsonl`` beside them); logs and the offline W&B run go to the Hydra run dir.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from colorgen.config_schema import register_configs
from colorgen.training import run

log = logging.getLogger(__name__)
register_configs()  # the typed config groups (conf/browser, conf/decoding) before Hydra composes


class RichProgress:
    """A progress bar with the latest loss, validation metric and throughput."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=Console(stderr=True), transient=False,
        )
        self._task = None
        self._info: dict[str, str] = {}

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._task is not None:
            self._bar.stop()

    def start(self, total: int, completed: int, description: str) -> None:
        """Show the bar (only models that take optimisation steps get one)."""
        self._bar.start()
        self._task = self._bar.add_task(description, total=total, completed=completed, info="")

    def update(self, step: int, metrics: Mapping[str, float]) -> None:
        for key, label, fmt in (("train/loss", "loss", "{:.3f}"), ("val/rgb_acc", "val acc", "{:.3f}"),
                                ("val/loss", "val loss", "{:.3f}"), ("train/steps_per_sec", "it/s", "{:.2f}")):
            if key in metrics and metrics[key] is not None:
                self._info[label] = fmt.format(metrics[key])
        if self._task is not None:
            info = "  ".join(f"{k} {v}" for k, v in self._info.items())
            self._bar.update(self._task, completed=step, info=info)


@hydra.main(version_base="1.3", config_path="../../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    with RichProgress() as progress:
        result = run(cfg, run_dir, progress)
    log.info("best %s = %.4f at %s; last step %d at %s; metrics %s", result.metric_name,
             result.best_metric, result.best_path, result.step, result.last_path, result.jsonl_path)
    if result.steps_per_sec:
        log.info("throughput: %.2f steps/s overall (validation included)", result.steps_per_sec)
    return result.best_metric


if __name__ == "__main__":
    main()
