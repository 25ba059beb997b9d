"""Training: smoke runs of every model through the Hydra config, resume, checkpoints, loggers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from colorgen.data.dataset import load_split
from colorgen.decoding import DecodingConfig
from colorgen.models.base import ground_truth_colors
from colorgen.training import build_model, fit, load_checkpoint, load_model, run, seed_everything
from colorgen.training.checkpoint import save_checkpoint
from colorgen.training.loggers import read_jsonl
from colorgen.training.loop import batch_stream, epoch_batches, lr_at
from webcolor_fixtures import write_fixture_dataset

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
MODELS = ["stats", "ar", "nar", "cvae", "upsampler"]


@pytest.fixture(scope="module")
def data_overrides(tmp_path_factory) -> list[str]:
    cfg = write_fixture_dataset(tmp_path_factory.mktemp("webcolor"), n_pages=40, seed=0)
    keys = ("name", "root", "hdf5", "split_file", "cache_dir")
    return ["data=webcolor"] + [f"data.{k}={cfg[k]}" for k in keys]


def make_cfg(data_overrides: list[str], ckpt_dir: Path, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", [*data_overrides, "trainer=smoke", "logger=none",
                                 f"ckpt_dir={ckpt_dir}", *overrides])


def train_rows(path: Path) -> dict[int, float]:
    return {r["step"]: r["train/loss"] for r in read_jsonl(path) if "train/loss" in r}


@pytest.mark.parametrize("model", MODELS)
def test_smoke_training_writes_checkpoints_and_metrics(model, data_overrides, tmp_path):
    cfg = make_cfg(data_overrides, tmp_path / "ckpt", f"model={model}")
    result = run(cfg, tmp_path / "run")
    assert result.best_path == tmp_path / "ckpt" / model / "best.pt"
    assert result.best_path.is_file() and result.last_path.is_file()
    assert not list(result.best_path.parent.glob("*.tmp"))  # atomic writes leave nothing behind
    last = load_checkpoint(result.last_path)
    assert last["config"]["model"]["name"] == model
    assert last["config"]["model"].get("d_model", 32) == 32  # sizes come from trainer=smoke
    rows = read_jsonl(result.jsonl_path)
    val = [r for r in rows if result.metric_name in r]
    assert val and all(r[result.metric_name] is not None for r in val)
    if model == "stats":
        assert last["optimizer"] is None and last["step"] == 1
        assert result.metric_name == "val/forward_rgb_acc" and 0.0 <= result.best_metric <= 1.0
    else:
        assert last["step"] == cfg.trainer.max_steps
        assert sorted(train_rows(result.jsonl_path)) == list(range(1, cfg.trainer.max_steps + 1))
        assert [r["step"] for r in val] == [3, 6]
        assert last["optimizer"]["state"]  # AdamW moments were saved for resuming
    if model == "upsampler":
        assert result.metric_name == "val/loss"
        assert last["best_metric"] == min(r["val/loss"] for r in val)


def test_entry_point_writes_run_dir_and_checkpoints(data_overrides, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "colorgen.train", "model=nar", "trainer=smoke", "logger=none",
           "trainer.max_steps=2", "trainer.val_every=2", "ckpt_dir=ckpt", "hydra.run.dir=run", *data_overrides]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "ckpt/nar/best.pt").is_file() and (tmp_path / "ckpt/nar/last.pt").is_file()
    assert (tmp_path / "ckpt/nar/metrics.jsonl").is_file()
    assert (tmp_path / "run/.hydra/config.yaml").is_file() and (tmp_path / "run/train.log").is_file()
    saved = load_checkpoint(tmp_path / "ckpt/nar/last.pt")["config"]
    assert saved["ckpt_dir"] == str(tmp_path / "ckpt")  # made absolute from the launch directory


def test_resume_continues_identically(data_overrides, tmp_path):
    # AR: dropout + teacher forcing; 22 train pages / batch 4 = 6 batches, so step 4 is mid-epoch
    # and steps 7-8 come from the next epoch's shuffle. Stopping at max_steps=4 stands in for an
    # interruption, so the schedule must not depend on max_steps (a cosine one would).
    common = ["model=ar", "trainer.max_steps=8", "trainer.val_every=4", "trainer.warmup_steps=6"]
    full = run(make_cfg(data_overrides, tmp_path / "a", *common), tmp_path / "run_a")
    run(make_cfg(data_overrides, tmp_path / "b", *common, "trainer.max_steps=4"), tmp_path / "run_b1")
    resumed = run(make_cfg(data_overrides, tmp_path / "b", *common, "trainer.resume=true"), tmp_path / "run_b2")
    a, b = train_rows(full.jsonl_path), train_rows(resumed.jsonl_path)
    assert sorted(b) == list(range(1, 9))  # the log continues after the checkpoint's step
    assert a == b  # bit-identical losses
    wa, wb = load_checkpoint(full.last_path)["model"], load_checkpoint(resumed.last_path)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_depends_on_the_restored_rng_state(data_overrides, tmp_path):
    """Guards the test above: with another RNG state in last.pt, steps 5-8 come out different."""
    common = ["model=ar", "trainer.max_steps=8", "trainer.val_every=4", "trainer.warmup_steps=6"]
    full = run(make_cfg(data_overrides, tmp_path / "a", *common), tmp_path / "ra")
    half = run(make_cfg(data_overrides, tmp_path / "b", *common, "trainer.max_steps=4"), tmp_path / "rb1")
    ckpt = load_checkpoint(half.last_path)
    ckpt["rng"]["torch"] = torch.Generator().manual_seed(123).get_state()
    save_checkpoint(half.last_path, ckpt)
    resumed = run(make_cfg(data_overrides, tmp_path / "b", *common, "trainer.resume=true"), tmp_path / "rb2")
    a, b = train_rows(full.jsonl_path), train_rows(resumed.jsonl_path)
    assert all(a[s] == b[s] for s in range(1, 5)) and all(a[s] != b[s] for s in range(5, 9))


@pytest.mark.parametrize("model,extra", [("stats", []), ("nar", [])])
def test_resume_reuses_finished_runs(model, extra, data_overrides, tmp_path):
    """make train-all passes trainer.resume=true: a finished run (Stats, max_steps) must come
    back unchanged, not be trained (or counted) a second time."""
    cfg = make_cfg(data_overrides, tmp_path / "ckpt", f"model={model}", *extra)
    first = run(cfg, tmp_path / "r1")
    before = load_checkpoint(first.last_path)
    log_before = first.jsonl_path.read_text()
    again = run(make_cfg(data_overrides, tmp_path / "ckpt", f"model={model}", *extra, "trainer.resume=true"),
                tmp_path / "r2")
    after = load_checkpoint(again.last_path)
    assert after["step"] == before["step"] == again.step
    assert all(torch.equal(before["model"][k], after["model"][k]) for k in before["model"])
    assert again.jsonl_path.read_text() == log_before
    assert again.best_metric == first.best_metric


@pytest.mark.parametrize("model", ["cvae", "upsampler", "stats"])
def test_load_model_gives_identical_outputs(model, data_overrides, tmp_path):
    cfg = make_cfg(data_overrides, tmp_path / "ckpt", f"model={model}", "trainer.max_steps=3")
    train, val = load_split(cfg.data, "train"), load_split(cfg.data, "val")
    seed_everything(0)
    trained = build_model(cfg.model)
    result = fit(trained, train, val, cfg, tmp_path / "run")
    loaded, saved_cfg = load_model(result.last_path)
    assert saved_cfg.model.name == model and not loaded.training
    trained.eval()
    from torch_geometric.data import Batch

    batch = Batch.from_data_list(list(val))
    if model == "upsampler":
        colors = ground_truth_colors(batch)
        for x, y in zip(trained.residuals(batch, colors), loaded.residuals(batch, colors), strict=True):
            assert torch.equal(x, y)
    else:
        sampling = DecodingConfig(top_p=1.0)
        x = trained.generate(batch, sampling, generator=torch.Generator().manual_seed(3))
        y = loaded.generate(batch, sampling, generator=torch.Generator().manual_seed(3))
        assert all(torch.equal(p, q) for p, q in zip(x, y, strict=True))


def test_wandb_offline_run_lands_in_run_dir(data_overrides, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    cfg = make_cfg(data_overrides, tmp_path / "ckpt", "model=nar", "logger=wandb",
                   "trainer.max_steps=2", "trainer.val_every=2")
    run(cfg, tmp_path / "run")
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
    assert os.environ["WANDB_DIR"] == str(tmp_path / "run")


def test_max_minutes_stops_early_and_still_checkpoints(data_overrides, tmp_path):
    cfg = make_cfg(data_overrides, tmp_path / "ckpt", "model=nar", "trainer.max_minutes=0")
    result = run(cfg, tmp_path / "run")
    assert result.step == 1 and result.last_path.is_file() and result.best_path.is_file()
    # a run the clock stopped is not finished: resumed, it goes on to max_steps
    resumed = run(make_cfg(data_overrides, tmp_path / "ckpt", "model=nar", "trainer.max_minutes=null",
                           "trainer.resume=true"), tmp_path / "run2")
    assert resumed.step == cfg.trainer.max_steps > 1


def test_epoch_order_is_a_seeded_permutation_and_stream_resumes_mid_epoch():
    batches = epoch_batches(10, 4, seed=0, epoch=0)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(i for b in batches for i in b) == list(range(10))
    assert batches == epoch_batches(10, 4, seed=0, epoch=0)
    assert batches != epoch_batches(10, 4, seed=0, epoch=1)
    data = [torch.tensor([i]) for i in range(10)]
    from_start = batch_stream(data, 4, seed=0)
    whole = [next(from_start).tolist() for _ in range(7)]
    from_five = batch_stream(data, 4, seed=0, start_step=5)
    assert [next(from_five).tolist() for _ in range(2)] == whole[5:]


def test_lr_schedule_warms_up_then_decays():
    tr = {"lr": 1.0, "warmup_steps": 10, "schedule": "cosine", "min_lr": 0.1, "max_steps": 110}
    assert lr_at(5, tr) == pytest.approx(0.5)
    assert lr_at(10, tr) == pytest.approx(1.0)
    assert lr_at(60, tr) == pytest.approx(0.55)
    assert lr_at(110, tr) == pytest.approx(0.1)
    assert lr_at(50, {"lr": 0.3}) == 0.3


def test_save_checkpoint_replaces_atomically(tmp_path):
    path = tmp_path / "m" / "last.pt"
    save_checkpoint(path, {"step": 1})
    save_checkpoint(path, {"step": 2})
    assert load_checkpoint(path)["step"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]


@pytest.mark.parametrize(("rule", "metric", "mode"), [
    ("forward", "val/forward_rgb_acc", max), ("generate", "val/rgb_acc", max), ("f1", "val/f1_rgb", max),
    ("f1_present", "val/f1_rgb_present", max), ("fcd", "val/fcd_ratio", min), ("score", "val/score", max)])
def test_select_best_rule_picks_the_named_metric(rule, metric, mode, data_overrides, tmp_path):
    """forward (official): teacher-forced AR accuracy picks best.pt; the others: greedy generation's
    accuracy, macro F, FCD ratio or combined score. Every rule's metric is reported either way."""
    cfg = make_cfg(data_overrides, tmp_path / "ckpt", "model=ar", f"trainer.select_best={rule}")
    result = run(cfg, tmp_path / "run")
    assert result.metric_name == metric
    val = [r for r in read_jsonl(result.jsonl_path) if metric in r]
    assert [r["step"] for r in val] == [3, 6]
    assert all(k in r for r in val for k in ("val/forward_rgb_acc", "val/rgb_acc", "val/f1_rgb", "val/fcd_text"))
    assert result.best_metric == mode(r[metric] for r in val)
    assert load_checkpoint(result.best_path)["best_metric"] == result.best_metric


