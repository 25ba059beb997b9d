"""`colorize` on a small real page writes every promised file; deterministic models give one sample."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from PIL import Image
from torch_geometric.data import Batch

from colorgen.colorize import colorize, sample_colors
from colorgen.decoding import DecodingConfig
from colorgen.models import ColorUpsampler, Stats
from colorgen.training.checkpoint import save_checkpoint
from helpers.synthetic import realistic_batch

CONF = Path(__file__).resolve().parents[1] / "conf"
WEBPAGES = Path(os.environ.get("COLORGEN_WEBPAGES", Path(__file__).resolve().parents[2] / "shared" / "webpages"))
PAGE = "sites/bootstrapmade__kelly/portfolio-details.html"
TINY = {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "dropout": 0.0}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> Path:
    """A Stats generator fitted on synthetic pages and a tiny (untrained) upsampler, saved as training does."""
    d = tmp_path_factory.mktemp("ckpt")
    stats = Stats().fit([realistic_batch(8, 40, seed=0)])
    save_checkpoint(d / "stats" / "best.pt", {
        "config": {"model": {"name": "stats", "_target_": "colorgen.models.Stats"}},
        "model": stats.state_dict(), "step": 0,
    })
    torch.manual_seed(0)
    up = ColorUpsampler(**TINY)
    save_checkpoint(d / "upsampler" / "best.pt", {
        "config": {"model": {"name": "upsampler", "_target_": "colorgen.models.ColorUpsampler", **TINY}},
        "model": up.state_dict(), "step": 0,
    })
    return d


def test_deterministic_decoding_gives_one_sample(checkpoints):
    stats = Stats().fit([realistic_batch(8, 40, seed=0)])
    page = realistic_batch(1, 30, seed=3).get_example(0)
    samples, deterministic = sample_colors(stats, None, page, DecodingConfig(top_p=0.0), 4, seed=0)
    assert deterministic and len(samples) == 1
    samples, deterministic = sample_colors(stats, None, page, DecodingConfig(top_p=1.0), 3, seed=0)
    assert not deterministic and len(samples) == 3
    assert not np.array_equal(samples[0].bg_rgb, samples[1].bg_rgb)
    assert samples[0].text_res is None  # no upsampler: bin centres at render time
    assert len(Batch.from_data_list([page]).page_id) == 1


@pytest.mark.browser
def test_colorize_real_page_writes_every_file(checkpoints, tmp_path):
    html = WEBPAGES / PAGE
    if not html.is_file():
        pytest.skip(f"real web pages not found at {WEBPAGES} (set COLORGEN_WEBPAGES)")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("colorize", overrides=[
            f"page={html}", "model=stats", "decoding=sampling", "num_samples=2",
            f"ckpt_dir={checkpoints}", f"out={tmp_path}",
        ])
    result = colorize(cfg, tmp_path)
    assert result["samples"] == 2 and not result["deterministic"]
    expected = {"original.png", "original.axe.json", "contact_sheet.png", "samples.json"} | {
        f"sample_{k}.{ext}" for k in range(2) for ext in ("png", "css", "html", "axe.json")
    }
    assert expected <= {p.name for p in tmp_path.iterdir()}
    shots = [np.asarray(Image.open(tmp_path / f"{n}.png").convert("RGB")) for n in ("original", "sample_0", "sample_1")]
    assert all(s.shape == (812, 375, 3) for s in shots)
    assert not np.array_equal(shots[0], shots[1]) and not np.array_equal(shots[1], shots[2])  # recoloured, differently
    info = json.loads((tmp_path / "samples.json").read_text())
    assert info["page_id"] == "bootstrapmade__kelly__portfolio-details"  # named as extraction names it
    assert info["upsampler"] and len(info["samples"]) == 2
    assert set(info["contrast_violations"]) == {"original", "sample_0", "sample_1"}
    assert all(isinstance(v, int) for v in info["contrast_violations"].values())
    css = (tmp_path / "sample_0.css").read_text()
    first = info["samples"][0][2]
    assert f"{first['selector']} {{ background-color: {first['background_color']} !important;" in css
    page_html = (tmp_path / "sample_0.html").read_text()
    assert css in page_html and f'<base href="{html.parent.resolve().as_uri()}/">' in page_html
    sheet = Image.open(tmp_path / "contact_sheet.png")
    assert sheet.width > 3 * 150  # original + two samples side by side
