"""Official WebColor Lightning checkpoints -> colorgen models (no official code involved).

An official ``.ckpt`` (written by the official LightningCLI) holds ``state_dict`` (every key
prefixed ``model.``) but no hyper-parameters: those live in the ``config.yaml`` that the CLI
wrote beside it (``model.class_path`` + ``model.init_args``). Without that file the sizes are
read off the tensor shapes, except ``nhead``, which no shape reveals (official default 8).

The mapping is strict: every official tensor must land on a colorgen tensor of the same shape
(or be a known derived buffer that is checked, then dropped), and every colorgen tensor must be
filled. Anything else is an error that names the key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import Tensor

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES
from colorgen.data.tags import NUM_TAGS
from colorgen.data.webcolor_format import IMG_FEAT_DIM, MAX_ELEMENTS, TEXT_FEAT_DIM

log = logging.getLogger(__name__)

PREFIX = "model."
LIGHTNING_KEYS = ("state_dict", "pytorch-lightning_version")

# official LightningModule class -> (colorgen model name, colorgen class)
CLASSES: dict[str, tuple[str, str]] = {
    "webcolor.lightning.generator.Stats": ("stats", "colorgen.models.Stats"),
    "webcolor.lightning.generator.NAR": ("nar", "colorgen.models.NAR"),
    "webcolor.lightning.generator.AR": ("ar", "colorgen.models.AR"),
    "webcolor.lightning.generator.CVAE": ("cvae", "colorgen.models.CVAE"),
    "webcolor.lightning.upsampler.Upsampler": ("upsampler", "colorgen.models.ColorUpsampler"),
}
# the official constructor defaults (webcolor.lightning.generator / upsampler)
OFFICIAL_DEFAULTS: dict[str, Any] = {
    "d_model": 256,
    "nhead": 8,
    "num_layers": 4,
    "dim_feedforward": 512,
    "norm_first": True,
    "disable_message_passing": False,
    "disable_residual": False,
    "coeff_kl": 0.1,
}
# init_args that are decoding settings in colorgen, not model arguments
DECODING_ARGS = ("top_k", "top_p", "sampling")


class OfficialCheckpointError(ValueError):
    """An official checkpoint that does not map onto a colorgen model; the message names why."""


def is_official_checkpoint(obj: Any) -> bool:
    """True for a Lightning checkpoint dict (what the official CLI writes), by its content."""
    return isinstance(obj, Mapping) and all(k in obj for k in LIGHTNING_KEYS) and "format" not in obj


def read_config_yaml(ckpt_path: str | os.PathLike) -> tuple[str, dict[str, Any]] | None:
    """``(class_path, init_args)`` from the ``config.yaml`` beside the checkpoint (or its run dir)."""
    ckpt_path = Path(ckpt_path)
    # LightningCLI writes config.yaml into the version dir; checkpoints sit in <version>/checkpoints/
    for cand in (ckpt_path.parent / "config.yaml", ckpt_path.parent.parent / "config.yaml"):
        if cand.is_file():
            cfg = OmegaConf.to_container(OmegaConf.load(cand), resolve=True)
            model = cfg.get("model") if isinstance(cfg, dict) else None
            if not isinstance(model, dict) or "class_path" not in model:
                raise OfficialCheckpointError(f"{cand} has no model.class_path (not a LightningCLI config)")
            return str(model["class_path"]), dict(model.get("init_args") or {})
    return None


def infer_config(state_dict: Mapping[str, Tensor]) -> tuple[str, dict[str, Any]]:
    """Model class and sizes from tensor shapes (when no config.yaml is at hand)."""
    keys = set(state_dict)
    if f"{PREFIX}freq_bg_rgb" in keys:
        return "webcolor.lightning.generator.Stats", {}
    if f"{PREFIX}tgt_mask" in keys or f"{PREFIX}bos" in keys:
        cls = "webcolor.lightning.generator.AR"
    elif f"{PREFIX}fc_mu.weight" in keys:
        cls = "webcolor.lightning.generator.CVAE"
    elif f"{PREFIX}style_decoder.fc_res.weight" in keys:
        cls = "webcolor.lightning.upsampler.Upsampler"
    elif f"{PREFIX}style_decoder.fc_rgb.weight" in keys:
        cls = "webcolor.lightning.generator.NAR"
    else:
        raise OfficialCheckpointError("cannot tell the official model class from the state_dict keys")
    linear1 = sorted(k for k in keys if k.endswith("linear1.weight"))
    if not linear1:
        raise OfficialCheckpointError("no Transformer layer (linear1.weight) in the state_dict")
    enc_layers = {k.split("layers.")[1].split(".")[0] for k in linear1 if "decoder." not in k}
    args = {
        "d_model": int(state_dict[f"{PREFIX}content_encoder.h_leaf"].shape[-1]),
        "nhead": OFFICIAL_DEFAULTS["nhead"],
        "num_layers": len(enc_layers),
        "dim_feedforward": int(state_dict[linear1[0]].shape[0]),
    }
    return cls, args


def colorgen_model_config(class_path: str, init_args: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved colorgen ``model`` config (``_target_`` + arguments) of an official model."""
    if class_path not in CLASSES:
        raise OfficialCheckpointError(f"unknown official model class {class_path!r}; known: {sorted(CLASSES)}")
    name, target = CLASSES[class_path]
    if name == "stats":
        return {"name": name, "_target_": target}
    args = {**OFFICIAL_DEFAULTS, **init_args}
    unknown = set(init_args) - set(OFFICIAL_DEFAULTS) - set(DECODING_ARGS)
    if unknown:
        raise OfficialCheckpointError(f"{class_path}: unknown init_args {sorted(unknown)}")
    if not args["norm_first"]:
        raise OfficialCheckpointError(f"{class_path}: norm_first=False (post-norm) is not supported")
    cfg: dict[str, Any] = {
        "name": name,
        "_target_": target,
        "d_model": int(args["d_model"]),
        "n_layers": int(args["num_layers"]),
        "n_heads": int(args["nhead"]),
        "d_ff": int(args["dim_feedforward"]),
        "dropout": 0.1,  # nn.Transformer's default, which the official code keeps
        "encoder": {
            "share_updown_mlp": True,
            "message_passing": not bool(args["disable_message_passing"]),
            "residual": not bool(args["disable_residual"]),
        },
    }
    if name in ("nar", "upsampler"):
        cfg["final_norm"] = False  # official: nn.TransformerEncoder without a norm
    if name == "cvae":
        cfg["kl_weight"] = float(args["coeff_kl"])
    if name == "ar":
        cfg["incremental"] = True
    return cfg


