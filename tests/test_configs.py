"""Every entry point composes with every experiment and every model, and what it composes builds.

Like lightning-hydra-template's test_configs: a broken interpolation, a missing group or a
model config that no longer instantiates shows up here, in seconds, not after an hour of training.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from colorgen.browser import BrowserConfig
from colorgen.decoding import DecodingConfig
from colorgen.evaluation.rows import row_key
from colorgen.published import PUBLISHED_BY_KEY
from colorgen.training.checkpoint import build_model

CONF = Path(__file__).resolve().parents[1] / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
SIZES = sorted(p.stem for p in (CONF / "size").glob("*.yaml"))
# entry -> overrides it needs to compose (required values)
ENTRIES = {"train": [], "eval": [], "colorize": ["page=p"], "extract": [], "stats": []}
MODEL_ENTRIES = ("train", "eval", "colorize")


def _compose(entry: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(entry, [*ENTRIES[entry], *overrides], return_hydra_config=True)


def _check_common(cfg) -> None:
    for key in cfg:  # every interpolation resolves (hydra's own runtime keys exist only in a run)
        if key != "hydra":
            OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
    assert str(cfg.hydra.run.dir)
    assert Path(str(cfg.data.root)).parts[-1] == "webpages"
    if "browser" in cfg:
        BrowserConfig.from_cfg(OmegaConf.to_container(cfg.browser, resolve=True))


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_entry_points_compose_with_their_defaults(entry):
    _check_common(_compose(entry, []))


@pytest.mark.parametrize("entry", MODEL_ENTRIES)
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("size", SIZES)
def test_every_model_builds_for_every_entry_and_size(entry, model, size):
    cfg = _compose(entry, [f"model={model}", f"size={size}"])
    _check_common(cfg)
    built = build_model(cfg.model)
    if model != "stats":
        assert built.content_encoder.embed_tag.weight.shape[1] == cfg.size.d_model
    if "decoding" in cfg:
        DecodingConfig.from_cfg(cfg.decoding)


@pytest.mark.parametrize("entry", MODEL_ENTRIES)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_for_every_entry(entry, experiment):
    prefix = "" if entry == "eval" else "+"  # eval has an experiment slot; the others take it added
    cfg = _compose(entry, [f"{prefix}experiment={experiment}"])
    _check_common(cfg)
    build_model(cfg.model)
    # a row is a published row, or a published row with a decoding constraint of ours ("nar+aa")
    base, _, constraint = cfg.row.partition("+")
    assert base in PUBLISHED_BY_KEY, f"experiment {experiment}: row {cfg.row} is not built on a published row"
    assert constraint == (cfg.decoding.contrast or "")
    assert cfg.row == row_key(cfg.model.name, DecodingConfig.from_cfg(cfg.decoding))
    suffix = f" + {constraint.upper()}" if constraint else ""
    assert cfg.label == PUBLISHED_BY_KEY[base].label + suffix  # the row's name as the table prints it


def test_trainer_presets_pick_their_size_and_the_command_line_wins():
    for trainer in ("cpu", "paper", "smoke"):
        assert _compose("train", [f"trainer={trainer}"]).model.d_model == _compose("train", [f"size={trainer}"]).size.d_model
    assert _compose("train", ["trainer=paper", "size=smoke"]).model.d_model == 32


def test_browser_is_one_group_for_every_entry():
    browsers = {e: OmegaConf.to_container(_compose(e, []).browser, resolve=True) for e in ("extract", "colorize")}
    browsers["eval.visual"] = OmegaConf.to_container(_compose("eval", []).visual.browser, resolve=True)
    assert len({repr(sorted(b.items())) for b in browsers.values()}) == 1
    # equal to BrowserConfig's defaults, so renders cached before the group existed stay valid
    assert BrowserConfig.from_cfg(browsers["extract"]) == BrowserConfig()


def test_makefile_rows_are_the_experiment_files():
    """The Makefile evaluates conf/experiment/*.yaml: every published row has one."""
    rows = {yaml.safe_load((CONF / "experiment" / f"{e}.yaml").read_text())["row"] for e in EXPERIMENTS}
    assert set(PUBLISHED_BY_KEY) <= rows
    makefile = (CONF.parent / "Makefile").read_text()
    assert "$(wildcard conf/experiment/*.yaml)" in makefile
