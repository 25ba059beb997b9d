"""The legibility term: the model's probability that a text is seen on a colour too close to it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES
from colorgen.models.base import generator_loss
from colorgen.models.style import StyleLogits
from colorgen.training.legibility import (
    CANVAS_CLASS,
    legibility_term,
    low_contrast_classes,
    seen_on,
)
from colorgen.training.losses import LossOptions, loss_options, options_from_cfg
from graph_fixtures import chain_page, mixed_batch

WHITE, BLACK, RED = CANVAS_CLASS, 0, 64 * 7  # rgb classes: bins (7,7,7), (0,0,0), (7,0,0)
SURE = 30.0  # a logit margin that makes a class certain to float precision


def certain(classes: list[int], k: int) -> torch.Tensor:
    return F.one_hot(torch.tensor(classes), k).float() * SURE


def chain(n: int, text: list[bool]) -> Batch:
    """A chain page (element i the child of i - 1) without background images, ``text`` marking texts."""
    page = chain_page(n, torch.Generator().manual_seed(0))
    page.has_text = torch.tensor(text)
    page.bgimg_feat = torch.zeros_like(page.bgimg_feat)
    return Batch.from_data_list([page])


def logits(text_rgb: list[int], bg_rgb: list[int], bg_alpha: list[int]) -> StyleLogits:
    n = len(text_rgb)
    return StyleLogits(certain(text_rgb, NUM_RGB_CLASSES), certain([7] * n, NUM_ALPHA_CLASSES),
                       certain(bg_rgb, NUM_RGB_CLASSES), certain(bg_alpha, NUM_ALPHA_CLASSES))


def test_low_contrast_classes_are_symmetric_and_hold_every_class_against_itself() -> None:
    k = low_contrast_classes(1.5)
    assert torch.equal(k, k.t()) and bool((k.diag() == 1).all())
    assert k[WHITE, BLACK] == 0 and k[WHITE, WHITE - 1] == 1  # (7,7,6) is near white


def test_content_is_seen_on_the_nearest_visible_background_or_the_canvas() -> None:
    batch = chain(3, [False, False, True])
    # root opaque red, then two transparent boxes (the data write transparent as black, alpha 0)
    q = seen_on(certain([RED, BLACK, BLACK], NUM_RGB_CLASSES), certain([7, 0, 0], NUM_ALPHA_CLASSES), batch)
    assert torch.allclose(q, F.one_hot(torch.tensor([RED] * 3), NUM_RGB_CLASSES).float(), atol=1e-6)
    q = seen_on(certain([BLACK] * 3, NUM_RGB_CLASSES), certain([0, 0, 0], NUM_ALPHA_CLASSES), batch)
    assert torch.allclose(q, F.one_hot(torch.tensor([WHITE] * 3), NUM_RGB_CLASSES).float(), atol=1e-6)
    # an opaque black box is black, not transparency
    q = seen_on(certain([BLACK] * 3, NUM_RGB_CLASSES), certain([0, 7, 0], NUM_ALPHA_CLASSES), batch)
    assert q[2].argmax() == BLACK and q[0].argmax() == WHITE


def test_term_is_one_for_hidden_text_zero_for_legible_and_pulls_the_background() -> None:
    batch = chain(2, [False, True])
    hidden = logits([WHITE, WHITE], [BLACK, BLACK], [0, 0])  # white text, nothing painted: white canvas
    assert legibility_term(hidden, batch).item() == pytest.approx(1.0, abs=1e-5)
    legible = logits([WHITE, BLACK], [BLACK, BLACK], [0, 0])
    assert legibility_term(legible, batch).item() == pytest.approx(0.0, abs=1e-5)
    soft = StyleLogits(*(t.clone().mul_(0.1).requires_grad_() for t in hidden))  # unsure: gradients flow
    legibility_term(soft, batch).backward()
    assert soft.text_rgb.grad[1].abs().sum() > 0 and soft.bg_alpha.grad[0].abs().sum() > 0
    assert soft.text_rgb.grad[0].abs().sum() == 0  # element 0 carries no text


def test_text_over_a_background_image_is_not_judged() -> None:
    batch = chain(2, [False, True])
    batch.bgimg_feat[0, 0] = 1.0  # the root carries a hero image
    hidden = logits([WHITE, WHITE], [BLACK, BLACK], [0, 0])
    assert legibility_term(hidden, batch).item() == 0.0


def test_switch_adds_the_weighted_term_to_the_loss_and_off_is_plain() -> None:
    batch = mixed_batch()
    gen = torch.Generator().manual_seed(0)
    n = batch.num_nodes
    lg = StyleLogits(*(torch.randn(n, k, generator=gen) for k in
                       (NUM_RGB_CLASSES, NUM_ALPHA_CLASSES, NUM_RGB_CLASSES, NUM_ALPHA_CLASSES)))
    plain = generator_loss(lg, batch)
    assert options_from_cfg({"legibility": 0.0, "legibility_ratio": 1.5}) is None
    with loss_options(LossOptions(legibility=0.5, legibility_ratio=2.0)):
        out = generator_loss(lg, batch)
    assert torch.equal(out["loss_rgb"], plain["loss_rgb"])
    expected = plain["loss"] + 0.5 * legibility_term(lg, batch, 2.0)
    assert torch.allclose(out["loss"], expected) and float(out["loss_legibility"]) > 0
    with pytest.raises(ValueError, match="legibility"):
        LossOptions(legibility=-1.0)


def test_what_lies_on_html_is_seen_on_body_colour_where_html_paints_none() -> None:
    """A fixed header above body's top margin lies on ``html``; where html paints nothing CSS shows
    body's background there (the contrast model's canvas rule), so white text on it is legible on
    a dark body, and hidden where html paints white itself."""
    from test_contrast_model import fixed_header_page

    batch = Batch.from_data_list([fixed_header_page("rgba(0, 0, 0, 0)", "rgb(48, 77, 15)")])
    dark = 64 * 1 + 8 * 2 + 0  # bins (1, 2, 0)
    white_text = [WHITE] * 5
    clear_html = logits(white_text, [BLACK, dark, BLACK, BLACK, BLACK], [0, 7, 0, 0, 0])
    assert legibility_term(clear_html, batch).item() == pytest.approx(0.0, abs=1e-5)
    white_html = logits(white_text, [WHITE, dark, BLACK, BLACK, BLACK], [7, 7, 0, 0, 0])
    assert legibility_term(white_html, batch).item() == pytest.approx(0.5, abs=1e-5)  # the header's text
    q = seen_on(clear_html.bg_rgb, clear_html.bg_alpha, batch)
    assert int(q[0].argmax()) == dark and int(q[3].argmax()) == dark
