"""Evaluation: row naming, scoring semantics, and the CLI as users type it (on fixture data)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from colorgen.data.dataset import load_split
from colorgen.decoding import DecodingConfig
from colorgen.evaluation import Generated, decoding_label, row_key, score
from colorgen.published import ROW_KEYS
from webcolor_fixtures import write_fixture_dataset

METRIC_KEYS = {"acc_rgb", "acc_alpha", "f1_rgb", "f1_alpha", "f1_rgb_present", "f1_alpha_present",
               "fcd_bg", "fcd_text", "fcd_bg_real", "fcd_text_real"}


@pytest.mark.parametrize(
    "model,dec,key,label",
    [("stats", DecodingConfig(top_p=0.0), "stats-mode", "mode"),
     ("stats", DecodingConfig(top_p=1.0), "stats-sampling", "sampling"),
     ("ar", DecodingConfig(), "ar-greedy", "greedy"),
     ("ar", DecodingConfig(top_p=0.8), "ar-top_p0.8", "top-p 0.8"),
     ("ar", DecodingConfig(top_p=0.9), "ar-top_p0.9", "top-p 0.9"),
     ("nar", DecodingConfig(), "nar", ""),
     ("cvae", DecodingConfig(), "cvae", ""),
     ("nar", DecodingConfig(top_p=0.9), "nar-top_p0.9", "top-p 0.9")],
)
def test_row_keys_match_published_rows(model, dec, key, label):
    assert row_key(model, dec) == key and decoding_label(model, dec) == label
    assert key in ROW_KEYS or model == "nar"


def _truth(tmp_path) -> Generated:
    cfg = write_fixture_dataset(tmp_path, n_pages=36, seed=5)
    cfg.pop("pages")
    ds = load_split(cfg, "test")
    d = ds._data
    sizes = np.diff(ds.slices["order"].numpy())
    true = {k: getattr(d, k).numpy() for k in ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha", "text_res", "bg_res")}
    return Generated(ds.page_ids, d.is_test2.numpy(), np.repeat(np.arange(len(sizes)), sizes),
                     d.has_text.numpy(), true, {k: v.copy() for k, v in true.items()})


def test_perfect_predictions_score_like_the_real_data(tmp_path):
    g = _truth(tmp_path)
    m = score(g)
    assert m["acc_rgb"] == 1.0 and m["acc_alpha"] == 1.0 and m["f1_rgb_present"] == 1.0
    assert m["f1_rgb"] < 1.0  # published semantics: absent classes count as 0
    assert m["fcd_bg"] == pytest.approx(m["fcd_bg_real"]) and m["fcd_text"] == pytest.approx(m["fcd_text_real"])


def test_wrong_text_colours_lower_text_scores_only(tmp_path):
    g = _truth(tmp_path)
    g.pred["text_rgb"] = (g.pred["text_rgb"] + 1) % 512
    m = score(g)
    text_share = g.has_text.sum() / (g.has_text.sum() + len(g.page))
    assert m["acc_rgb"] == pytest.approx(1 - text_share)
    assert m["fcd_text"] > m["fcd_text_real"] and m["fcd_bg"] == pytest.approx(m["fcd_bg_real"])


def _run(args, cwd):
    out = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Stats and AR trained with trainer=smoke on a fixture dataset, through the real CLI."""
    root = tmp_path_factory.mktemp("evaldata")
    cfg = write_fixture_dataset(root, n_pages=40, seed=1)
    (root / "report.json").write_text(json.dumps({"data_digest": "fixture-digest"}))  # as extraction writes it
    common = ["data=webcolor", f"data.root={root}", "data.name=fixture", "data.hdf5=" + cfg["hdf5"],
              "data.split_file=" + cfg["split_file"], f"ckpt_dir={root}/ckpt", "logger=none"]
    for model in ("stats", "ar"):
        _run(["-m", "colorgen.train", f"model={model}", "trainer=smoke", f"hydra.run.dir={root}/train_{model}", *common], root)
    return root, common


def test_generated_colours_round_trip_through_npz(tmp_path):
    g = _truth(tmp_path)
    g.pred["text_rgb"] = (g.pred["text_rgb"] + 7) % 512
    meta = {"label": "ar-greedy", "data": {"root": str(tmp_path)}}
    back, meta_back = Generated.load(g.save(tmp_path / "generated.npz", meta))
    assert meta_back == meta and back.page_ids == g.page_ids and not list(tmp_path.glob(".*.tmp"))
    for a, b in ((back.true, g.true), (back.pred, g.pred)):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert np.array_equal(back.page, g.page) and np.array_equal(back.is_test2, g.is_test2)
    assert score(back) == score(g)


def test_eval_writes_every_metric_key(trained):
    root, common = trained
    _run(["-m", "colorgen.eval", "model=stats", "decoding=mode", f"hydra.run.dir={root}/e1", *common], root)
    m = json.loads((root / "e1" / "metrics.json").read_text())
    assert METRIC_KEYS <= set(m) and m["row"] == "stats-mode" and m["data"] == "fixture"
    assert m["data_digest"] == m["train_data_digest"] == "fixture-digest"  # what was scored, what was trained on
    assert all(np.isfinite(m[k]) for k in METRIC_KEYS)
    g, meta = Generated.load(root / "e1" / "generated.npz")  # kept for a later `colorgen.visual` pass
    assert meta["label"] == "stats-mode" and len(g.page_ids) == m["pages"] and meta["data"]["root"] == str(root)


def test_multirun_as_users_type_it(trained):
    root, common = trained
    _run(["-m", "colorgen.eval", "-m", "decoding.top_p=0.0,0.8", f"hydra.sweep.dir={root}/sweep", *common], root)
    files = sorted(Path(root / "sweep").rglob("metrics.json"))
    rows = sorted(json.loads(f.read_text())["row"] for f in files)
    assert rows == ["ar-greedy", "ar-top_p0.8"]


def test_same_seed_same_numbers(trained):
    root, common = trained
    for name in ("s1", "s2"):
        _run(["-m", "colorgen.eval", "model=stats", "decoding=sampling", "seed=3", f"hydra.run.dir={root}/{name}", *common], root)
    a, b = (json.loads((root / n / "metrics.json").read_text()) for n in ("s1", "s2"))
    assert {k: a[k] for k in METRIC_KEYS} == {k: b[k] for k in METRIC_KEYS}