def decoding_of(class_path: str, init_args: Mapping[str, Any]) -> dict[str, Any]:
    """The decoding the official ``test`` command uses with these init_args."""
    if class_path.endswith(".Stats"):
        sampling = bool(init_args.get("sampling", True))
        return {"name": "sampling" if sampling else "mode", "top_k": 0, "top_p": 1.0 if sampling else 0.0}
    if class_path.endswith(".AR"):
        return {"name": "top_p", "top_k": int(init_args.get("top_k", 0)), "top_p": float(init_args.get("top_p", 0.0))}
    return {"name": "greedy", "top_k": 0, "top_p": 0.0}


def _check_causal_mask(mask: Tensor) -> None:
    n = mask.size(-1)
    want = torch.triu(torch.full((n, n), float("-inf"), dtype=mask.dtype), diagonal=1)
    if mask.shape != (n, n) or not torch.equal(mask, want):
        raise OfficialCheckpointError("model.tgt_mask is not the 0/-inf causal mask colorgen applies")


def map_state_dict(
    official: Mapping[str, Tensor], expected: Mapping[str, Tensor]
) -> dict[str, Tensor]:
    """Official ``state_dict`` -> colorgen state dict for a model whose own state is ``expected``.

    Strips ``model.``; checks and drops AR's ``tgt_mask`` (colorgen builds its causal mask on
    the fly) and Stats' ``_dummy``. Every other tensor must match a colorgen key and shape.
    """
    out: dict[str, Tensor] = {}
    for key, value in official.items():
        if not key.startswith(PREFIX):
            raise OfficialCheckpointError(f"state_dict key {key!r} lacks the {PREFIX!r} prefix")
        name = key[len(PREFIX) :]
        if name == "tgt_mask":
            _check_causal_mask(value)
            continue
        if name == "_dummy":
            continue
        if name not in expected:
            raise OfficialCheckpointError(f"official tensor {key!r} {tuple(value.shape)} has no place in the colorgen model")
        if tuple(value.shape) != tuple(expected[name].shape):
            raise OfficialCheckpointError(
                f"official tensor {key!r} has shape {tuple(value.shape)}, colorgen expects {tuple(expected[name].shape)}"
            )
        out[name] = value.to(expected[name].dtype)
    missing = [k for k in expected if k not in out]
    if missing:
        raise OfficialCheckpointError(f"colorgen tensors missing from the official checkpoint: {missing}")
    return out


