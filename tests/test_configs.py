"""Every entry point composes with every experiment and every model, and what it composes builds.

Like lightning-hydra-template's test_configs: a broken interpolation, a missing group or a
model config that no longer instantiates shows up here, in seconds, not after an hour of training.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from colorgen.browser import BrowserConfig
from colorgen.config_schema import GROUPS, schema_of
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
# the typed groups (colorgen.config_schema) and the entry points that compose them
BROWSER_ENTRIES = ("extract", "eval", "colorize")
DECODING_ENTRIES = ("train", "eval", "colorize")


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
    # or as an ensemble of several trained runs ("nar-ens3")
    members = 1 + len(cfg.get("ensemble") or [])
    base, _, constraint = cfg.row.partition("+")
    base = base.removesuffix(f"-ens{members}") if members > 1 else base
    assert base in PUBLISHED_BY_KEY, f"experiment {experiment}: row {cfg.row} is not built on a published row"
    assert constraint == (cfg.decoding.contrast or "")
    assert cfg.row == row_key(cfg.model.name, DecodingConfig.from_cfg(cfg.decoding), members)
    suffix = (f" ({members} seeds)" if members > 1 else "") + (f" + {constraint.upper()}" if constraint else "")
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


def _composition_error(entry: str, overrides: list[str]) -> str:
    """The text Hydra reports when composing fails (its message and the OmegaConf cause)."""
    with pytest.raises(ConfigCompositionException) as info:
        _compose(entry, overrides)
    chain, exc = [], info.value
    while exc is not None:
        chain.append(str(exc))
        exc = exc.__cause__
    return "\n".join(chain)


def test_typed_groups_are_the_entries_listed_here():
    for entry in ENTRIES:
        cfg = _compose(entry, [])
        assert ("browser" in cfg) == (entry in BROWSER_ENTRIES), entry
        assert ("decoding" in cfg) == (entry in DECODING_ENTRIES), entry


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_group_file_names_its_schema(group):
    """A new file in a typed group is typed too: it extends base_<group> before its own values."""
    for path in sorted((CONF / group).glob("*.yaml")):
        assert yaml.safe_load(path.read_text())["defaults"] == [f"base_{group}", "_self_"], path


BAD_SETTINGS = [  # (entries with the group, override, words the error must name)
    (BROWSER_ENTRIES, "browser.setle_ms=5", ["setle_ms", "BrowserSchema"]),  # misspelt key
    (BROWSER_ENTRIES, "browser.width=wide", ["wide", "browser.width"]),  # wrong type
    (BROWSER_ENTRIES, "browser.fake_clock=sometimes", ["sometimes", "browser.fake_clock"]),
    (DECODING_ENTRIES, "decoding.top_pp=0.8", ["top_pp", "DecodingSchema"]),  # misspelt key
    (DECODING_ENTRIES, "decoding.top_p=high", ["high", "decoding.top_p"]),  # wrong type
    (DECODING_ENTRIES, "decoding.top_k=1.5", ["1.5", "decoding.top_k"]),
]


@pytest.mark.parametrize(("entry", "override", "words"),
                         [(e, o, w) for entries, o, w in BAD_SETTINGS for e in entries])
def test_a_bad_typed_setting_fails_at_composition(entry, override, words):
    message = _composition_error(entry, [override])
    assert all(w in message for w in words), message


@pytest.mark.parametrize("entry", BROWSER_ENTRIES)
def test_good_overrides_and_interpolations_pass_the_schema_typed(entry):
    cfg = _compose(entry, ["data=registry", "browser.settle_ms=10", "browser.profile=mobile"])
    browser = BrowserConfig.from_cfg(cfg.browser)
    assert browser.settle_ms == 10 and browser.profile == "mobile"
    # cdn_shim is typed str | None and still an interpolation of the data group
    assert browser.cdn_shim == str(cfg.data.cdn_shim) and browser.cdn_shim
    assert BrowserConfig.from_cfg(_compose(entry, []).browser).cdn_shim is None
    if entry in DECODING_ENTRIES:
        dec = DecodingConfig.from_cfg(_compose(entry, ["decoding=top_p", "decoding.top_p=0.8", "decoding.contrast=aa"]).decoding)
        assert (dec.top_p, dec.contrast, dec.greedy) == (0.8, "aa", False)


def test_experiment_files_are_checked_by_the_schema_too(tmp_path):
    """A typo inside a config file (not only on the command line) fails at composition."""
    bad = tmp_path / "conf"
    shutil.copytree(CONF, bad)
    path = bad / "experiment" / "nar_aa.yaml"
    path.write_text(path.read_text().replace("decoding:\n", "decoding:\n  top_pp: 0.8\n", 1))
    assert "top_pp" in path.read_text()
    with initialize_config_dir(config_dir=str(bad), version_base="1.3"), pytest.raises(ConfigCompositionException) as info:
        compose("eval", ["experiment=nar_aa"])
    assert "top_pp" in str(info.value) + str(info.value.__cause__)


def test_from_cfg_checks_plain_dicts_with_the_same_schema():
    for cls in (BrowserConfig, DecodingConfig):  # the schema is the dataclass's fields, declared once
        assert set(schema_of(cls).__dataclass_fields__) >= {f for f in cls.__dataclass_fields__}
    assert BrowserConfig.from_cfg({"settle_ms": "10", "args": ["--x"]}) == BrowserConfig(settle_ms=10, args=("--x",))
    assert BrowserConfig.from_cfg(None) == BrowserConfig() == BrowserConfig.from_cfg({})
    with pytest.raises(ConfigKeyError, match="setle_ms"):
        BrowserConfig.from_cfg({"setle_ms": 5})
    with pytest.raises(ValidationError, match="wide"):
        BrowserConfig.from_cfg({"width": "wide"})
    with pytest.raises(ValueError, match="profile"):  # values the types allow but the class refuses
        BrowserConfig.from_cfg({"profile": "desktop"})
    assert DecodingConfig.from_cfg({"name": "top_p", "top_p": 0.9}) == DecodingConfig(top_p=0.9)
    with pytest.raises(ConfigKeyError, match="top_pp"):
        DecodingConfig.from_cfg({"top_pp": 0.9})
    with pytest.raises(ValidationError, match="high"):
        DecodingConfig.from_cfg({"top_p": "high"})


def test_make_spread_commands_compose() -> None:
    """`make spread` trains and evaluates with overrides Hydra accepts (seed, ckpt_dir, experiment)."""
    import shlex
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    out = subprocess.run(["make", "-n", "spread", "SEEDS=0 1", "DATA=webpages"], cwd=CONF.parent,
                         capture_output=True, text=True, check=True).stdout
    script = out.replace("\\\n", " ")
    calls = [c for c in script.split(";") if "-m colorgen." in c]
    entries = {}
    for call in calls:
        words = shlex.split(call.strip())
        i = words.index("-m")
        entries.setdefault(words[i + 1].removeprefix("colorgen."), []).append(
            [w for w in words[i + 2:] if "=" in w and not w.startswith(("|", "$"))])
    assert {"train", "eval", "spread"} <= set(entries)
    for entry in ("train", "eval"):
        for overrides in entries[entry]:
            overrides = [o.replace("$m", "nar").replace("$r", "nar").replace("$ck", "checkpoints/webpages/seeds/s1")
                         .replace("$s", "1") for o in overrides if not o.startswith("hydra.")]
            cfg = _compose(entry, overrides)
            assert cfg.seed == 1 and str(cfg.ckpt_dir) == "checkpoints/webpages/seeds/s1"


def test_the_contrast_bench_decodes_each_aa_row_as_its_experiment_does():
    import dataclasses

    from colorgen.bench.contrast import ROWS
    from colorgen.decoding import DecodingConfig

    for row, (_, plain, aa_settings) in ROWS.items():
        cfg = _compose("eval", [f"experiment={row}_aa"])
        assert DecodingConfig.from_cfg(cfg.decoding) == dataclasses.replace(plain, contrast="aa", **aa_settings), row
