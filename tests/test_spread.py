"""colorgen.spread: rows over seed folders -> mean ± sample std."""

import json
import math

import pytest

from colorgen.spread import main, spread_rows, to_markdown


def _write(path, **metrics):
    path.mkdir(parents=True, exist_ok=True)
    (path / "metrics.json").write_text(json.dumps(metrics))


def test_mean_and_sample_std_per_row_and_column():
    runs = [
        [{"row": "nar", "label": "NAR", "seed": s, "acc_rgb": a, "fcd_text": t}]
        for s, a, t in ((0, 0.7, 300.0), (1, 0.8, float("nan")), (2, 0.9, 340.0))
    ]
    (row,) = spread_rows(runs)
    assert row.seeds == [0, 1, 2]
    acc = row.columns["acc_rgb"]
    assert acc.n == 3 and math.isclose(acc.mean, 0.8) and math.isclose(acc.std, 0.1)
    text = row.columns["fcd_text"]  # the NaN seed does not count
    assert text.n == 2 and math.isclose(text.mean, 320.0) and math.isclose(text.std, math.sqrt(800))
    md = to_markdown([row])
    assert "| NAR | 0, 1, 2 | 0.8000 ± 0.1000 |" in md


def test_row_in_one_seed_only_has_no_std_and_duplicates_are_refused():
    rows = spread_rows([[{"row": "a", "acc_rgb": 0.5}], [{"row": "b", "acc_rgb": 0.6}]])
    assert [r.key for r in rows] == ["a", "b"] and rows[0].columns["acc_rgb"].std is None
    assert "| a | 0 | 0.5000 |" in to_markdown(rows)
    with pytest.raises(ValueError, match="more than once"):
        spread_rows([[{"row": "a"}, {"row": "a"}]])


def test_cli_writes_markdown_and_json(tmp_path):
    for s, acc in ((0, 0.76), (1, 0.78)):
        _write(tmp_path / f"s{s}" / "nar", row="nar", label="NAR", seed=s, acc_rgb=acc)
        _write(tmp_path / f"s{s}" / "cvae", row="cvae", label="CVAE", seed=s, acc_rgb=acc - 0.01)
    main([str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "out")])
    data = json.loads((tmp_path / "out" / "spread.json").read_text())
    assert data["nar"]["columns"]["acc_rgb"]["values"] == [0.76, 0.78]
    assert math.isclose(data["cvae"]["columns"]["acc_rgb"]["mean"], 0.76)
    assert "CVAE" in (tmp_path / "out" / "spread.md").read_text()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no metrics.json"):
        main([str(tmp_path / "s0"), str(tmp_path / "empty"), "--out", str(tmp_path / "o2")])
