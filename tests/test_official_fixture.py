"""Parity with the official WebColor code, on its golden fixture (../shared/webcolor/official_fixture).

Official Lightning checkpoints go through colorgen's own loader (``load_model``), the inputs
through colorgen's own data loader; every golden tensor and every deterministic printed
``test`` metric must come out within the fixture's stated tolerances
(``|a - b| <= 1e-4 + 1e-5 |golden|`` for floats, exact for integers).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from colorgen.data.batching import make_loader
from colorgen.data.dataset import load_split
from colorgen.models.base import ground_truth_colors
from colorgen.models.official import OfficialCheckpointError, infer_config, read_config_yaml
from colorgen.training.checkpoint import load_checkpoint, load_model

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(os.environ.get(
    "COLORGEN_OFFICIAL_FIXTURE", ROOT.parent / "shared" / "webcolor" / "official_fixture"))
CKPT = FIXTURE / "checkpoints"
GOLDEN = FIXTURE / "golden"
KEYS = ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")

pytestmark = pytest.mark.skipif(not (GOLDEN / "index.json").is_file(),
                                reason=f"official fixture not found at {FIXTURE} (set COLORGEN_OFFICIAL_FIXTURE)")


def golden(name: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / f"{name}.npz") as z:
        return {k: z[k] for k in z.files}


def assert_close(name: str, ours, gold: np.ndarray) -> None:
    a = np.asarray(ours.detach().numpy() if isinstance(ours, torch.Tensor) else ours, dtype=np.float64)
    g = np.asarray(gold, dtype=np.float64)
    assert a.shape == g.shape, f"{name}: shape {a.shape} != golden {g.shape}"
    diff = np.abs(a - g)
    bad = diff > 1e-4 + 1e-5 * np.abs(g)
    assert not bad.any(), f"{name}: {int(bad.sum())} values off, max abs diff {diff.max():.3g}"


def assert_argmax(name: str, logits: torch.Tensor, gold_pred: np.ndarray, gold_logits: np.ndarray) -> None:
    """Equal classes wherever the golden top-1/top-2 margin exceeds the float tolerance."""
    top2 = np.sort(gold_logits, axis=-1)[:, -2:]
    decided = (top2[:, 1] - top2[:, 0]) > 1e-4
    pred = logits.argmax(-1).numpy()
    off = np.flatnonzero((pred != gold_pred) & decided)
    assert not len(off), f"{name}: argmax differs at rows {off[:10].tolist()}"


@pytest.fixture(scope="module")
def data_cfg(tmp_path_factory) -> dict:
    return {"name": "webcolor", "root": str(FIXTURE / "data"), "hdf5": "webcolor_v1.1.hdf5",
            "split_file": "webcolor_split_v1.1.json", "cache_dir": str(tmp_path_factory.mktemp("cache"))}


@pytest.fixture(scope="module")
def batches(data_cfg) -> list:
    """The official test batching: test1 then test2, batches of 8, no shuffle."""
    return list(make_loader(load_split(data_cfg, "test"), 8))


def per_batch(batches, fn) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([fn(b) for b in batches])


def model(name: str):
    return load_model(CKPT / name / "last.ckpt")[0]


def test_inputs_equal_the_official_loader(batches):
    gold = golden("inputs")
    fields = {"order": "node_order", "tag": "node_tag", "text_feat": "node_text_feat",
              "img_feat": "node_img_feat", "bgimg_feat": "node_bgimg_feat", "has_text": "node_has_text",
              "text_rgb": "node_text_rgb", "text_alpha": "node_text_alpha", "bg_rgb": "node_bg_rgb",
              "bg_alpha": "node_bg_alpha", "text_res": "node_text_res", "bg_res": "node_bg_res"}
    for ours, theirs in fields.items():
        a = per_batch(batches, lambda b, k=ours: getattr(b, k)).numpy()
        assert a.dtype == gold[theirs].dtype and np.array_equal(a, gold[theirs]), ours
    assert [p for b in batches for p in b.page_id] == gold["page_id"].tolist()
    assert np.array_equal(~per_batch(batches, lambda b: b.is_test2).numpy(), gold["page_is_test1"])
    assert [b.num_nodes for b in batches] == gold["batch_num_nodes"].tolist()
    assert [int(torch.bincount(b.batch).max()) for b in batches] == gold["batch_L_max"].tolist()
    parent = np.full(sum(b.num_nodes for b in batches), -1)
    offset = 0
    for b in batches:  # edges child -> parent, as element ids within the page
        child, par = b.edge_index.numpy()
        parent[offset + child] = par - b.ptr[b.batch[child]].numpy()
        offset += b.num_nodes
    assert np.array_equal(parent, gold["node_parent"])


def test_content_encoder_intermediates_and_output(batches):
    enc = model("NAR").content_encoder
    gold = golden("content_encoder")
    from colorgen.models.content_encoder import tree_levels

    def passes(b):
        h = enc.embed(b)
        u, d = enc.passes(h, tree_levels(b.edge_index, b.depth, h.size(0)))
        return torch.stack([h, u, d, enc(b)])

    out = per_batch(batches, lambda b: passes(b).transpose(0, 1))
    for i, key in enumerate(("emb_max", "bottom_up", "top_down", "output")):
        assert_close(f"content_encoder.{key}", out[:, i], gold[key])


def test_nar_logits_and_predictions(batches):
    nar, gold = model("NAR"), golden("nar")
    assert not any(k.startswith("transformer.norm") for k in nar.state_dict())  # official: no final norm
    logits = [nar.logits(b) for b in batches]
    preds = [nar.generate(b) for b in batches]
    for i, k in enumerate(KEYS):
        lg = torch.cat([x[i] for x in logits]).detach()
        assert_close(f"nar.logit_{k}", lg, gold[f"logit_{k}"])
        assert_argmax(f"nar.pred_{k}", lg, gold[f"pred_{k}"], gold[f"logit_{k}"])
        pred = torch.cat([p[i] for p in preds]).numpy()
        assert np.array_equal(pred, lg.argmax(-1).numpy()), f"nar generate != argmax ({k})"


def test_ar_teacher_forcing_and_greedy(batches):
    ar, gold = model("AR"), golden("ar")
    tf = [ar.teacher_forcing_logits(b) for b in batches]
    with torch.no_grad():
        greedy = [ar.generate(b) for b in batches]
    for i, k in enumerate(KEYS):
        assert_close(f"ar.tf_logit_{k}", torch.cat([x[i] for x in tf]), gold[f"tf_logit_{k}"])
        pred = torch.cat([g[i] for g in greedy]).numpy()
        assert np.array_equal(pred, gold[f"greedy_pred_{k}"]), f"ar.greedy_pred_{k}: {int((pred != gold[f'greedy_pred_{k}']).sum())} differ"


def test_ar_full_recompute_decoding_equals_the_cache(batches):
    ar, gold = model("AR"), golden("ar")
    ar.incremental = False  # the official way: re-run the decoder on the whole prefix
    with torch.no_grad():
        pred = torch.cat([ar.generate(b).text_rgb for b in batches[:1]]).numpy()
    assert np.array_equal(pred, gold["greedy_pred_text_rgb"][: len(pred)])


def test_cvae_posterior_and_decoder(batches):
    cvae, gold = model("CVAE"), golden("cvae")
    mus, logvars, z_fixed, z_mu, offset = [], [], [], [], 0
    with torch.no_grad():
        for b in batches:
            content = cvae.content_encoder(b)
            mu, logvar = cvae.posterior(b, content)
            z = torch.from_numpy(gold["z_fixed"][offset : offset + b.num_nodes])
            offset += b.num_nodes
            mus.append(mu)
            logvars.append(logvar)
            z_fixed.append(cvae.decode(b, content, z))
            z_mu.append(cvae.decode(b, content, mu))
    assert_close("cvae.mu", torch.cat(mus), gold["mu"])
    assert_close("cvae.logvar", torch.cat(logvars), gold["logvar"])
    for prefix, outs in (("zfixed", z_fixed), ("zmu", z_mu)):
        for i, k in enumerate(KEYS):
            lg = torch.cat([x[i] for x in outs])
            assert_close(f"cvae.{prefix}_logit_{k}", lg, gold[f"{prefix}_logit_{k}"])
            assert_argmax(f"cvae.{prefix}_pred_{k}", lg, gold[f"{prefix}_pred_{k}"], gold[f"{prefix}_logit_{k}"])


def test_upsampler_residuals_and_losses(batches):
    up, gold = model("Upsampler"), golden("upsampler")
    assert not any(k.startswith("transformer.norm") for k in up.state_dict())
    with torch.no_grad():
        res = [up(b, ground_truth_colors(b)) for b in batches]
        losses = [up.loss(b) for b in batches]
    assert_close("upsampler.pred_text_res", torch.cat([r[0] for r in res]), gold["pred_text_res"])
    assert_close("upsampler.pred_bg_res", torch.cat([r[1] for r in res]), gold["pred_bg_res"])
    text = np.array([float(x["loss_text"]) for x in losses])
    bg = np.array([float(x["loss_bg"]) for x in losses])
    np.testing.assert_allclose(text, gold["batch_loss_text"], rtol=1e-6)
    np.testing.assert_allclose(bg, gold["batch_loss_bg"], rtol=1e-6)
    sizes = np.array([b.num_graphs for b in batches])
    printed = json.loads((GOLDEN / "test_metrics.json").read_text())["printed_by_official_test_command"]["Upsampler"]["printed"]
    epoch = float(((text + bg) * sizes).sum() / sizes.sum())
    assert epoch == pytest.approx(printed["test/upsampler_loss"], rel=1e-6)


def test_stats_tables_and_mode(batches):
    stats, gold = model("Stats"), golden("stats")
    for k in KEYS:
        assert np.array_equal(getattr(stats, f"freq_{k}").numpy(), gold[f"raw_freq_{k}"]), f"raw_freq_{k}"
        assert np.array_equal(stats.histograms(k).long().numpy(), gold[f"filled_freq_{k}"]), f"filled_freq_{k}"
    preds = [stats.generate(b) for b in batches]
    for i, k in enumerate(KEYS):
        assert np.array_equal(torch.cat([p[i] for p in preds]).numpy(), gold[f"mode_pred_{k}"]), f"mode_pred_{k}"


# -------------------------------------------------------------- printed metrics via the CLI

# (run, model, checkpoint, decoding, printed row, extra arguments): the last two rows draw random
# numbers, so they replay the official draw order (rng=official) at the official batch size
METRIC_RUNS = [("stats", "stats", "Stats", "mode", "Stats(sampling=False)", ()),
               ("nar", "nar", "NAR", "greedy", "NAR", ()),
               ("ar", "ar", "AR", "greedy", "AR", ()),
               ("stats_sampling", "stats", "Stats", "sampling", "Stats", ("rng=official", "batch_size=8")),
               ("cvae", "cvae", "CVAE", "greedy", "CVAE", ("rng=official", "batch_size=8"))]


# one interpreter runs the ``python -m colorgen.eval`` command lines (the same Hydra entry
# point, argv as typed) so that the imports are paid once
DRIVER = """
import sys, runpy
for argv in sys.argv[1:]:
    sys.argv = ["colorgen.eval", *argv.split("\\t")]
    runpy.run_module("colorgen.eval", run_name="__main__", alter_sys=False)
