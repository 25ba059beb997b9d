"""Ensembles of trained generators: averaged probabilities, decoding as any model, eval's CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from colorgen.decoding import DecodingConfig
from colorgen.models import AR, CVAE, NAR
from colorgen.models.ensemble import Ensemble
from graph_fixtures import mixed_batch
from test_eval import _run
from webcolor_fixtures import write_fixture_dataset

TINY = {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "dropout": 0.0}


def _nars(n: int) -> list[NAR]:
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        out.append(NAR(**TINY).eval())
    return out


def test_logits_are_the_log_of_the_members_mean_probabilities() -> None:
    members, batch = _nars(3), mixed_batch(seed=1)
    got = Ensemble(members).generation_logits(batch)
    for k, field in enumerate(got):
        mean = torch.stack([torch.softmax(m.generation_logits(batch)[k], -1) for m in members]).mean(0)
        assert torch.allclose(field.exp(), mean, atol=1e-6)
    colors = Ensemble(members).generate(batch)
    assert all(torch.equal(c, lg.argmax(-1)) for c, lg in zip(colors, got, strict=True))


def test_a_lone_member_decodes_as_itself() -> None:
    (member,), batch = _nars(1), mixed_batch(seed=2)
    for cfg in (DecodingConfig(), DecodingConfig(contrast="aa")):
        a, b = Ensemble([member]).generate(batch, cfg), member.generate(batch, cfg)
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_cvae_members_draw_their_own_latents_from_one_generator() -> None:
    torch.manual_seed(0)
    members, batch = [CVAE(**TINY).eval(), CVAE(**TINY).eval()], mixed_batch(seed=3)
    ens = Ensemble(members)
    a = ens.generation_logits(batch, torch.Generator().manual_seed(5))
    b = ens.generation_logits(batch, torch.Generator().manual_seed(5))
    c = ens.generation_logits(batch, torch.Generator().manual_seed(6))
    assert torch.equal(a.text_rgb, b.text_rgb) and not torch.equal(a.text_rgb, c.text_rgb)


def test_members_that_cannot_be_averaged_are_refused() -> None:
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="one kind"):
        Ensemble([NAR(**TINY), CVAE(**TINY)])
    with pytest.raises(ValueError, match="element by element"):
        Ensemble([AR(**TINY).eval(), AR(**TINY).eval()]).generation_logits(mixed_batch(seed=0))
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])


def test_eval_averages_the_checkpoints_it_is_given(tmp_path) -> None:
    """`colorgen.eval ensemble=[...]` as an experiment file sets it: a checkpoint averaged with
    itself scores as it does alone; with another seed's, the metrics name both members."""
    cfg = write_fixture_dataset(tmp_path, n_pages=30, seed=4)
    (tmp_path / "report.json").write_text(json.dumps({"data_digest": "fixture-digest"}))
    common = ["data=webcolor", f"data.root={tmp_path}", "data.name=fixture", "data.hdf5=" + cfg["hdf5"],
              "data.split_file=" + cfg["split_file"], "logger=none", "model=nar"]
    for seed, ck in ((0, "ckpt"), (1, "ckpt/seeds/s1")):
        _run(["-m", "colorgen.train", "trainer=smoke", f"seed={seed}", f"ckpt_dir={tmp_path}/{ck}",
              f"hydra.run.dir={tmp_path}/train{seed}", *common], tmp_path)
    runs = {"alone": [], "self": [f"ensemble=[{tmp_path}/ckpt]"], "seeds": [f"ensemble=[{tmp_path}/ckpt/seeds/s1]"]}
    metrics = {}
    for name, extra in runs.items():
        _run(["-m", "colorgen.eval", f"ckpt_dir={tmp_path}/ckpt", f"hydra.run.dir={tmp_path}/{name}", *extra, *common],
             tmp_path)
        metrics[name] = json.loads((tmp_path / name / "metrics.json").read_text())
    for k in ("acc_rgb", "f1_rgb", "fcd_bg", "fcd_text"):
        assert metrics["self"][k] == metrics["alone"][k]
    assert metrics["alone"]["ensemble"] is None
    assert len(metrics["seeds"]["ensemble"]) == 2 and metrics["seeds"]["ensemble"][1].endswith("seeds/s1/nar/best.pt")
    steps = metrics["seeds"]["member_steps"]  # each member's kept (best) step
    assert len(steps) == 2 and metrics["seeds"]["steps"] == max(steps) and min(steps) > 0
    assert metrics["seeds"]["train_data_digest"] == "fixture-digest"
    missing = [sys.executable, "-m", "colorgen.eval", f"ckpt_dir={tmp_path}/ckpt", f"ensemble=[{tmp_path}/nowhere]",
               f"hydra.run.dir={tmp_path}/missing", *common]
    out = subprocess.run(missing, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "ensemble member" in out.stderr
