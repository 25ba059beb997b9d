"""The whole pipeline on a few real pages, through the CLIs users type:
extract (real Chromium) -> train (NAR + upsampler, trainer=smoke) -> eval metrics=full (renders, axe-core)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from colorgen.data.dataset import load_split
from colorgen.evaluation.results import read_run_metrics

pytestmark = pytest.mark.browser

WEBPAGES = Path(os.environ.get("COLORGEN_WEBPAGES", Path(__file__).parents[2] / "shared" / "webpages"))
PAGES = [  # small pages whose sites the corpus-wide split (seed 0) puts in every split
    "lz__vento-coming-soon/index.html", "lz__orange-coming-soon/index.html", "lz__endure-coming-soon/index.html",
    "lz__super-simple/index.html",  # val
    "lz__one-wonder/index.html", "onepagelove__low-poly/ink.html",  # test1
    "lz__ace-coming-soon/index.html", "lz__relic-portal/index.html",  # test2
]


def cli(*args: str, cwd: Path) -> str:
    out = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stdout


def test_real_pages_end_to_end(tmp_path):
    if not (WEBPAGES / "MANIFEST.tsv").is_file():
        pytest.skip(f"real web pages not found at {WEBPAGES} (set COLORGEN_WEBPAGES)")
    root = tmp_path / "data"
    data = [f"data.root={root}", f"data.corpus={WEBPAGES}"]
    cli("colorgen.extract", f"corpus={WEBPAGES}", f"out={root}", "fidelity.enabled=false",
        "pages=[" + ",".join(PAGES) + "]", cwd=tmp_path)
    cfg = {"name": "webpages", "root": str(root), "hdf5": "webcolor_webpages.hdf5",
           "split_file": "webcolor_split_webpages.json"}
    sizes = {s: len(load_split(cfg, s)) for s in ("train", "val", "test1", "test2")}
    assert sum(sizes.values()) == len(PAGES) and min(sizes.values()) >= 1, (sizes, (root / "failures.tsv").read_text())

    common = [*data, f"ckpt_dir={tmp_path}/ckpt", "logger=none"]
    for model in ("nar", "upsampler"):
        cli("colorgen.train", f"model={model}", "trainer=smoke", f"hydra.run.dir={tmp_path}/train_{model}", *common, cwd=tmp_path)
        assert (tmp_path / "ckpt" / model / "best.pt").is_file()
    cli("colorgen.eval", "experiment=nar", "metrics=full", f"hydra.run.dir={tmp_path}/eval", *common, cwd=tmp_path)
    m = read_run_metrics(tmp_path / "eval" / "metrics.json")  # + visual.json beside it
    assert m["row"] == "nar" and m["pages"] == sizes["test1"] + sizes["test2"]
    for key in ("acc_rgb", "f1_rgb", "fcd_bg", "contrast_pages_pct", "contrast_real_pages_pct"):
        assert math.isfinite(m[key]), key
    assert 0 <= m["acc_rgb"] <= 1 and m["visual_pages"] == m["pages"] == 4
    assert math.isfinite(m["pixel_fcd"]) and m["pixel_fcd_real"] >= 0
    assert (tmp_path / "eval" / "contact_sheet.png").is_file()
