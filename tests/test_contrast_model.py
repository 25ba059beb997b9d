"""The WCAG contrast model of the tree: luminance, ratios, compositing, effective backgrounds, fonts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from colorgen.constrained import default_residuals, rendered_rgba
from colorgen.data.colors import decode_to_values
from colorgen.data.graph import page_to_data
from colorgen.data.webcolor_format import (
    DataValidationError,
    RawElement,
    RawPage,
    read_pages,
    write_webcolor,
)
from colorgen.metrics.contrast import (
    backdrop_index,
    backdrop_of,
    canvas_pairs,
    composite,
    contrast_ratio,
    depth_levels,
    effective_backgrounds,
    failing,
    large_text,
    paint_opacity,
    painted,
    parent_index,
    relative_luminance,
    required_ratio,
    srgb_to_lab,
    text_contrast,
    tree_contrast,
)
from graph_fixtures import mixed_batch


def hexrgb(h: str) -> torch.Tensor:
    h = h.lstrip("#")
    h = "".join(c * 2 for c in h) if len(h) == 3 else h
    return torch.tensor([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=torch.float64)


def ratio(fg: str, bg: str) -> float:
    return float(contrast_ratio(relative_luminance(hexrgb(fg)), relative_luminance(hexrgb(bg))))


@pytest.mark.parametrize(
    ("color", "lum"),
    [("#fff", 1.0), ("#000", 0.0), ("#f00", 0.2126), ("#0f0", 0.7152), ("#00f", 0.0722), ("#777", 0.1845)],
)
def test_relative_luminance_of_known_colours(color: str, lum: float) -> None:
    assert float(relative_luminance(hexrgb(color))) == pytest.approx(lum, abs=5e-5)


@pytest.mark.parametrize(
    ("fg", "bg", "expected"),
    [
        ("#000", "#fff", 21.0),
        ("#777", "#fff", 4.48),  # WCAG's classic just-failing grey
        ("#767676", "#fff", 4.54),  # the lightest grey that passes AA on white
        ("#595959", "#fff", 7.0),  # AAA on white
        ("#f00", "#fff", 4.0),
        ("#fff", "#fff", 1.0),
    ],
)
def test_contrast_ratio_worked_examples(fg: str, bg: str, expected: float) -> None:
    assert ratio(fg, bg) == pytest.approx(expected, abs=0.005)
    assert ratio(bg, fg) == pytest.approx(expected, abs=0.005)  # symmetric


def test_thresholds_and_large_text() -> None:
    size = torch.tensor([0.0, 16.0, 23.9, 24.0, 18.6, 18.66, 18.66, 40.0])
    weight = torch.tensor([0, 400, 400, 400, 700, 700, 600, 100])
    large = large_text(size, weight)
    assert large.tolist() == [False, False, False, True, False, True, False, True]
    assert required_ratio("aa", large).tolist() == [4.5, 4.5, 4.5, 3.0, 4.5, 3.0, 4.5, 3.0]
    assert required_ratio("aaa", large).tolist() == [7.0, 7.0, 7.0, 4.5, 7.0, 4.5, 7.0, 4.5]
    with pytest.raises(ValueError, match="contrast level"):
        required_ratio("a", large)


def test_composite_alpha() -> None:
    half_black = torch.tensor([0.0, 0.0, 0.0, 0.5], dtype=torch.float64)
    white = torch.tensor([255.0, 255.0, 255.0], dtype=torch.float64)
    assert composite(half_black, white).tolist() == [128.0, 128.0, 128.0]  # axe-core: Math.round(127.5)
    assert composite(torch.tensor([1.0, 2.0, 3.0, 1.0]), white.float()).tolist() == [1.0, 2.0, 3.0]
    assert composite(torch.tensor([1.0, 2.0, 3.0, 0.0]), white).tolist() == [255.0] * 3


def test_nested_transparent_backgrounds_and_text_alpha() -> None:
    # html (transparent) > body (50 % black) > div (transparent) > p (50 % black, text 50 % white)
    parent = torch.tensor([-1, 0, 1, 2])
    depth = torch.tensor([0, 1, 2, 3])
    bg = torch.tensor([[9, 9, 9, 0.0], [0, 0, 0, 0.5], [200, 0, 0, 0.0], [0, 0, 0, 0.5]], dtype=torch.float64)
    eff = effective_backgrounds(bg, parent, depth)
    assert eff[:, 0].tolist() == [255.0, 128.0, 128.0, 64.0]  # each step rounded, as axe-core does
    text = torch.tensor([[255.0, 255.0, 255.0, 0.5]] * 4, dtype=torch.float64)
    got = text_contrast(text, eff)
    fg = 160.0  # text composited over its own effective background: 0.5 * 255 + 0.5 * 64 = 159.5, rounded
    want = contrast_ratio(relative_luminance(torch.tensor([fg] * 3)), relative_luminance(eff[3]))
    assert float(got[3]) == pytest.approx(float(want))
    assert float(got[0]) == pytest.approx(1.0)  # white on the white canvas


def test_effective_background_of_a_batch_matches_a_node_by_node_walk() -> None:
    batch = mixed_batch(seed=3)
    n = batch.num_nodes
    g = torch.Generator().manual_seed(0)
    bg = torch.cat([torch.randint(0, 256, (n, 3), generator=g).double(), torch.rand(n, 1, generator=g).double()], 1)
    parent = parent_index(batch.edge_index, n)
    eff = effective_backgrounds(bg, parent, batch.depth)
    for i in range(n):  # naive reference: walk to the root, then composite top-down
        chain = [i]
        while parent[chain[-1]] >= 0:
            chain.append(int(parent[chain[-1]]))
        below = torch.full((3,), 255.0, dtype=torch.float64)
        for j in reversed(chain):
            below = torch.floor(bg[j, 3] * bg[j, :3] + (1 - bg[j, 3]) * below + 0.5)
        assert torch.equal(eff[i], below)
    levels = depth_levels(batch.depth)
    assert sorted(torch.cat(levels).tolist()) == list(range(n))
    assert all(int(batch.depth[lv].unique().numel()) == 1 for lv in levels)


def test_backdrop_is_the_nearest_ancestor_whose_box_holds_the_element() -> None:
    # html > body > main (0..400 x 0..800) > nav (a dark strip 0..40 x 0..20) > a (placed at 100, 100)
    parent = torch.tensor([-1, 0, 1, 2, 3, 3, 1])
    depth = torch.tensor([0, 1, 2, 3, 4, 4, 2])
    box = torch.tensor([[0, 0, 400, 800], [0, 0, 400, 50],  # body shorter than the page: still counts
                        [0, 0, 400, 800], [0, 0, 40, 20],
                        [100, 100, 60, 20],  # the link, outside its nav: main is behind it
                        [5, 5, 20, 10],  # a link inside the nav
                        [500, 900, 10, 10]])  # outside main and body: body (the canvas) is behind it
    assert backdrop_index(parent, depth, box)[0].tolist() == [-1, 0, 1, 2, 2, 3, 1]
    assert backdrop_index(parent, depth, None)[0].tolist() == parent.tolist()
    unknown = box.clone().float()
    unknown[3] = -1.0  # a nav without a box counts, as every ancestor of an official file
    assert backdrop_index(parent, depth, unknown)[0].tolist() == [-1, 0, 1, 2, 3, 3, 1]
    unknown[4] = -1.0  # an element without a box sits on its parent
    assert backdrop_index(parent, depth, unknown)[0][4] == 3


def test_backdrop_of_a_batch_matches_a_node_by_node_walk() -> None:
    batch = mixed_batch(seed=4)
    n = batch.num_nodes
    g = torch.Generator().manual_seed(2)
    xy = torch.rand(n, 2, generator=g) * 300
    box = torch.cat([xy, torch.rand(n, 2, generator=g) * 200], 1)
    box[torch.rand(n, generator=g) < 0.1] = -1.0
    parent = parent_index(batch.edge_index, n)
    got, level = backdrop_index(parent, batch.depth, box)
    assert torch.equal(level, batch.depth)
    for i in range(n):
        want = int(parent[i])
        if box[i, 2] >= 0:
            cx, cy = box[i, 0] + box[i, 2] / 2, box[i, 1] + box[i, 3] / 2
            while want >= 0 and batch.depth[want] > 1 and box[want, 2] >= 0 and not (
                    box[want, 0] <= cx <= box[want, 0] + box[want, 2] and box[want, 1] <= cy <= box[want, 1] + box[want, 3]):
                want = int(parent[want])
        assert int(got[i]) == want
    assert (got != parent).any() and (got == parent).any()


def test_an_element_painted_behind_comes_before_the_tree() -> None:
    # html > body > (sidebar background div, nav > link); the link is painted over the div
    parent = torch.tensor([-1, 0, 1, 1, 3])
    depth = torch.tensor([0, 1, 2, 2, 3])
    behind = torch.tensor([-1, 0, 1, -1, 2])  # the nav: unknown (its parent then)
    got, level = backdrop_index(parent, depth, None, behind)
    assert got.tolist() == [-1, 0, 1, 1, 2] and level.tolist() == [0, 1, 2, 2, 3]
    bg = torch.tensor([[255, 255, 255, 1.0], [0, 0, 0, 0.0], [14, 12, 14, 1.0], [0, 0, 0, 0.0], [0, 0, 0, 0.0]],
                      dtype=torch.float64)
    text = torch.tensor([[0, 0, 0, 0.0]] * 4 + [[255, 255, 255, 1.0]], dtype=torch.float64)
    assert float(tree_contrast(text, bg, got, level)[0][4]) > 15  # white on the dark div
    assert float(tree_contrast(text, bg, parent, depth)[0][4]) == pytest.approx(1.0)  # the tree: on white
    cycle = torch.tensor([-1, 0, 3, 2, -1])  # 2 and 3 behind each other: the tree rule instead
    assert backdrop_index(parent, depth, None, cycle)[0].tolist() == parent.tolist()


def fixed_header_page(html_bg: str, body_bg: str, body_tag: str = "body") -> object:
    """html > body (its box from y 88: a top margin) > [fixed header > white text, p > white text];
    the header lies above body's box, on html (``lz__darktouch-corporate-portfolio`` at 375 px)."""
    from colorgen.contrast_audit import page_data

    clear, white = "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"
    return page_data(RawPage("fixed", [
        RawElement(-1, "html", 0, html_bg, box=[0.0, 0.0, 375.0, 900.0]),
        RawElement(0, body_tag, 0, body_bg, box=[0.0, 88.0, 375.0, 812.0], behind=0),
        RawElement(1, "header", 0, clear, box=[0.0, 0.0, 375.0, 80.0], behind=0),
        RawElement(2, "b", 0, clear, white, [1.0] * 12, box=[20.0, 30.0, 100.0, 20.0], behind=2),
        RawElement(1, "p", 1, clear, white, [1.0] * 12, box=[20.0, 200.0, 100.0, 20.0], behind=1),
    ]))


