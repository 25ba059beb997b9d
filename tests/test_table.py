"""Results table from fake metrics.json files: rows, order, values, formats, CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from colorgen.published import METRIC_COLUMNS, PUBLISHED, PUBLISHED_BY_KEY, ROW_KEYS
from colorgen.table import EXTRA_COLUMNS, MISSING, build_table, main, write_table

METRIC_KEYS = [c.key for c in (*METRIC_COLUMNS, *EXTRA_COLUMNS)]


def _fake_metrics(rng: np.random.Generator, row: str, data: str = "webcolor", **extra) -> dict:
    m = {k: float(rng.uniform(0.01, 50)) for k in METRIC_KEYS}
    m.update(row=row, data=data, steps=int(rng.integers(1, 200_000)),
             train_seconds=float(rng.uniform(1, 9000)), eval_seconds=float(rng.uniform(1, 900)))
    m.update(extra)
    return m


def _md_rows(md: str) -> list[list[str]]:
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def test_published_rows_are_complete() -> None:
    assert ROW_KEYS == ("stats-mode", "stats-sampling", "ar-greedy", "ar-top_p0.8", "ar-top_p0.9", "nar", "cvae")
    for r in PUBLISHED:
        assert set(r.values) == {c.key for c in METRIC_COLUMNS}
    assert PUBLISHED_BY_KEY["ar-top_p0.8"].label == "AR (top-p 0.8)"
    assert PUBLISHED_BY_KEY["nar"].label == "NAR"


def test_table_rows_values_and_format() -> None:
    rng = np.random.default_rng(0)
    nar = _fake_metrics(rng, "nar", fcd_bg_real=0.123, fcd_text_real=4.5)
    stats = _fake_metrics(rng, "stats-mode", pixel_fcd=None)  # pixel FCD not measured
    extra = _fake_metrics(rng, "nar-no-mp", model="NAR", decoding="no message passing")
    table = build_table([extra, nar, stats])
    labels = [r.label for r in table.rows]
    assert labels == [r.label for r in PUBLISHED] + ["NAR (no message passing)", "Real data"]

    rows = {r[0]: r for r in _md_rows(table.to_markdown())}
    header = [c.header for c in METRIC_COLUMNS]
    pub = PUBLISHED_BY_KEY["nar"].values
    nar_cells = dict(zip(header, rows["NAR"][1:], strict=False))
    assert nar_cells["Acc RGB"] == f"{nar['acc_rgb']:.3f} ({pub['acc_rgb']:.3f})"
    assert nar_cells["Text-FCD"] == f"{nar['fcd_text']:.2f} ({pub['fcd_text']:.2f})"
    assert rows["NAR"][-4:] == ["webcolor", f"{nar['steps']:,}", rows["NAR"][-2], rows["NAR"][-1]]
    assert MISSING not in rows["NAR"]
    # a published row without our run: dashes beside the published values
    cvae = PUBLISHED_BY_KEY["cvae"].values
    assert rows["CVAE"][1] == f"{MISSING} ({cvae['acc_rgb']:.3f})"
    assert rows["CVAE"][-4:] == [MISSING] * 4
    # a missing column in one of our rows
    assert rows["Stats (mode)"][7].startswith(f"{MISSING} (")
    # our-only row: no published value in parentheses
    assert rows["NAR (no message passing)"][1] == f"{extra['acc_rgb']:.3f}"
    # real data row: FCD floors only
    real = rows["Real data"]
    assert real[5:7] == ["0.12", "4.50"] and real[1] == MISSING and real[7] == MISSING


def test_time_formatting_and_present_columns() -> None:
    m = _fake_metrics(np.random.default_rng(1), "ar-greedy", train_seconds=3725, eval_seconds=65.4)
    rows = {r[0]: r for r in _md_rows(build_table([m]).to_markdown())}
    ar = rows["AR (greedy)"]
    assert ar[-2:] == ["1h02m", "1m05s"]
    assert ar[10:12] == [f"{m['f1_rgb_present']:.3f}", f"{m['f1_alpha_present']:.3f}"]


def test_csv_has_separate_ours_and_published_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    ms = [_fake_metrics(rng, "cvae"), _fake_metrics(rng, "cvae", data="extracted")]
    md_path, csv_path = write_table(build_table(ms), tmp_path / "out")
    assert md_path.read_text().startswith("# Results")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["table.csv", "table.md"]
    records = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    cvae = [r for r in records if r["row"] == "cvae"]
    assert [r["data"] for r in cvae] == ["extracted", "webcolor"]
    by_data = {r["data"]: r for r in cvae}
    for m in ms:
        rec = by_data[m["data"]]
        for k in METRIC_KEYS:
            assert float(rec[k]) == pytest.approx(m[k])
        assert float(rec["f1_rgb_published"]) == PUBLISHED_BY_KEY["cvae"].values["f1_rgb"]
        assert int(rec["steps"]) == m["steps"]
    nar = next(r for r in records if r["row"] == "nar")
    assert nar["acc_rgb"] == "" and float(nar["acc_rgb_published"]) == PUBLISHED_BY_KEY["nar"].values["acc_rgb"]
    assert not any(r["row"] == "real" for r in records)  # no real values given -> no real row


def test_cli_finds_metrics_recursively(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for i, row in enumerate(["ar-top_p0.9", "stats-sampling"]):
        d = tmp_path / "runs" / f"run{i}" / "eval"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(_fake_metrics(rng, row, pixel_fcd_real=1.5)))
    (tmp_path / "runs" / "other.json").write_text("{}")  # not named metrics.json: ignored
    main([str(tmp_path / "runs"), "--out", str(tmp_path / "table")])
    rows = {r[0]: r for r in _md_rows((tmp_path / "table" / "table.md").read_text())}
    assert not rows["AR (top-p 0.9)"][1].startswith(MISSING)
    assert not rows["Stats (sampling)"][1].startswith(MISSING)
    assert rows["AR (greedy)"][1].startswith(MISSING)
    assert rows["Real data"][7] == "1.50"
    with pytest.raises(FileNotFoundError):
        main([str(tmp_path / "nope"), "--out", str(tmp_path / "t2")])


def test_the_data_digests_the_rows_came_from_are_printed() -> None:
    rng = np.random.default_rng(3)
    same = [_fake_metrics(rng, r, data_digest="d1", train_data_digest="t1") for r in ("nar", "cvae")]
    md = build_table(same).to_markdown()
    assert "Data scored (content digest): `d1`\n" in md and "Data trained on: `t1`\n" in md
    assert _md_rows(md) == _md_rows(build_table([{**m, "data_digest": None, "train_data_digest": None} for m in same]).to_markdown())
    mixed = build_table([*same, _fake_metrics(rng, "ar-greedy", data_digest="d2")]).to_markdown()
    assert "Data scored (content digest): `d1`, `d2` (rows differ)" in mixed
    assert "Data" not in build_table([_fake_metrics(rng, "nar")]).to_markdown().split("|")[-1]
