"""colorgen.lookahead: backgrounds chosen with the text they lie under in view."""

from __future__ import annotations

import torch
from torch_geometric.data import Batch

from colorgen.constrained import decode_tree, rendered_rgba
from colorgen.constrained import default_residuals as default_res
from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES
from colorgen.decoding import DecodingConfig
from colorgen.lookahead import LegibleLookup, _backdrop_maps
from colorgen.metrics.contrast import (
    contrast_ratio,
    effective_backgrounds,
    parent_index,
    text_contrast,
)
from graph_fixtures import mixed_batch, page_from_parents

WHITE = 511  # rgb class of (7, 7, 7)
BLACK = 0


def test_backdrop_maps_reproduce_the_effective_backgrounds() -> None:
    batch = mixed_batch(seed=3)
    n = batch.num_nodes
    g = torch.Generator().manual_seed(0)
    parent = parent_index(batch.edge_index, n)
    alpha = torch.where(torch.rand(n, generator=g) < 0.5, 0.0, torch.rand(n, generator=g))
    alpha[torch.rand(n, generator=g) < 0.15] = 1.0
    bg = torch.cat([255 * torch.rand(n, 3, generator=g, dtype=torch.float64), alpha.double()[:, None]], 1)
    text = batch.has_text.nonzero().squeeze(1)
    anc, txt, s, o, _ = _backdrop_maps(parent, batch.depth, bg, text)
    eff = effective_backgrounds(bg, parent, batch.depth)
    # the maps are linear; the effective backgrounds round each compositing step (axe-core's rule)
    steps = int(batch.depth.max()) + 1
    assert float((s[:, None] * eff[anc] + o - eff[txt]).abs().max()) <= 0.5 * steps
    assert bool((s > 0).all())
    # every ancestor up to (and including) the first opaque background above the text is there
    for j in text.tolist():
        expect, node, through = [j], j, 1.0 - float(bg[j, 3])
        while parent[node] >= 0 and through > 0:
            node = int(parent[node])
            expect.append(node)
            through *= 1.0 - float(bg[node, 3])
        assert sorted(anc[txt == j].tolist()) == sorted(expect)


def test_legible_lookup_matches_brute_force() -> None:
    g = torch.Generator().manual_seed(1)
    m = 40
    logp = torch.log_softmax(3 * torch.randn(m, NUM_RGB_CLASSES, generator=g, dtype=torch.float64), 1)
    lum = torch.rand(m, NUM_RGB_CLASSES, generator=g, dtype=torch.float64)
    need = torch.tensor([4.5, 3.0, 7.0, 0.0] * 10, dtype=torch.float64)
    grid = LegibleLookup.grid_luminance()
    backdrop = grid[torch.randint(LegibleLookup.GRID, (m, 5), generator=g)]  # on the table's grid: exact
    lookup = LegibleLookup(logp, lum, need)
    got = lookup.cost(torch.arange(m), backdrop)
    ratio = contrast_ratio(lum[:, None, :], backdrop[:, :, None])  # [m, 5, 512]
    ok = (ratio >= need[:, None, None]) | (need[:, None, None] <= 0)
    best = logp[:, None, :].expand(-1, 5, -1).masked_fill(~ok, float("-inf")).amax(-1)
    want = torch.where(torch.isfinite(best), best - logp.amax(1)[:, None], torch.full_like(best, -50.0))
    assert torch.allclose(got, want, atol=1e-9)
    # off the grid: the nearest grid point (neighbours 0.6 % apart in contrast ratio)
    assert torch.equal(LegibleLookup.grid_index(grid), torch.arange(LegibleLookup.GRID))
    mid = (grid[:-1] + grid[1:]) / 2
    assert bool(((LegibleLookup.grid_index(mid) - torch.arange(LegibleLookup.GRID - 1)).abs() <= 1).all())


def _one_section_page() -> Batch:
    """A section (root) over a transparent paragraph: the paragraph's text decides the section."""
    page = page_from_parents([-1, 0], torch.Generator().manual_seed(0))
    page.has_text = torch.tensor([False, True])
    page.bgimg_feat = torch.zeros_like(page.bgimg_feat)
    page.font_size = torch.tensor([16.0, 16.0])
    page.font_weight = torch.tensor([400, 400])
    return Batch.from_data_list([page])


def _logits(section_white: float, section_black: float) -> tuple[torch.Tensor, ...]:
    text_rgb = torch.full((2, NUM_RGB_CLASSES), -20.0)
    text_rgb[1, WHITE] = 5.0  # the model is sure of white text
    text_rgb[1, BLACK] = 0.0
    text_alpha = torch.full((2, NUM_ALPHA_CLASSES), -20.0)
    text_alpha[:, NUM_ALPHA_CLASSES - 1] = 0.0
    bg_rgb = torch.full((2, NUM_RGB_CLASSES), -20.0)
    bg_rgb[0, WHITE], bg_rgb[0, BLACK] = section_white, section_black
    bg_rgb[1, WHITE] = 0.0
    bg_alpha = torch.full((2, NUM_ALPHA_CLASSES), -20.0)
    bg_alpha[0, NUM_ALPHA_CLASSES - 1] = 0.0  # the section is opaque
    bg_alpha[1, 0] = 0.0  # the paragraph is transparent
    return text_rgb, text_alpha, bg_rgb, bg_alpha


