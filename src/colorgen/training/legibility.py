"""A legibility term for training (issue 14): how likely the model's own colours hide a text.

The learned rows colour their pages with per-element distributions that are decoded
independently: a heading gets white text (headings on dark heroes are common) while every box
under it stays transparent on the white canvas, and the text disappears. The audits count 0.55
such 1:1 texts a page for NAR against 0.08 on the real pages. Cross-entropy never sees the pair;
this term does. Per text element ``i`` that is not over a background image:

    q_i = a_i v_i + (1 - a_i) q_up(i)        (white canvas below the roots; below an html root
                                              with a body child, body's a v + (1 - a) white, the
                                              canvas CSS paints where html paints nothing)
    term_i = sum_{c, c'} p_text_i(c) K[c, c'] q_i(c')

where ``a_i = 1 - p(alpha = transparent)``, ``v_i = p(rgb | visible)`` (the rule of
:func:`colorgen.lookahead.visible_rgb_logp`), ``up`` the element each one is seen on
(:func:`colorgen.metrics.contrast.backdrop_of`) and ``K[c, c'] = 1`` where the class centres'
WCAG contrast is below ``ratio``. ``q_i`` is the model's probability that ``i``'s content is
seen on colour ``c'``, so the term is the probability that its text is drawn in a colour too close
to that: gradients reach the text head and every background below it. The loss is the mean term.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import Tensor

from colorgen.constrained import background_image
from colorgen.data.colors import NUM_RGB_CLASSES, decode_to_values
from colorgen.lookahead import BLACK, TRANSPARENT
from colorgen.metrics.contrast import (
    backdrop_of,
    canvas_pairs,
    contrast_ratio,
    depth_levels,
    parent_index,
    relative_luminance,
    under_background_image,
)

CANVAS_CLASS = NUM_RGB_CLASSES - 1  # white: the page canvas below the roots


@cache
def low_contrast_classes(ratio: float) -> Tensor:
    """``K [512, 512]`` float: 1 where two RGB classes' centres contrast less than ``ratio``."""
    centres = decode_to_values(np.arange(NUM_RGB_CLASSES), np.zeros(NUM_RGB_CLASSES, np.int64))[:, :3]
    lum = relative_luminance(torch.from_numpy(centres).double())
    return (contrast_ratio(lum[:, None], lum[None, :]) < ratio).float()


def seen_on(bg_rgb_logits: Tensor, bg_alpha_logits: Tensor, batch) -> Tensor:
    """``q [N, 512]``: the model's probability of the colour each element's content is seen on.

    ``a_i v_i`` is ``p(rgb)`` with the transparent mass ``p0`` taken off black, where the data put
    it (the rule of :func:`colorgen.lookahead.visible_rgb_logp`, differentiable and out of place).
    """
    up, forest_depth = backdrop_of(batch)
    p_rgb = bg_rgb_logits.float().softmax(1)
    p0 = bg_alpha_logits.float().softmax(1)[:, TRANSPARENT:TRANSPARENT + 1]
    own = torch.cat([(p_rgb[:, BLACK:BLACK + 1] - p0).clamp(min=0.0), p_rgb[:, BLACK + 1:]], 1)
    canvas = torch.zeros(NUM_RGB_CLASSES, device=own.device)
    canvas[CANVAS_CLASS] = 1.0
    root_below = canvas.expand(own.size(0), -1)
    pairs = canvas_pairs(batch)
    if pairs is not None:  # where html paints nothing the canvas shows body's colour (CSS, axe-core)
        html, body = (t.to(own.device)[~pairs.html_image.to(own.device)] for t in (pairs.html, pairs.body))
        root_below = root_below.index_put((html,), own[body] + p0[body] * canvas)
    q = own.new_zeros(own.shape)
    for level in depth_levels(forest_depth.to(own.device)):  # roots first: what lies below is known
        u = up[level]
        below = torch.where((u >= 0)[:, None], q[u.clamp(min=0)], root_below[level])
        q = q.index_put((level,), own[level] + p0[level] * below)  # out of place: autograd
    return q


def legibility_term(logits, batch, ratio: float = 1.5) -> Tensor:
    """Mean over the judged text elements of the probability that the text hides (see the module)."""

    has_text = batch.has_text.bool()
    parent = parent_index(batch.edge_index, batch.num_nodes)
    over_image = under_background_image(background_image(batch), parent, batch.depth).to(has_text.device)
    judged = has_text & ~over_image
    if not bool(judged.any()):
        return logits.text_rgb.sum() * 0.0
    q = seen_on(logits.bg_rgb, logits.bg_alpha, batch)[judged]
    p_text = logits.text_rgb[judged].float().softmax(1)
    k = low_contrast_classes(float(ratio)).to(p_text.device)
    return ((p_text @ k) * q).sum(1).mean()