def seen_on(data) -> list[list[float]]:
    from colorgen.contrast_audit import page_contrast

    return page_contrast(data)[1].tolist()


def test_body_background_reaches_the_canvas_where_html_paints_none() -> None:
    """CSS hands body's background to the canvas when html paints none: the fixed header's text,
    which lies outside body's box, is seen on body's dark colour (as axe-core sees it), not on
    white; an html that paints its own keeps the canvas to itself."""
    dark = "rgb(48, 77, 15)"
    data = fixed_header_page("rgba(0, 0, 0, 0)", dark)
    assert backdrop_of(data)[0].tolist() == [-1, 0, 0, 2, 1]
    pairs = canvas_pairs(data)
    assert pairs.html.tolist() == [0] and pairs.body.tolist() == [1]
    assert seen_on(data)[3] == [48.0, 77.0, 15.0] and seen_on(data)[4] == [48.0, 77.0, 15.0]
    own = fixed_header_page("rgb(255, 255, 255)", dark)
    assert seen_on(own)[3] == [255.0] * 3 and seen_on(own)[4] == [48.0, 77.0, 15.0]
    # a translucent body is composited once, over white, in and outside its box
    faint = seen_on(fixed_header_page("rgba(0, 0, 0, 0)", "rgba(0, 0, 0, 0.5)"))
    assert faint[3] == faint[4] == [128.0] * 3
    # without a body (or without tags: official-style data is unaffected) the canvas stays white
    assert canvas_pairs(fixed_header_page("rgba(0, 0, 0, 0)", dark, "div")) is None
    assert seen_on(fixed_header_page("rgba(0, 0, 0, 0)", dark, "div"))[3] == [255.0] * 3
    batch = Batch.from_data_list([own, data, fixed_header_page("rgba(0, 0, 0, 0)", dark, "div")])
    assert canvas_pairs(batch).html.tolist() == [0, 5] and canvas_pairs(batch).body.tolist() == [1, 6]
    # an html with text of its own (no HTML parser makes one; decoding decides html before body)
    # keeps the white canvas, so decoding and the audit agree
    texty = fixed_header_page("rgba(0, 0, 0, 0)", dark)
    texty.has_text = texty.has_text.clone()
    texty.has_text[0] = True
    assert canvas_pairs(texty) is None