def test_a_section_takes_the_background_its_text_can_be_read_on() -> None:
    batch = _one_section_page()
    logits = _logits(section_white=0.2, section_black=0.0)  # white section a little more likely
    plain = decode_tree(batch, logits, DecodingConfig(contrast="aa", contrast_lookahead=0.0))
    assert int(plain[2][0]) == WHITE and int(plain[0][1]) == BLACK  # the text gave way
    ahead = decode_tree(batch, logits, DecodingConfig(contrast="aa", contrast_lookahead=1.0))
    assert int(ahead[2][0]) == BLACK and int(ahead[0][1]) == WHITE  # the section gave way
    # a section the model is sure of stays: the text gives way again
    sure = decode_tree(batch, _logits(section_white=12.0, section_black=0.0), DecodingConfig(contrast="aa", contrast_lookahead=1.0))
    assert int(sure[2][0]) == WHITE and int(sure[0][1]) == BLACK
    # either way the pair is legible
    for out in (plain, ahead, sure):
        text = rendered_rgba(out[0], out[1], default_res(out[1]))
        bg = rendered_rgba(out[2], out[3], default_res(out[3]))
        parent = parent_index(batch.edge_index, batch.num_nodes)
        eff = effective_backgrounds(bg, parent, batch.depth)
        assert float(text_contrast(text, eff)[1]) >= 4.5


def test_lookahead_is_on_by_default_for_greedy_and_off_for_sampling() -> None:
    batch = _one_section_page()
    logits = _logits(section_white=0.2, section_black=0.0)
    default = decode_tree(batch, logits, DecodingConfig(contrast="aa"))
    assert int(default[2][0]) == BLACK  # the default weight looks ahead
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    sampled = decode_tree(batch, logits, DecodingConfig(top_p=0.9, contrast="aa", contrast_lookahead=1.0), g1)
    plain = decode_tree(batch, logits, DecodingConfig(top_p=0.9, contrast="aa", contrast_lookahead=0.0), g2)
    assert all(torch.equal(a, b) for a, b in zip(sampled, plain, strict=True))


def test_visible_colours_leave_out_the_black_that_encodes_transparency() -> None:
    from colorgen.lookahead import visible_rgb_logp

    rgb = torch.full((1, NUM_RGB_CLASSES), -30.0)
    rgb[0, BLACK], rgb[0, WHITE], rgb[0, 73] = torch.log(torch.tensor([0.6, 0.3, 0.1]))
    alpha = torch.full((1, NUM_ALPHA_CLASSES), -30.0)
    alpha[0, 0], alpha[0, NUM_ALPHA_CLASSES - 1] = torch.log(torch.tensor([0.5, 0.5]))
    vis = visible_rgb_logp(rgb, alpha).exp()[0]
    # p(rgb | visible) = (p(rgb) - p(transparent) [black]) / (1 - p(transparent))
    assert torch.allclose(vis[[BLACK, WHITE, 73]], torch.tensor([0.2, 0.6, 0.2]), atol=1e-5)
    assert abs(float(vis.sum()) - 1.0) < 1e-4


def _transparent_section_logits(p_black: float) -> tuple[torch.Tensor, ...]:
    """The section is as likely transparent as opaque; its black is ``p_black``, the rest white."""
    text_rgb, text_alpha, bg_rgb, bg_alpha = _logits(section_white=0.0, section_black=0.0)
    bg_rgb[0, BLACK], bg_rgb[0, WHITE] = torch.log(torch.tensor([p_black, 1 - p_black]))
    bg_alpha[0, 0], bg_alpha[0, NUM_ALPHA_CLASSES - 1] = 0.0, 0.0
    return text_rgb, text_alpha, bg_rgb, bg_alpha


def test_a_transparent_section_is_not_made_black_for_its_text() -> None:
    batch = _one_section_page()
    cfg = DecodingConfig(contrast="aa", contrast_lookahead=2.0)
    # black is the transparent half of the section's mass: no visible black to turn to, the text gives way
    out = decode_tree(batch, _transparent_section_logits(p_black=0.5), cfg)
    assert not (int(out[2][0]) == BLACK and int(out[3][0]) > 0)
    assert int(out[0][1]) != WHITE
    # a model that believes in a visible black section (p(black) 0.9 = 0.5 transparent + 0.4) keeps its white text
    out = decode_tree(batch, _transparent_section_logits(p_black=0.9), cfg)
    assert int(out[2][0]) == BLACK and int(out[3][0]) == NUM_ALPHA_CLASSES - 1 and int(out[0][1]) == WHITE


def test_a_background_changed_for_its_text_stays_near_what_was_seen() -> None:
    """No text colour reaches AAA on mid grey: the transparent paragraph gets the opaque background
    nearest the grey it showed (a lighter grey), not the black its transparency is written as."""
    batch = _one_section_page()
    grey = 64 * 4 + 8 * 4 + 4
    text_rgb, text_alpha, bg_rgb, bg_alpha = _logits(section_white=-20.0, section_black=-20.0)
    bg_rgb[0, grey] = 5.0
    bg_rgb[1, :], bg_rgb[1, BLACK] = -20.0, 5.0  # transparent, written as black
    bg_alpha[1, :], bg_alpha[1, 0] = -20.0, 5.0
    out = decode_tree(batch, (text_rgb, text_alpha, bg_rgb, bg_alpha), DecodingConfig(contrast="aaa", contrast_lookahead=0.0))
    assert int(out[3][1]) == NUM_ALPHA_CLASSES - 1  # the paragraph's background became opaque
    grey_level = lambda c: sum((int(c) >> s) & 7 for s in (0, 3, 6)) / 3  # noqa: E731
    assert grey_level(out[2][1]) > grey_level(grey)  # lighter than the section, not black
    text = rendered_rgba(out[0], out[1], default_res(out[1]))
    bg = rendered_rgba(out[2], out[3], default_res(out[3]))
    eff = effective_backgrounds(bg, parent_index(batch.edge_index, batch.num_nodes), batch.depth)
    assert float(text_contrast(text, eff)[1]) >= 7.0
