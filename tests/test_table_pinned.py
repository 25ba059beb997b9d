"""The table builder is pinned: the same metric files give byte-identical table.md / table.csv.

The expected files were written by the table builder before the evaluation refactor
(tests/fixtures/table/expected); any change to labels, order, formats or merging shows here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from colorgen.columns import VISUAL_KEYS
from colorgen.evaluation.results import write_visual
from colorgen.table import build_table, find_metrics_files, load_metrics, write_table

FIXTURE = Path(__file__).parent / "fixtures" / "table"


def test_table_from_fixture_runs_is_unchanged(tmp_path):
    table = build_table(load_metrics(find_metrics_files([FIXTURE / "runs"])))
    md, csv_path = write_table(table, tmp_path)
    assert md.read_text() == (FIXTURE / "expected" / "table.md").read_text()
    assert csv_path.read_text() == (FIXTURE / "expected" / "table.csv").read_text()


def test_visual_keys_in_their_own_file_give_the_same_table(tmp_path):
    """The visual pass writes visual.json beside metrics.json; the table merges the two."""
    shutil.copytree(FIXTURE / "runs", tmp_path / "runs")
    for path in (tmp_path / "runs").rglob("metrics.json"):
        metrics = json.loads(path.read_text())
        visual = {k: metrics.pop(k) for k in VISUAL_KEYS + ("eval_seconds",) if k in metrics}
        path.write_text(json.dumps(metrics | {"eval_seconds": 0.5}))  # eval's own time, replaced by the visual pass
        write_visual(path.parent, visual)
    table = build_table(load_metrics(find_metrics_files([tmp_path / "runs"])))
    assert table.to_markdown() == (FIXTURE / "expected" / "table.md").read_text()
    assert table.to_csv() == (FIXTURE / "expected" / "table.csv").read_text()
