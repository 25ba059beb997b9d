"""The table builder is pinned: the same metric files give byte-identical table.md / table.csv.

The expected files were written by the table builder before the evaluation refactor
(tests/fixtures/table/expected); any change to labels, order, formats or merging shows here.
"""

from __future__ import annotations

from pathlib import Path

from colorgen.table import build_table, find_metrics_files, load_metrics, write_table

FIXTURE = Path(__file__).parent / "fixtures" / "table"


def test_table_from_fixture_runs_is_unchanged(tmp_path):
    table = build_table(load_metrics(find_metrics_files([FIXTURE / "runs"])))
    md, csv_path = write_table(table, tmp_path)
    assert md.read_text() == (FIXTURE / "expected" / "table.md").read_text()
    assert csv_path.read_text() == (FIXTURE / "expected" / "table.csv").read_text()
