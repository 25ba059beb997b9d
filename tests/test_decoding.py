"""The shared decoding rule: greedy, top-k, top-p (nucleus), seeded sampling, configs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from colorgen.decoding import DecodingConfig, filter_top_k_top_p, sample

CONF = Path(__file__).resolve().parents[1] / "conf" / "decoding"
PROBS = torch.tensor([[0.05, 0.5, 0.15, 0.3]])  # sorted: 1 (0.5), 3 (0.3), 2 (0.15), 0 (0.05)


def kept(logits: torch.Tensor) -> set[int]:
    return set(torch.nonzero(torch.isfinite(logits[0])).flatten().tolist())


def test_top_k_keeps_exactly_the_k_best() -> None:
    logits = PROBS.log()
    assert kept(filter_top_k_top_p(logits, top_k=2, top_p=1.0)) == {1, 3}
    assert kept(filter_top_k_top_p(logits, top_k=10, top_p=1.0)) == {0, 1, 2, 3}
    assert kept(filter_top_k_top_p(logits, top_k=0, top_p=1.0)) == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("top_p", "expected"),
    [
        (0.0, {1}),
        (0.45, {1}),
        (0.6, {1, 3}),
        (0.9, {1, 3, 2}),
        (0.99, {0, 1, 2, 3}),
        (1.0, {0, 1, 2, 3}),
    ],
)
def test_top_p_keeps_smallest_set_reaching_p(top_p: float, expected: set[int]) -> None:
    assert kept(filter_top_k_top_p(PROBS.log(), top_p=top_p)) == expected


def test_top_k_then_top_p_and_input_untouched() -> None:
    logits = PROBS.log()
    before = logits.clone()
    out = filter_top_k_top_p(logits, top_k=3, top_p=0.99)  # top-k drops class 0 first
    assert kept(out) == {1, 2, 3}
    assert torch.equal(logits, before)


def test_greedy_is_argmax_and_ignores_the_generator() -> None:
    logits = torch.randn(4, 6, 512, generator=torch.Generator().manual_seed(0))
    a = sample(logits, DecodingConfig(), torch.Generator().manual_seed(1))
    b = sample(logits, DecodingConfig(), torch.Generator().manual_seed(2))
    assert a.shape == (4, 6) and a.dtype == torch.long
    assert torch.equal(a, logits.argmax(-1)) and torch.equal(a, b)
    assert torch.equal(sample(logits, DecodingConfig(top_k=1, top_p=1.0)), a)


def test_seeded_sampling_is_reproducible_and_seed_dependent() -> None:
    logits = torch.zeros(64, 512)
    cfg = DecodingConfig(top_p=1.0)
    a = sample(logits, cfg, torch.Generator().manual_seed(0))
    b = sample(logits, cfg, torch.Generator().manual_seed(0))
    c = sample(logits, cfg, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sampling_follows_the_distribution_and_never_picks_filtered_classes() -> None:
    logits = PROBS.log().expand(20000, -1)
    draws = sample(logits, DecodingConfig(top_p=1.0), torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=4).float() / draws.numel()
    assert torch.allclose(freq, PROBS[0], atol=0.02)
    nucleus = sample(logits, DecodingConfig(top_p=0.6), torch.Generator().manual_seed(0))
    assert set(nucleus.unique().tolist()) == {1, 3}
    assert math.isclose(float((nucleus == 1).float().mean()), 0.5 / 0.8, abs_tol=0.02)


def test_low_temperature_approaches_greedy() -> None:
    logits = torch.randn(32, 512, generator=torch.Generator().manual_seed(0))
    cold = sample(
        logits, DecodingConfig(top_p=1.0, temperature=1e-4), torch.Generator().manual_seed(0)
    )
    assert torch.equal(cold, logits.argmax(-1))


def test_invalid_configs_are_rejected() -> None:
    for bad in ({"top_k": -1}, {"top_p": 1.5}, {"top_p": -0.1}, {"temperature": 0.0}):
        with pytest.raises(ValueError):
            DecodingConfig(**bad)


@pytest.mark.parametrize(
    ("name", "top_p", "greedy"),
    [("greedy", 0.0, True), ("mode", 0.0, True), ("top_p", 0.9, False), ("sampling", 1.0, False)],
)
def test_decoding_yaml_files(name: str, top_p: float, greedy: bool) -> None:
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    assert cfg.name == name
    dec = DecodingConfig.from_cfg(cfg)
    assert dec.top_p == top_p and dec.top_k == 0 and dec.temperature == 1.0
    assert dec.greedy is greedy
    assert DecodingConfig.from_cfg(None) == DecodingConfig()


def test_rest_level_follows_contrast_and_its_switch():
    assert DecodingConfig().rest_level is None  # published: the renderer changes nothing
    assert DecodingConfig(contrast="aa").rest_level == "aa"
    assert DecodingConfig(contrast="AAA").rest_level == "aaa"
    assert DecodingConfig(contrast="aa", contrast_rest=False).rest_level is None