def test_fcd_rules_need_two_validation_halves(data_overrides, tmp_path):
    cfg = make_cfg(data_overrides, tmp_path / "ckpt", "model=nar", "trainer.select_best=fcd", "trainer.val_max_pages=3")
    with pytest.raises(ValueError, match="at least 4 validation pages"):
        run(cfg, tmp_path / "run")


@pytest.mark.parametrize("model", ["nar", "cvae"])
def test_validation_metrics_equal_eval_metrics(model, data_overrides, tmp_path):
    """What training validates is what eval computes on the same pages and checkpoint."""
    from colorgen.evaluation import generate_split, score
    from colorgen.training.loop import validation_halves, validation_score

    cfg = make_cfg(data_overrides, tmp_path / "ckpt", f"model={model}", "trainer.select_best=score")
    result = run(cfg, tmp_path / "run")
    ckpt = load_checkpoint(result.best_path)
    val_set = load_split(cfg.data, "val")
    g = generate_split(load_model(result.best_path)[0], val_set, DecodingConfig(), seed=int(cfg.seed),
                       batch_size=int(cfg.trainer.batch_size))
    g.is_test2 = validation_halves(len(val_set))
    evaluated = score(g)
    validated = ckpt["metrics"]
    for key in ("acc_rgb", "acc_alpha", "f1_rgb", "f1_rgb_present", "f1_alpha", "fcd_bg", "fcd_text",
                "fcd_bg_real", "fcd_text_real"):
        name = {"acc_rgb": "rgb_acc", "acc_alpha": "alpha_acc"}.get(key, key)
        assert validated[f"val/{name}"] == pytest.approx(evaluated[key], rel=1e-9, abs=1e-12), key
    ratio, combined = validation_score(evaluated)
    assert validated["val/fcd_ratio"] == pytest.approx(ratio) and validated["val/score"] == pytest.approx(combined)
    assert validated["val/fcd_text_real"] > 0  # both halves had pages


