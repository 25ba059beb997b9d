"""Eval runs on W&B: numbers, the metrics table, the contact sheet and screenshots as images."""

from __future__ import annotations

import numpy as np
from PIL import Image

from colorgen.training.loggers import MetricsLogger, log_eval, read_jsonl


class _Run:
    """A W&B run's logging surface, recording what it is given (no service process in tests)."""

    def __init__(self) -> None:
        self.logged: list[dict] = []
        self.summary: dict = {}

    def log(self, data, step=None):
        self.logged.append(dict(data))

    def finish(self):
        pass


def test_eval_logs_numbers_table_and_images(tmp_path):
    import wandb

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "contact_sheet.png")
    (tmp_path / "renders").mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(tmp_path / "renders" / f"p{i}.abc.png")
    run = _Run()
    logger = MetricsLogger(tmp_path / "eval.jsonl", run)
    log_eval(logger, {"row": "nar", "acc_rgb": 0.5, "steps": 7, "ok": True}, tmp_path, max_images=2)
    logger.close()
    assert read_jsonl(tmp_path / "eval.jsonl") == [{"step": 7, "acc_rgb": 0.5, "steps": 7}]
    numbers, media = run.logged
    assert numbers == {"acc_rgb": 0.5, "steps": 7}
    assert isinstance(media["summary"], wandb.Table) and media["summary"].columns == ["acc_rgb", "steps"]
    assert isinstance(media["contact_sheet"], wandb.Image) and len(media["screenshots"]) == 2
    assert run.summary == numbers