def test_a_point_found_behind_is_widened_to_the_ancestor_covering_the_box() -> None:
    # html > wrapper (dark) > [sidebar nav (transparent) > link, page (light) > form > input]; at the
    # nav's centre the browser found the input below it: only the page covers the whole nav
    parent = torch.tensor([-1, 0, 1, 2, 1, 4, 5])
    depth = torch.tensor([0, 1, 2, 3, 2, 3, 4])
    box = torch.tensor([[0, 0, 375, 2000], [0, 0, 375, 2000], [0, 80, 260, 680], [0, 190, 260, 54],
                        [0, 55, 375, 2000], [40, 300, 290, 300], [41, 406, 288, 34]])
    behind = torch.tensor([-1, 0, 6, 2, 1, 4, 5])
    got, level = backdrop_index(parent, depth, box, behind)
    assert got.tolist() == [-1, 0, 4, 2, 1, 4, 5] and level.tolist() == [0, 1, 3, 4, 2, 3, 4]


def test_behind_ids_are_page_local_in_a_batch() -> None:
    pages = []
    for k in range(3):
        d = page_to_data(RawPage(f"p{k}", [RawElement(-1, "html", 0, "rgb(255, 255, 255)"),
                                          RawElement(0, "div", 0, "rgb(0, 0, 0)"),
                                          RawElement(0, "p", 1, "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)",
                                                     [1.0] * 12, behind=1 if k != 1 else None)]))
        pages.append(d)
    batch = Batch.from_data_list(pages)
    got, level = backdrop_of(batch)
    assert got.tolist() == [-1, 0, 1, -1, 3, 3, -1, 6, 7]
    assert level.tolist() == [0, 1, 2, 0, 1, 1, 0, 1, 2]
    assert backdrop_of(batch) is backdrop_of(batch)  # kept on the batch ...
    batch.behind = torch.full_like(batch.behind, -1)  # ... until its tree tensors change
    assert backdrop_of(batch)[0].tolist() == [-1, 0, 0, -1, 3, 3, -1, 6, 6]
    bad = RawPage("bad", [RawElement(-1, "html", 0, "rgb(255, 255, 255)", behind=0)])
    with pytest.raises(DataValidationError, match="behind"):
        page_to_data(bad)