"""


@pytest.fixture(scope="module")
def eval_outputs(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("eval")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    runs = []
    for run, model_name, ckpt, decoding, _, extra in METRIC_RUNS:
        runs.append("\t".join([
            "data=webcolor", f"data.root={FIXTURE / 'data'}", f"data.cache_dir={tmp / 'cache'}",
            f"model={model_name}", f"ckpt={CKPT / ckpt / 'last.ckpt'}", f"decoding={decoding}", "logger=none",
            f"hydra.run.dir={tmp / run}", *extra]))
    proc = subprocess.run([sys.executable, "-c", DRIVER, *runs], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {run: json.loads((tmp / run / "metrics.json").read_text()) for run, *_ in METRIC_RUNS}


@pytest.mark.parametrize(("run", "model_name", "ckpt", "decoding", "row", "extra"), METRIC_RUNS, ids=[r[0] for r in METRIC_RUNS])
def test_eval_cli_prints_the_official_metrics(run, model_name, ckpt, decoding, row, extra, eval_outputs):
    ours = eval_outputs[run]
    official = json.loads((GOLDEN / "test_metrics.json").read_text())
    printed = official["printed_by_official_test_command"][row]["printed"]
    full = official["programmatic_full_precision"][row]
    for key in ("acc_rgb", "acc_alpha", "f1_rgb", "f1_alpha"):
        assert f"{key} {ours[key]:.3f}" == printed[key]
        assert ours[key] == pytest.approx(full[key], abs=1e-6)
    for key in ("fcd_bg", "fcd_text"):  # colorgen reports x1e3, as the official printout
        assert f"{key} {ours[key]:.3f} x 1e-3" == printed[key]
        assert ours[key] == pytest.approx(full[key] * 1e3, rel=1e-4)
    assert ours["pages"] == 32 and ours["steps"] == {"stats": 12}.get(model_name, 40)
    assert not list((FIXTURE / "data").glob("*cache*"))  # nothing written into the fixture


def test_official_rng_needs_an_official_checkpoint(tmp_path):
    from colorgen.models.official import OfficialCheckpointError, official_generator

    with pytest.raises(OfficialCheckpointError, match="official Lightning checkpoint"):
        official_generator(None)


def test_construction_draws_follow_torch_modules():
    """Each replayed count moves the generator exactly as building the torch modules does."""
    from colorgen.models import official as o

    def moves_by(build, words: int) -> bool:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            build()
            probe = torch.rand(4)
        g = torch.Generator().manual_seed(0)
        torch.empty(words).uniform_(generator=g)
        return torch.equal(torch.rand(4, generator=g), probe)

    nn = torch.nn
    d, ff = 16, 32
    assert moves_by(lambda: nn.Transformer(d, 2, 2, 2, ff, batch_first=True, norm_first=True), o._transformer(d, ff, 2))
    layer = lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 2, ff, batch_first=True), 3)  # noqa: E731
    assert moves_by(layer, o._encoder_layer(d, ff))  # stacked layers are copies
    assert moves_by(lambda: nn.Embedding(3, 7), o._normal(21))  # ragged: the last 16 drawn again
    assert moves_by(lambda: nn.Linear(5, 3), o._linear(5, 3))
    assert not moves_by(lambda: nn.Linear(5, 3), o._linear(5, 3) + 1)
    assert o.construction_draws("webcolor.lightning.generator.Stats", {}) == 1


# -------------------------------------------------------------- loading rules


def official_copy(tmp_path: Path, name: str, edit=None, config: bool = True) -> Path:
    """A copy of an official checkpoint (optionally with its state_dict edited)."""
    d = tmp_path / name
    d.mkdir()
    ckpt = torch.load(CKPT / name / "last.ckpt", map_location="cpu", weights_only=True)
    if edit is not None:
        edit(ckpt["state_dict"])
    torch.save(ckpt, d / "last.ckpt")
    if config:
        shutil.copy(CKPT / name / "config.yaml", d / "config.yaml")
    return d / "last.ckpt"


def test_renamed_tensor_is_an_error_naming_it(tmp_path):
    def rename(sd):
        sd["model.style_decoder.fc_rgb.weights"] = sd.pop("model.style_decoder.fc_rgb.weight")

    with pytest.raises(OfficialCheckpointError, match=r"model\.style_decoder\.fc_rgb\.weights"):
        load_model(official_copy(tmp_path, "NAR", rename))


def test_missing_tensor_is_an_error_naming_it(tmp_path):
    path = official_copy(tmp_path, "CVAE", lambda sd: sd.pop("model.fc_logvar.bias"))
    with pytest.raises(OfficialCheckpointError, match=r"fc_logvar\.bias"):
        load_model(path)


def test_leftover_final_norm_is_an_error(tmp_path):
    def add_norm(sd):
        sd["model.transformer.norm.weight"] = torch.ones(64)

    with pytest.raises(OfficialCheckpointError, match=r"model\.transformer\.norm\.weight"):
        load_model(official_copy(tmp_path, "Upsampler", add_norm))


def test_wrong_tgt_mask_is_an_error(tmp_path):
    def unmask(sd):
        sd["model.tgt_mask"] = torch.zeros(200, 200)

    with pytest.raises(OfficialCheckpointError, match="tgt_mask"):
        load_model(official_copy(tmp_path, "AR", unmask))


@pytest.mark.parametrize("name", ["Stats", "NAR", "AR", "CVAE", "Upsampler"])
def test_without_config_yaml_sizes_come_from_shapes(name, tmp_path, caplog):
    class_path, args = read_config_yaml(CKPT / name / "last.ckpt")
    state = torch.load(CKPT / name / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    inferred_class, inferred = infer_config(state)
    assert inferred_class == class_path
    for key, value in inferred.items():  # nhead is not in the shapes: the official default is assumed
        assert key == "nhead" or args[key] == value, key
    with caplog.at_level(logging.WARNING):
        model, cfg = load_model(official_copy(tmp_path, name, config=False))
    assert "no config.yaml" in caplog.text
    assert cfg.model._target_.endswith({"Upsampler": "ColorUpsampler"}.get(name, name))


def test_convert_round_trip(tmp_path, batches):
    from colorgen.convert import main

    out = tmp_path / "nar.pt"
    main([str(CKPT / "NAR" / "last.ckpt"), str(out)])  # the CLI's argv
    plain = torch.load(out, weights_only=True)  # a colorgen checkpoint: plain tensors and dicts
    assert plain["config"]["model"]["final_norm"] is False and plain["step"] == 40
    converted, official = load_model(out)[0], model("NAR")
    for a, b in zip(per_batch(batches[:2], lambda b: converted.logits(b).bg_rgb),
                    per_batch(batches[:2], lambda b: official.logits(b).bg_rgb), strict=True):
        assert torch.equal(a, b)
    assert load_checkpoint(CKPT / "NAR" / "last.ckpt")["step"] == 40


def test_not_an_official_checkpoint_is_refused(tmp_path):
    from colorgen.convert import convert

    path = tmp_path / "x.pt"
    torch.save({"state": 1}, path)
    with pytest.raises(ValueError, match="not an official"):
        convert(path, tmp_path / "y.pt")
