"""Colour augmentation keeps a page's colour relations, its classes and its tree consistent."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from colorgen.data.colors import decode_to_values, encode_rgba
from colorgen.data.dataset import load_split
from colorgen.training.augment import (
    augment_batch,
    class_values,
    hue_rotate_batch,
    hue_rotation_matrix,
    rotate_colors,
)
from webcolor_fixtures import write_fixture_dataset

TREE_FIELDS = ("edge_index", "depth", "order", "tag", "has_text", "text_feat", "img_feat", "bgimg_feat", "batch")


def encoded(colors: list[tuple[int, int, int, float]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    enc = [encode_rgba(*c) for c in colors]
    return (torch.tensor([e.rgb for e in enc]), torch.tensor([e.alpha for e in enc]),
            torch.tensor([e.residual for e in enc], dtype=torch.float32))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    cfg = write_fixture_dataset(tmp_path_factory.mktemp("aug"), n_pages=24, seed=3)
    cfg.pop("pages")
    train = load_split(cfg, "train")
    return next(iter(DataLoader(train, batch_size=len(train), shuffle=False)))


def test_matrix_keeps_greys_and_is_identity_at_zero():
    m = hue_rotation_matrix(torch.tensor([0.0, 1.0, 4.0]))
    assert torch.allclose(m[0], torch.eye(3, dtype=torch.float64))
    assert torch.allclose(m.sum(-1), torch.ones(3, 3, dtype=torch.float64))  # rows sum to 1: greys are fixed


def test_rotation_changes_chromatic_colours_only():
    colors = [(255, 0, 0, 1.0), (30, 144, 255, 1.0), (128, 128, 128, 1.0), (255, 255, 255, 1.0),
              (0, 0, 0, 0.0), (200, 40, 90, 0.5)]
    rgb, alpha, res = encoded(colors)
    theta = torch.full((len(colors),), math.pi / 2, dtype=torch.float64)
    new_rgb, new_res = rotate_colors(rgb, alpha, res, theta)
    changed = (new_rgb != rgb) | (new_res != res).any(-1)
    assert changed.tolist() == [True, True, False, False, False, True]
    assert torch.equal(new_res[:, 3], res[:, 3])  # alpha residual untouched
    # classes and residuals agree with the codec: decoding and re-encoding gives them back
    values = decode_to_values(new_rgb.numpy(), alpha.numpy(), new_res.numpy())
    again = [encode_rgba(int(r), int(g), int(b), a / 255) for r, g, b, a in values]
    assert [e.rgb for e in again] == new_rgb.tolist()
    assert np.allclose([e.residual for e in again], new_res.numpy(), atol=1e-6)


def test_equal_colours_stay_equal_and_distinct_pages_differ(batch):
    gen = torch.Generator().manual_seed(0)
    before = {k: getattr(batch, k).clone() for k in ("text_rgb", "text_alpha", "text_res", "bg_rgb", "bg_alpha",
                                                     "bg_res", *TREE_FIELDS)}
    out = hue_rotate_batch(batch.clone(), 1.0, gen)
    for k in TREE_FIELDS:  # the tree and content are untouched
        assert torch.equal(getattr(out, k), before[k]), k
    for k in ("text_alpha", "bg_alpha"):
        assert torch.equal(getattr(out, k), before[k])
    t = before["has_text"]
    assert torch.equal(out.text_rgb[~t], before["text_rgb"][~t]) and torch.equal(out.text_res[~t], before["text_res"][~t])
    # per page: the map old colour -> new colour (text and background together) is a function
    old_v = torch.cat([class_values(before["text_rgb"][t], before["text_res"][t]),
                       class_values(before["bg_rgb"], before["bg_res"])])
    new_v = torch.cat([class_values(out.text_rgb[t], out.text_res[t]), class_values(out.bg_rgb, out.bg_res)])
    page = torch.cat([before["batch"][t], before["batch"]])
    mapping: dict[tuple, tuple] = {}
    for p, o, n in zip(page.tolist(), map(tuple, old_v.tolist()), map(tuple, new_v.tolist()), strict=True):
        assert mapping.setdefault((p, o), n) == n
        if o[0] == o[1] == o[2]:
            assert n == o  # greys stay grey
    assert (new_v != old_v).any()  # it did recolour
    assert out.bg_rgb.max() < 512 and out.bg_rgb.min() >= 0


def test_probability_zero_and_seeded_determinism(batch):
    same = hue_rotate_batch(batch.clone(), 0.0, torch.Generator().manual_seed(1))
    assert torch.equal(same.bg_rgb, batch.bg_rgb) and torch.equal(same.bg_res, batch.bg_res)
    a = augment_batch(batch.clone(), {"hue_rotation": 1.0}, seed=5, step=7)
    b = augment_batch(batch.clone(), {"hue_rotation": 1.0}, seed=5, step=7)
    c = augment_batch(batch.clone(), {"hue_rotation": 1.0}, seed=5, step=8)
    assert torch.equal(a.bg_rgb, b.bg_rgb) and torch.equal(a.bg_res, b.bg_res)
    assert not torch.equal(a.bg_res, c.bg_res)
    off = augment_batch(batch.clone(), {"hue_rotation": 0.0}, seed=5, step=7)
    assert torch.equal(off.bg_rgb, batch.bg_rgb)
    with pytest.raises(ValueError, match="hue_rotation"):
        hue_rotate_batch(batch.clone(), 1.5, torch.Generator())