def test_a_stack_is_kept_down_to_the_first_element_that_is_no_ancestor() -> None:
    """The graph keeps the text's ancestors at the top of its stack and the element below them
    that is not one; nothing where there is no such element or the stack starts with it. A
    ::before box painted above other elements is hit as its element: that element's own
    background lies where it is met last. An entry naming no other element is refused."""
    els = [RawElement(-1, "html", 0, "rgb(255, 255, 255)")] + [
        RawElement(k, "div", 0, "rgba(0, 0, 0, 0)") for k in range(3)]
    els.append(RawElement(3, "p", 0, "rgba(0, 0, 0, 0)", "rgb(0, 0, 0)", [1.0] * 12))
    els.append(RawElement(0, "div", 1, "rgb(0, 0, 0)"))

    def top(stack):
        els[4].stack = stack
        return page_to_data(RawPage("p", els)).stack[4, :4].tolist()

    assert top([3, 2, 5, 2, 1, 0]) == [3, 5, -1, -1]  # 2 met again below 5: its place is there
    assert top([3, 2, 1, 0]) == [-1] * 4  # only ancestors
    assert top([5, 3, 2, 1, 0]) == [-1] * 4  # the element right below is no ancestor: `behind` says it
    with pytest.raises(DataValidationError, match="stack"):
        top([3, 4])