def official_config(ckpt_path: str | os.PathLike, state_dict: Mapping[str, Tensor]) -> tuple[str, dict[str, Any]]:
    """``(class_path, init_args)`` from config.yaml, else inferred from shapes (logged)."""
    found = read_config_yaml(ckpt_path)
    if found is not None:
        return found
    cls, args = infer_config(state_dict)
    log.warning(
        "no config.yaml beside %s: built %s from tensor shapes %s; nhead cannot be read from shapes, "
        "so the official default %d is assumed (put the LightningCLI config.yaml beside the checkpoint "
        "if the model used another)",
        ckpt_path, cls, args, OFFICIAL_DEFAULTS["nhead"],
    )
    return cls, args


def convert_official(ckpt: Mapping[str, Any], ckpt_path: str | os.PathLike) -> dict[str, Any]:
    """A colorgen checkpoint dict (see :mod:`colorgen.training.checkpoint`) from an official one."""
    from colorgen.training.checkpoint import build_model  # late: checkpoint imports this module

    state = ckpt["state_dict"]
    class_path, init_args = official_config(ckpt_path, state)
    model_cfg = colorgen_model_config(class_path, init_args)
    model = build_model(model_cfg)
    weights = map_state_dict(state, model.state_dict())
    return {
        "format": 1,
        "config": {
            "model": model_cfg,
            "decoding": decoding_of(class_path, init_args),
            "official": {"checkpoint": str(ckpt_path), "class_path": class_path, "init_args": dict(init_args)},
        },
        "model": weights,
        "step": int(ckpt.get("global_step", 0)),
        "optimizer": None,
        "rng": None,
        "best_metric": None,
        "metric_name": None,
        "metric_mode": None,
        "metrics": {},
        "stopped": "official",
    }


# ------------------------------------------------------------------ the official draw order
# The official ``test`` command draws its random numbers (Stats sampling, CVAE's z) from the
# global generator after ``seed_everything``; by then three things have consumed it, and a
# printed number that depends on the draws comes out only if we skip exactly as many 32-bit
# Mersenne-Twister words (torch's CPU generator): building the model (every ``nn.Linear``,
# ``nn.Embedding``, ``torch.rand`` parameter, and ``nn.Transformer``'s Xavier re-initialisation;
# stacked layers are deep copies and draw nothing), ``on_test_start``'s two Fréchet metrics
# (torchmetrics 0.11's FID probes a custom feature extractor with one random 1x3x299x299 uint8
# image each), and the test DataLoader's int64 base seed. Checked on the fixture's printed
# Stats (sampling) and CVAE rows (tests/test_official_fixture.py).

FID_PROBE_DRAWS = 2 * 3 * 299 * 299  # two FrechetColorDistance metrics, one dummy image each
LOADER_SEED_DRAWS = 2  # DataLoader's _base_seed: one int64 = two 32-bit words


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out  # kaiming-uniform weight + uniform bias, one word per value


