"""Loss switches: each equals its textbook definition, and all off is the plain cross-entropy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colorgen.data.colors import NUM_RGB_CLASSES
from colorgen.training.losses import (
    LossOptions,
    active_loss_options,
    class_loss,
    effective_number_weights,
    loss_options,
    options_from_cfg,
    rgb_neighbours,
)


@pytest.fixture
def logits_target():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, NUM_RGB_CLASSES, generator=gen)
    target = torch.randint(0, NUM_RGB_CLASSES, (50,), generator=gen)
    return logits, target


def test_all_off_is_plain_cross_entropy(logits_target):
    logits, target = logits_target
    plain = F.cross_entropy(logits, target)
    assert torch.equal(class_loss(logits, target, None, "rgb"), plain)
    assert torch.equal(class_loss(logits, target, LossOptions(), "rgb"), plain)
    assert options_from_cfg({"label_smoothing": 0.0, "focal_gamma": 0, "class_balance": 0.0}) is None


def test_label_smoothing_matches_torch(logits_target):
    logits, target = logits_target
    ours = class_loss(logits, target, LossOptions(label_smoothing=0.1), "rgb")
    assert torch.allclose(ours, F.cross_entropy(logits, target, label_smoothing=0.1), atol=1e-5)


def test_class_weights_match_torch(logits_target):
    logits, target = logits_target
    w = torch.rand(NUM_RGB_CLASSES, generator=torch.Generator().manual_seed(1)) + 0.1
    ours = class_loss(logits, target, LossOptions(rgb_weight=w), "rgb")
    assert torch.allclose(ours, F.cross_entropy(logits, target, weight=w), atol=1e-5)


def test_neighbours_are_the_adjacent_bins():
    index, weight = rgb_neighbours()
    kept = lambda c: sorted(int(i) for i, w in zip(index[c], weight[c], strict=True) if w > 0)  # noqa: E731
    assert kept(0) == [1, 8, 64]  # black: one step up in B, G or R
    centre = 64 * 3 + 8 * 4 + 5
    assert kept(centre) == sorted([centre - 1, centre + 1, centre - 8, centre + 8, centre - 64, centre + 64])
    assert torch.allclose(weight.sum(1), torch.ones(NUM_RGB_CLASSES))


def test_neighbour_smoothing_is_cross_entropy_with_soft_targets(logits_target):
    logits, target = logits_target
    nb = 0.2
    soft = torch.zeros_like(logits)
    for i, t in enumerate(target.tolist()):
        r, g, b = t // 64, (t // 8) % 8, t % 8
        near = [64 * (r + dr) + 8 * (g + dg) + (b + db) for dr, dg, db in
                ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))
                if 0 <= r + dr < 8 and 0 <= g + dg < 8 and 0 <= b + db < 8]
        soft[i, near] = nb / len(near)
        soft[i, t] = 1 - nb
    expected = F.cross_entropy(logits, soft)
    assert torch.allclose(class_loss(logits, target, LossOptions(neighbour_smoothing=nb), "rgb"), expected, atol=1e-5)
    # alpha has no neighbour term: only label smoothing / weights / focal act there
    alpha_logits, alpha_t = logits[:, :8], target % 8
    assert torch.allclose(class_loss(alpha_logits, alpha_t, LossOptions(neighbour_smoothing=nb), "alpha"),
                          F.cross_entropy(alpha_logits, alpha_t), atol=1e-6)


def test_focal_loss_downweights_easy_examples(logits_target):
    logits, target = logits_target
    gamma = 2.0
    p = F.softmax(logits, -1).gather(1, target[:, None])[:, 0]
    expected = ((1 - p) ** gamma * F.cross_entropy(logits, target, reduction="none")).mean()
    assert torch.allclose(class_loss(logits, target, LossOptions(focal_gamma=gamma), "rgb"), expected, atol=1e-6)
    easy = torch.zeros(1, NUM_RGB_CLASSES)
    easy[0, 7] = 10.0
    t = torch.tensor([7])
    assert class_loss(easy, t, LossOptions(focal_gamma=gamma), "rgb") < 1e-3 * F.cross_entropy(easy, t)


def test_effective_number_weights_favour_rare_classes():
    counts = torch.tensor([1000, 10, 0, 1])
    w = effective_number_weights(counts, 0.999)
    assert w[0] < w[1] < w[3] and w[2] == 0
    assert torch.isclose((w * counts).sum() / counts.sum(), torch.tensor(1.0))


def test_context_scopes_the_options():
    opts = LossOptions(label_smoothing=0.1)
    assert active_loss_options() is None
    with loss_options(opts):
        assert active_loss_options() is opts
        with loss_options(None):
            assert active_loss_options() is None
        assert active_loss_options() is opts
    assert active_loss_options() is None


@pytest.mark.parametrize("bad", [{"label_smoothing": -0.1}, {"label_smoothing": 0.6, "neighbour_smoothing": 0.5},
                                 {"focal_gamma": -1}, {"class_balance": 1.0}])
def test_bad_switches_are_named(bad):
    with pytest.raises(ValueError, match="trainer.loss"):
        options_from_cfg(bad, train_set=[])