def test_tree_contrast_failing_set() -> None:
    parent, depth = torch.tensor([-1, 0, 0]), torch.tensor([0, 1, 1])
    bg = torch.tensor([[255, 255, 255, 1.0], [0, 0, 0, 0.0], [0, 0, 0, 1.0]], dtype=torch.float64)
    text = torch.tensor([[0x77, 0x77, 0x77, 1.0], [0x76, 0x76, 0x76, 1.0], [0x76, 0x76, 0x76, 1.0]],
                        dtype=torch.float64)
    ratio_, _ = tree_contrast(text, bg, parent, depth)
    has_text = torch.tensor([True, True, True])
    required = required_ratio("aa", torch.tensor([False, False, True]))
    # #777 on white fails; #767676 on white passes; #767676 on black (4.63) passes as large text
    assert failing(ratio_, required, has_text).tolist() == [True, False, False]
    assert failing(ratio_, required, torch.tensor([False, True, True])).tolist() == [False, False, False]


def test_rendered_colours_match_the_renderer_codec() -> None:
    from colorgen.render.recolor import default_residuals as renderer_default

    g = torch.Generator().manual_seed(1)
    rgb = torch.randint(0, 512, (300,), generator=g)
    alpha = torch.randint(0, 8, (300,), generator=g)
    res = default_residuals(alpha)
    assert np.array_equal(res.numpy(), renderer_default(alpha.numpy()))
    for r in (res, torch.rand(300, 4, generator=g).double()):
        values = decode_to_values(rgb.numpy(), alpha.numpy(), r.numpy())
        got = rendered_rgba(rgb, alpha, r)
        assert np.array_equal(got[:, :3].numpy(), values[:, :3])
        assert np.allclose(got[:, 3].numpy(), np.minimum(values[:, 3], 255) / 255)


def test_cielab_of_known_colours() -> None:
    lab = srgb_to_lab(torch.tensor([[255.0, 255, 255], [0, 0, 0], [255, 0, 0]]))
    assert lab[0].tolist() == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert lab[1].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=0.01)
    assert lab[2].tolist() == pytest.approx([53.24, 80.09, 67.20], abs=0.05)


def _page(font: bool) -> RawPage:
    els = [
        RawElement(-1, "html", 0, "rgb(255, 255, 255)"),
        RawElement(0, "h1", 0, "rgba(0, 0, 0, 0)", "rgb(0, 0, 0)", [1.0] * 12,
                   font_size=32.0 if font else None, font_weight=700 if font else None,
                   box=[8.0, 10.5, 300.25, 40.0] if font else None, behind=2 if font else None,
                   stack=[0, 2] if font else None),
        RawElement(0, "div", 1, "rgba(0, 0, 0, 0)", bg_layer=True if font else None,
                   opacity=0.25 if font else None),
    ]
    if font:
        els[1].opacity, els[1].text_opacity = 1.0, 0.5
    return RawPage("p", els)


@pytest.mark.parametrize("font", [True, False])
def test_font_and_box_attributes_are_optional_in_the_official_format(tmp_path, font: bool) -> None:
    path = tmp_path / "w.hdf5"
    write_webcolor(path, [_page(font)])
    (page,) = read_pages(path)
    data = page_to_data(page)
    if font:
        assert page.elements[1].font_size == 32.0 and page.elements[1].font_weight == 700
        assert data.font_size.tolist() == [0.0, 32.0, 0.0] and data.font_weight.tolist() == [0, 700, 0]
        assert data.box.tolist() == [[-1.0] * 4, [8.0, 10.5, 300.25, 40.0], [-1.0] * 4]
        assert page.elements[1].behind == 2 and data.behind.tolist() == [-1, 2, -1]
        assert page.elements[2].bg_layer is True and data.bg_layer.tolist() == [False, False, True]
        assert page.elements[1].stack == [0, 2] and data.stack[1, :3].tolist() == [0, 2, -1]  # html, then the div
        assert (data.stack[[0, 2]] == -1).all()
        assert page.elements[2].opacity == 0.25 and page.elements[1].text_opacity == 0.5
        assert data.opacity.tolist() == [1.0, 1.0, 0.25] and data.text_opacity.tolist() == [1.0, 0.5, 1.0]
    else:  # an official file: no attribute, every text read as normal size (4.5:1 at AA)
        assert page.elements[1].font_size is None and page.elements[1].box is None
        assert data.font_size.tolist() == [0.0] * 3
        assert (data.box == -1).all() and (data.behind == -1).all()
        assert page.elements[2].bg_layer is None and not data.bg_layer.any()
        assert page.elements[1].stack is None and (data.stack == -1).all()
        assert page.elements[2].opacity is None and (data.opacity == 1).all() and (data.text_opacity == 1).all()
        assert paint_opacity(data) is None  # everything opaque, as the official files imply
    batch = Batch.from_data_list([data, data])
    large = large_text(batch.font_size, batch.font_weight)
    assert large.tolist() == [False, font, False] * 2