# switches that change the training steps themselves (the loss rows); then those that change only
# what is validated and kept
STEP_SWITCHES = ["trainer.augment.hue_rotation=1.0", "trainer.loss.label_smoothing=0.05",
                 "trainer.loss.neighbour_smoothing=0.1", "trainer.loss.class_balance=0.999",
                 "trainer.loss.focal_gamma=2.0", "trainer.loss.legibility=1.0", "trainer.encoder_reg.drop_path=0.2",
                 "trainer.encoder_reg.dropout=0.1", "trainer.dropout_rng=bits", "trainer.precision=bf16"]
ALL_SWITCHES = [*STEP_SWITCHES, "trainer.ema=0.9", "trainer.select_best=score"]


@pytest.mark.parametrize("switch", [*STEP_SWITCHES, "trainer.dropout_rng=pcg"])
def test_each_switch_changes_training(switch, data_overrides, tmp_path):
    common = ["model=nar", "trainer.max_steps=1", "trainer.val_every=1", "trainer.val_generate=false"]
    plain = run(make_cfg(data_overrides, tmp_path / "a", *common), tmp_path / "ra")
    switched = run(make_cfg(data_overrides, tmp_path / "b", *common, switch), tmp_path / "rb")
    assert train_rows(plain.jsonl_path)[1] != train_rows(switched.jsonl_path)[1]
    wa, wb = load_checkpoint(plain.last_path)["model"], load_checkpoint(switched.last_path)["model"]
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)