def _normal(numel: int) -> int:
    if numel < 16:  # torch's scalar normal path caches a second sample: not a plain word count
        raise OfficialCheckpointError(f"cannot replay a normal_ draw of {numel} < 16 values")
    return numel + (16 if numel % 16 else 0)  # normal_fill redraws the last 16 when ragged


def _attention(d: int) -> int:
    return _linear(d, d) + 3 * d * d  # out_proj, then Xavier on the packed in-projection


def _encoder_layer(d: int, ff: int) -> int:
    return _attention(d) + _linear(d, ff) + _linear(ff, d)


def _decoder_layer(d: int, ff: int) -> int:
    return 2 * _attention(d) + _linear(d, ff) + _linear(ff, d)


def _transformer(d: int, ff: int, layers: int) -> int:
    """``nn.Transformer``: one layer of each stack built (the rest deep-copied), then Xavier on
    every matrix of every layer."""
    matrices = layers * (4 * d * d + 2 * d * ff) + layers * (8 * d * d + 2 * d * ff)
    return _encoder_layer(d, ff) + _decoder_layer(d, ff) + matrices


def construction_draws(class_path: str, init_args: Mapping[str, Any]) -> int:
    """32-bit words the official LightningModule's constructor takes from the global generator."""
    if class_path.endswith(".Stats"):
        return 1  # the optimizer's dummy parameter, torch.rand(1)
    args = {**OFFICIAL_DEFAULTS, **init_args}
    d, ff, layers = int(args["d_model"]), int(args["dim_feedforward"]), int(args["num_layers"])
    mlp = _linear(2 * d, d) + _linear(d, d)
    content = (_normal(MAX_ELEMENTS * d) + _normal(NUM_TAGS * d) + _linear(TEXT_FEAT_DIM, d) + 2 * _linear(IMG_FEAT_DIM, d)
               + 2 * (d + mlp))  # h_leaf / h_root (torch.rand) and the up / down MLPs
    style_encoder = _normal(NUM_RGB_CLASSES * d) + _normal(NUM_ALPHA_CLASSES * d) + 2 * _linear(2 * d, d) + d
    decoder_heads = 2 * _linear(d, d)
    generator_heads = decoder_heads + _linear(d, NUM_RGB_CLASSES) + _linear(d, NUM_ALPHA_CLASSES)
    if class_path.endswith(".NAR"):
        return content + generator_heads + _encoder_layer(d, ff)
    if class_path.endswith(".AR"):
        return content + style_encoder + generator_heads + _transformer(d, ff, layers) + d  # + bos
    if class_path.endswith(".CVAE"):
        vae = _linear(d, 2 * d) + 2 * _linear(2 * d, d)
        return content + style_encoder + generator_heads + _linear(2 * d, d) + _transformer(d, ff, layers) + vae
    if class_path.endswith(".Upsampler"):
        return content + style_encoder + decoder_heads + _linear(d, 4) + _linear(2 * d, d) + _encoder_layer(d, ff)
    raise OfficialCheckpointError(f"unknown official model class {class_path!r}")


def official_generator(official: Mapping[str, Any] | None, seed: int = 0) -> torch.Generator:
    """A CPU generator in the state the official ``test`` loop starts drawing from.

    ``official``: the ``config.official`` record of a converted official checkpoint
    (``class_path``, ``init_args``). Its draws then equal the official run's when the pages come
    in the official test order and batch size (``batch_size=`` the official ``--data.batch_size``).
    """
    if not official or "class_path" not in official:
        raise OfficialCheckpointError(
            "rng=official replays the official model's construction draws: it needs an official "
            "Lightning checkpoint (ckpt=<official .ckpt>), not a colorgen one"
        )
    skip = construction_draws(str(official["class_path"]), dict(official.get("init_args") or {}))
    gen = torch.Generator().manual_seed(seed)
    torch.empty(skip + FID_PROBE_DRAWS + LOADER_SEED_DRAWS).uniform_(generator=gen)  # one word each
    return gen