def test_palette_luminance_is_the_luminance_of_the_rendered_palette() -> None:
    from colorgen.constrained import palette_luminance, rgb_palette

    res = torch.rand(50, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    want = relative_luminance(rgb_palette(res))  # [50, 512], class = 64 r + 8 g + b
    assert torch.allclose(palette_luminance(res), want, rtol=0, atol=1e-12)


def test_a_link_overflowing_its_item_by_its_padding_still_lies_on_it() -> None:
    # html > body (white) > nav (black bar) > li > a; the link's padding reaches 3 px above and
    # below its item and the bar: at its centre (axe-core's point) it lies on the bar
    parent = torch.tensor([-1, 0, 1, 2, 3])
    depth = torch.tensor([0, 1, 2, 3, 4])
    box = torch.tensor([[0, 0, 375, 2000], [0, 0, 375, 2000], [0, 273, 375, 40], [77, 273, 42, 20], [77, 270, 42, 26]])
    behind = torch.tensor([-1, 0, 1, 2, 3])
    got, _ = backdrop_index(parent, depth, box, behind)
    assert got.tolist() == [-1, 0, 1, 2, 3]
    # a box found at the centre that holds only a sliver of the element is still widened
    box[3] = torch.tensor([77, 283, 42, 5])
    assert backdrop_index(parent, depth, box, behind)[0].tolist()[4] == 2  # the bar


def test_css_opacity_fades_backgrounds_by_their_own_and_text_by_every_enclosing_one() -> None:
    """axe-core's reading: a background's alpha times its element's opacity, a text's alpha times
    the product over its element and ancestors. A faded opaque box no longer hides the image below
    it, and a text at 50 % turns black on white into 3.95:1."""
    page = RawPage("p", [
        RawElement(-1, "html", 0, "rgb(255, 255, 255)", bg_layer=True, opacity=1.0),
        RawElement(0, "div", 0, "rgb(0, 0, 0)", opacity=0.25),
        RawElement(1, "p", 0, "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)", [1.0] * 12, opacity=1.0, text_opacity=0.25),
        RawElement(0, "p", 1, "rgba(0, 0, 0, 0)", "rgb(0, 0, 0)", [1.0] * 12, opacity=0.5, text_opacity=0.5),
    ])
    data = page_to_data(page)
    text = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 0], [255, 255, 255, 1], [0, 0, 0, 1]], dtype=torch.float64)
    bg = torch.tensor([[255, 255, 255, 1], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.float64)
    t, b = painted(data, text, bg)
    assert b[:, 3].tolist() == [1.0, 0.25, 0.0, 0.0] and t[:, 3].tolist() == [0.0, 0.0, 0.25, 0.5]
    ratio, _ = tree_contrast(t, b, *backdrop_of(data))
    assert float(ratio[3]) == pytest.approx(3.95, abs=0.01)  # #808080 on white
    from colorgen.constrained import required_of

    assert required_of(data, "aa", bg_alpha=b[:, 3]).tolist() == [0.0, 0.0, 0.0, 0.0]  # the image shows through
    assert required_of(data, "aa", bg_alpha=bg[:, 3])[2] > 0  # blind to opacity: the box hides it
    with pytest.raises(DataValidationError, match="opacity"):
        page_to_data(RawPage("q", [RawElement(-1, "html", 0, "rgb(255, 255, 255)", opacity=1.5)]))