OFFICIAL_DATA = Path(os.environ.get("COLORGEN_OFFICIAL_FIXTURE", ROOT.parent / "shared" / "webcolor" / "official_fixture")) / "data"


@pytest.mark.skipif(not (OFFICIAL_DATA / "webcolor_v1.1.hdf5").is_file(), reason=f"real-page fixture data not at {OFFICIAL_DATA}")
@pytest.mark.parametrize("model", ["ar", "nar", "cvae", "upsampler"])
def test_smoke_run_with_every_switch_on_real_pages(model, tmp_path_factory, tmp_path):
    cache = tmp_path_factory.getbasetemp() / "official_data_cache"
    data = ["data=webcolor", f"data.root={OFFICIAL_DATA}", f"data.cache_dir={cache}"]
    cfg = make_cfg(data, tmp_path / "ckpt", f"model={model}", *ALL_SWITCHES)
    result = run(cfg, tmp_path / "run")
    losses = train_rows(result.jsonl_path)
    assert sorted(losses) == list(range(1, cfg.trainer.max_steps + 1))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert result.best_path.is_file()
    if model != "upsampler":
        assert result.metric_name == "val/score" and result.best_metric == result.best_metric  # not NaN


@pytest.mark.parametrize("rng", ["bits", "pcg"])
def test_resume_with_switches_continues_identically(rng, data_overrides, tmp_path):
    """Augmentation (seeded by step), drop-path and dropout words (global RNG, saved) keep resumed runs bit-identical."""
    switches = [s for s in ALL_SWITCHES[:-1] if not s.startswith("trainer.dropout_rng=")]
    common = ["model=nar", "trainer.max_steps=8", "trainer.val_every=4", "trainer.val_generate=false",
              *switches, f"trainer.dropout_rng={rng}"]
    full = run(make_cfg(data_overrides, tmp_path / "a", *common), tmp_path / "ra")
    run(make_cfg(data_overrides, tmp_path / "b", *common, "trainer.max_steps=4"), tmp_path / "rb1")
    resumed = run(make_cfg(data_overrides, tmp_path / "b", *common, "trainer.resume=true"), tmp_path / "rb2")
    assert train_rows(full.jsonl_path) == train_rows(resumed.jsonl_path)
    avg_full, avg_resumed = (load_checkpoint(r.last_path)["ema"]["model"] for r in (full, resumed))
    assert all(torch.equal(avg_full[k], avg_resumed[k]) for k in avg_full)


def test_weight_average_is_what_validation_scores_and_best_keeps(data_overrides, tmp_path):
    """``trainer.ema``: the average follows its formula, differs from the raw weights, is the
    model validated (its metrics are best.pt's), and a run with it off keeps no average."""
    from colorgen.training import validate
    from colorgen.training.ema import WeightAverage

    lin = torch.nn.Linear(2, 1)
    avg = WeightAverage(lin, 0.9)
    before = avg.model.weight.clone()
    with torch.no_grad():
        lin.weight.add_(1.0)
    avg.update(lin)  # first update: rate min(0.9, 1 / 10) = 0.1
    assert torch.allclose(avg.model.weight, 0.1 * before + 0.9 * lin.weight)
    assert avg.rate() == pytest.approx(2 / 11)
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(lin, 1.0)

    common = ["model=nar", "trainer.max_steps=6", "trainer.val_every=6", "trainer.select_best=generate"]
    cfg = make_cfg(data_overrides, tmp_path / "a", *common, "trainer.ema=0.5")
    on = run(cfg, tmp_path / "ra")
    last, best = load_checkpoint(on.last_path), load_checkpoint(on.best_path)
    raw, averaged = last["model"], last["ema"]["model"]
    assert last["ema"]["updates"] == 6 and any(not torch.equal(raw[k], averaged[k]) for k in raw)
    assert best["step"] == 6 and all(torch.equal(best["model"][k], averaged[k]) for k in averaged)
    model = build_model(cfg.model)
    model.load_state_dict(best["model"])
    val = load_split(cfg.data, "val")
    tr = cfg.trainer
    again = validate(model, val, tr.batch_size, torch.device("cpu"), tr.seed, tr.val_max_pages, "generate")
    assert again["val/rgb_acc"] == best["metrics"]["val/rgb_acc"]
    off = run(make_cfg(data_overrides, tmp_path / "b", *common), tmp_path / "rb")
    assert load_checkpoint(off.last_path)["ema"] is None


def test_ablation_runner_tabulates_seeds(data_overrides, tmp_path):
    """Two variants x two seeds: per-seed best.pt metrics, mean ± sample std, markdown + JSON."""
    import json

    import numpy as np

    from colorgen.ablate import load_variants, main

    spec = tmp_path / "variants.yaml"
    spec.write_text("plain: []\nhue: [trainer.augment.hue_rotation=1.0, trainer.select_best=f1]\n")
    assert list(load_variants(spec)) == ["plain", "hue"]
    with pytest.raises(ValueError, match="no variant named"):
        load_variants(spec, ["nope"])
    args = ["--variants", str(spec), "--seeds", "0", "1", "--out", str(tmp_path / "out"), "--work", str(tmp_path / "w"),
            "model=nar", "trainer=smoke", *data_overrides, "trainer.max_steps=2", "trainer.val_every=2"]
    main(args)
    table = json.loads((tmp_path / "out/ablation.json").read_text())["variants"]
    assert [r["seed"] for r in table["hue"]["runs"]] == [0, 1] and table["hue"]["runs"][0]["select"] == "val/f1_rgb"
    accs = [r["metrics"]["val/rgb_acc"] for r in table["plain"]["runs"]]
    assert table["plain"]["summary"]["val/rgb_acc"]["mean"] == pytest.approx(np.mean(accs))
    assert table["plain"]["summary"]["val/rgb_acc"]["std"] == pytest.approx(np.std(accs, ddof=1))
    md = (tmp_path / "out/ablation.md").read_text()
    assert "| plain | 2 |" in md and "| hue | 2 |" in md
    main(args)  # a second call reuses the finished runs: same numbers
    assert json.loads((tmp_path / "out/ablation.json").read_text())["variants"] == table
