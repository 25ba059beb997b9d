"""decoding.contrast: legible text by construction for every generator; null = published, bit for bit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch_geometric.data import Batch

from colorgen.constrained import (
    NodeDecoder,
    Residuals,
    SequenceConstraint,
    alpha_value,
    background_image,
    decode_tree,
    enforce_contrast,
    rendered_rgba,
)
from colorgen.constrained import default_residuals as default_res
from colorgen.data.batching import to_dense
from colorgen.decoding import DecodingConfig, sample
from colorgen.metrics.contrast import (
    backdrop_of,
    composite,
    failing,
    large_text,
    paint_opacity,
    painted,
    parent_index,
    required_ratio,
    text_contrast,
    text_stacks,
    tree_contrast,
    under_background_image,
)
from colorgen.models import AR, CVAE, NAR, Colors, Stats
from graph_fixtures import mixed_batch, page_from_parents, realistic_batch

CONF = Path(__file__).resolve().parents[1] / "conf" / "decoding"
TINY = {"d_model": 32, "n_layers": 2, "n_heads": 4, "d_ff": 64}
CONFIGS = [
    DecodingConfig(contrast="aa"),
    DecodingConfig(top_p=0.9, contrast="aa"),
    DecodingConfig(top_p=1.0, temperature=1.5, contrast="aa"),
    DecodingConfig(top_k=5, top_p=1.0, contrast="aaa"),
    DecodingConfig(contrast="aaa"),
    DecodingConfig(contrast="aa", contrast_lookahead=1.0),
    DecodingConfig(contrast="aaa", contrast_lookahead=4.0),
]


def with_fonts(batch: Batch, seed: int, boxes: bool = False) -> Batch:
    """Random font sizes / weights, some large text; with ``boxes``, random element boxes (many
    elements outside their parent's box, some unknown)."""
    g = torch.Generator().manual_seed(seed)
    n = batch.num_nodes
    batch.font_size = torch.randint(10, 40, (n,), generator=g).float()
    batch.font_weight = torch.where(torch.rand(n, generator=g) < 0.3, 700, 400)
    if boxes:
        batch.box = torch.cat([torch.rand(n, 2, generator=g) * 300, torch.rand(n, 2, generator=g) * 200], 1)
        batch.box[torch.rand(n, generator=g) < 0.1] = -1.0
        # what extraction found painted below each element: any other element of its page (an
        # acyclic choice: one ranked lower in a random order), unknown for a third
        behind = torch.full((n,), -1, dtype=torch.long)
        for start, end in zip(batch.ptr[:-1].tolist(), batch.ptr[1:].tolist(), strict=True):
            rank = torch.randperm(end - start, generator=g)
            for i in range(end - start):
                lower = (rank < rank[i]).nonzero().squeeze(1)
                if lower.numel() and float(torch.rand(1, generator=g)) > 0.33:
                    behind[start + i] = lower[torch.randint(lower.numel(), (1,), generator=g)]
        batch.behind = behind
        batch.stack = random_stacks(batch, g)
    return batch


def random_stacks(batch: Batch, g: torch.Generator, width: int = 16) -> torch.Tensor:
    """Page-local stack tops under the text elements, in the graph's form: a run of their ancestors
    (parent first), then any element of the page that is not one; nothing elsewhere."""
    parent = parent_index(batch.edge_index, batch.num_nodes)
    stack = torch.full((batch.num_nodes, width), -1, dtype=torch.long)
    for start, end in zip(batch.ptr[:-1].tolist(), batch.ptr[1:].tolist(), strict=True):
        for i in range(start, end):
            ancestors, up = [], int(parent[i])
            while up >= 0:
                ancestors.append(up)
                up = int(parent[up])
            other = int(torch.randint(start, end, (1,), generator=g))
            k = int(torch.randint(1, 4, (1,), generator=g))
            if not bool(batch.has_text[i]) or not ancestors or other == i or other in ancestors:
                continue
            ids = [*ancestors[:k], other]
            stack[i, : len(ids)] = torch.tensor(ids, dtype=torch.long) - start
    return stack


def random_logits(n: int, seed: int, sparse: bool = False) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in (512, 8, 512, 8):
        lg = 3 * torch.randn(n, k, generator=g)
        if sparse:  # Stats-like: most classes never seen (-inf)
            lg = lg.masked_fill(torch.rand(n, k, generator=g) < 0.97, float("-inf"))
            lg[:, 0] = 0.0  # keep one class finite per row
        out.append(lg)
    return tuple(out)


def image_visible(batch: Batch, colors, bg_res=None) -> torch.Tensor:
    """Elements whose text is seen over a background image, through the rendered backgrounds
    (at their CSS opacity)."""
    b_a = colors[3]
    bres = default_res(b_a) if bg_res is None else bg_res.double()
    factors = paint_opacity(batch)
    alpha = alpha_value(b_a, bres) * (1.0 if factors is None else factors[0])
    return under_background_image(background_image(batch), *backdrop_of(batch), alpha)


def violations(batch: Batch, colors, level: str, text_res=None, bg_res=None) -> torch.Tensor:
    """Text elements whose rendered colours fail ``level`` (the contrast model's verdict); only
    text over a background image that no opaque background hides is not judged."""
    t_rgb, t_a, b_rgb, b_a = colors
    tres = default_res(t_a) if text_res is None else text_res.double()
    bres = default_res(b_a) if bg_res is None else bg_res.double()
    text, bg = painted(batch, rendered_rgba(t_rgb, t_a, tres), rendered_rgba(b_rgb, b_a, bres))
    ratio, _ = tree_contrast(text, bg, *backdrop_of(batch), stacks=text_stacks(batch))
    required = required_ratio(level, large_text(batch.font_size, batch.font_weight))
    judged = ~image_visible(batch, colors, bg_res)
    return failing(ratio, required, batch.has_text & judged)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.contrast}-p{c.top_p}-k{c.top_k}-t{c.temperature}-la{c.contrast_lookahead}")
def test_constrained_decoding_never_emits_a_failing_pair(seed: int, cfg: DecodingConfig) -> None:
    batch = with_fonts(mixed_batch(seed=seed), seed, boxes=seed % 2 == 1)  # odd seeds: on screen boxes
    for sparse in (False, True):
        logits = random_logits(batch.num_nodes, seed, sparse)
        plain = [sample(lg, cfg, torch.Generator().manual_seed(seed)) for lg in logits]
        assert bool(violations(batch, plain, cfg.contrast).any())  # the constraint has work to do
        colors = decode_tree(batch, logits, cfg, torch.Generator().manual_seed(seed))
        assert not bool(violations(batch, colors, cfg.contrast).any())


def test_decoding_sees_what_lies_behind_an_element_on_screen() -> None:
    """With boxes and ``behind``, a text is judged on what lies behind it on screen, not on its parent."""
    batch = with_fonts(mixed_batch(seed=3), 3, boxes=True)
    logits = random_logits(batch.num_nodes, 3)
    cfg = DecodingConfig(contrast="aa")
    box, behind = batch.box, batch.behind
    del batch.box, batch.behind
    blind = decode_tree(batch, logits, cfg)
    batch.box, batch.behind = box, behind
    assert bool(violations(batch, blind, "aa").any())
    assert not bool(violations(batch, decode_tree(batch, logits, cfg), "aa").any())


def sidebar_page(with_stack: bool = True):
    """A transparent sidebar over a dark and a white panel, its centre on the dark one; white links
    in it, one over each panel (the layout of ``lz__insight-admin`` at 375 px)."""
    from colorgen.data.graph import page_to_data
    from colorgen.data.webcolor_format import RawElement, RawPage

    clear, white = "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"
    feat = [1.0] * 12

    def link(top: float, under: int) -> RawElement:
        return RawElement(5, "a", 0 if under == 3 else 1, clear, white, feat, box=[0.0, top, 375.0, 40.0],
                          behind=5, stack=[5, under, 2, 1, 0] if with_stack else None)

    return page_to_data(RawPage("sidebar", [
        RawElement(-1, "html", 0, white, box=[0.0, 0.0, 375.0, 812.0]),
        RawElement(0, "body", 0, clear, box=[0.0, 0.0, 375.0, 812.0]),
        RawElement(1, "div", 0, clear, box=[0.0, 0.0, 375.0, 80.0]),
        RawElement(2, "div", 0, "rgb(14, 12, 14)", box=[0.0, 0.0, 375.0, 50.0]),  # dark panel
        RawElement(2, "div", 1, white, box=[0.0, 50.0, 375.0, 30.0]),  # white panel
        RawElement(2, "nav", 2, clear, box=[0.0, 0.0, 375.0, 80.0], behind=3),  # its centre: the dark one
        link(0.0, 3), link(40.0, 4),
    ]))


def test_a_text_is_seen_on_the_stack_under_its_own_centre() -> None:
    """The sidebar hands its one backdrop (the dark panel) to both links; the second lies on the
    white panel, which the forest does not say and the stack does."""
    data = sidebar_page()
    assert backdrop_of(data)[0].tolist() == [-1, 0, 1, 2, 2, 3, 5, 5]
    stacks = text_stacks(data)
    assert stacks.over.tolist() == [-1] * 7 + [4]
    assert data.stack[7, :3].tolist() == [5, 4, -1]  # the ancestors on top, then the first that is not one
    assert stacks.chain[7, :2].tolist() == [5, -1] and (stacks.chain[:7] == -1).all()
    bg = torch.tensor([[255, 255, 255, 1.0], [0, 0, 0, 0], [0, 0, 0, 0], [14, 12, 14, 1.0],
                       [255, 255, 255, 1.0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.float64)
    text = torch.tensor([[255, 255, 255, 1.0]] * 8, dtype=torch.float64)
    forest, _ = tree_contrast(text, bg, *backdrop_of(data))
    seen, on = tree_contrast(text, bg, *backdrop_of(data), stacks=stacks)
    assert forest[6:].tolist() == pytest.approx([19.49, 19.49], abs=0.01)  # white on the dark panel
    assert seen[6] == forest[6] and float(seen[7]) == 1.0 and on[7].tolist() == [255.0] * 3
    # in a batch, ids are the batch's
    batch = Batch.from_data_list([sidebar_page(False), data])
    assert text_stacks(batch).over.tolist() == [-1] * 15 + [12]
    assert text_stacks(sidebar_page(False)) is None
    # an element below the text on the same forest level (the other link): decided before it
    late = sidebar_page()
    late.stack[7, 1] = 6
    stacks = text_stacks(late)
    assert stacks.over.tolist() == [-1] * 7 + [6] and int(stacks.order[6]) < int(stacks.order[7])
    assert (stacks.order[late.edge_index[0]] > stacks.order[late.edge_index[1]]).all()  # children after parents
    # html's children keep their level (body is decided there, before what lies on html): a body
    # text over a deeper element (the fixed header's logo, on html) is not re-seated
    from test_contrast_model import fixed_header_page

    body = fixed_header_page("rgba(0, 0, 0, 0)", "rgb(48, 77, 15)")
    body.has_text[1] = True
    body.stack = torch.full((body.num_nodes, 16), -1, dtype=torch.long)
    body.stack[1, :2] = torch.tensor([0, 3])
    assert backdrop_of(body)[1].tolist() == [0, 1, 1, 2, 2]
    assert text_stacks(body) is None
    # two links each over the other: no order puts both first, so the forest holds
    both = sidebar_page()
    both.stack[7, 1] = 6
    both.stack[6, :3] = torch.tensor([5, 7, -1])
    assert text_stacks(both) is None


@pytest.mark.parametrize("ar", [False, True])
def test_decoding_makes_a_text_legible_on_the_stack_under_it(ar: bool) -> None:
    """Both generators' constraints judge the second link on the white panel: it turns dark, the
    first stays white; without the stack both stay white (the forest sees the dark panel)."""
    from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES

    def logits_of(d):
        classes = (d.text_rgb, d.text_alpha, d.bg_rgb, d.bg_alpha)
        return [torch.nn.functional.one_hot(c, k).float() * 8.0 for c, k in
                zip(classes, (NUM_RGB_CLASSES, NUM_ALPHA_CLASSES) * 2, strict=True)]

    cfg = DecodingConfig(contrast="aa", contrast_lookahead=0.0)
    got = {}
    for with_stack in (True, False):
        batch = Batch.from_data_list([sidebar_page(with_stack)])
        logits = logits_of(batch)
        if ar:
            sc = SequenceConstraint(batch, cfg, None)
            steps = [sc.step(i, tuple(lg[None, i] for lg in logits)) for i in range(batch.num_nodes)]
            got[with_stack] = sc.finish(Colors(*(torch.cat([s[k] for s in steps]) for k in range(4))))
        else:
            got[with_stack] = decode_tree(batch, logits, cfg)
    judged = Batch.from_data_list([sidebar_page()])
    white = int(judged.text_rgb[6])
    assert int(got[True][0][6]) == white and int(got[True][0][7]) != white
    assert got[False][0][6:].tolist() == [white, white]
    assert not bool(violations(judged, got[True], "aa").any())
    assert violations(judged, got[False], "aa").nonzero().squeeze(1).tolist() == [7]


def with_opacity_of_css(batch: Batch, seed: int) -> Batch:
    """Random CSS opacity on a third of the backgrounds (0.1-0.9) and of the texts (0.8-0.95: text
    much fainter than that can meet no ratio, whatever its colour: black at 50 % on white is 3.95:1)."""
    g = torch.Generator().manual_seed(seed)
    n = batch.num_nodes
    some = torch.rand(n, generator=g) < 0.3
    batch.opacity = torch.where(some, 0.1 + 0.8 * torch.rand(n, generator=g), torch.ones(n))
    some = torch.rand(n, generator=g) < 0.3
    batch.text_opacity = torch.where(some, 0.8 + 0.15 * torch.rand(n, generator=g), torch.ones(n))
    return batch


@pytest.mark.parametrize("seed", range(3))
def test_css_opacity_is_judged_as_axe_core_paints_it(seed: int) -> None:
    """Backgrounds at their element's opacity, text at its own and its ancestors': every generator
    and decoding rule leaves no failing pair, where the same decoding blind to opacity does."""
    batch = with_opacity_of_css(with_fonts(mixed_batch(seed=seed), seed, boxes=seed == 1), seed)
    blind = batch.clone()
    del blind.opacity, blind.text_opacity
    logits = random_logits(batch.num_nodes, seed)
    for cfg in (DecodingConfig(contrast="aa"), DecodingConfig(top_p=0.9, contrast="aa")):
        colors = decode_tree(batch, logits, cfg, torch.Generator().manual_seed(seed))
        assert not bool(violations(batch, colors, "aa").any())
        unaware = decode_tree(blind, logits, cfg, torch.Generator().manual_seed(seed))
        assert bool(violations(batch, unaware, "aa").any()) and not bool(violations(blind, unaware, "aa").any())
    plain = Colors(*(lg.argmax(-1) for lg in logits))
    assert not bool(violations(batch, enforce_contrast(batch, plain, "aa"), "aa").any())
    ar = MODELS["ar"].generate(batch, DecodingConfig(contrast="aa"), torch.Generator().manual_seed(0))
    assert not bool(violations(batch, ar, "aa").any())


def canvas_batch(seed: int, pages: int = 6) -> Batch:
    """Pages html > body > random tree, a third of body's descendants placed on html (fixed boxes
    outside body's box, as extraction finds them), html painting no image."""
    from colorgen.data.tags import tag_index
    from graph_fixtures import random_parents

    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(pages):
        n = int(torch.randint(6, 30, (1,), generator=g))
        page = page_from_parents([-1, 0, *(1 if p < 0 else p + 2 for p in random_parents(n - 2, g))], g, f"canvas{k}")
        page.tag[0], page.tag[1] = tag_index("html"), tag_index("body")
        page.bgimg_feat[0] = 0.0
        page.has_text[0], page.text_feat[0] = False, 0.0  # the parser moves any text of html into body
        behind = torch.full((n,), -1, dtype=torch.long)
        behind[2:][torch.rand(n - 2, generator=g) < 0.33] = 0
        page.behind = behind
        out.append(page)
    return with_fonts(Batch.from_data_list(out), seed)


@pytest.mark.parametrize("seed", range(3))
def test_body_background_on_the_canvas_is_decoded_as_painted(seed: int) -> None:
    """Where html paints nothing, what lies on it is seen on body's colour (CSS hands it to the
    canvas, :func:`colorgen.metrics.contrast.propagate_canvas`): tree decoding, AR's loop and the
    re-check leave no failing pair there, and the same decoding with the canvas taken as white does."""
    batch = canvas_batch(seed)
    html = batch.ptr[:-1]
    logits = list(random_logits(batch.num_nodes, seed))
    logits[3][html] = -10.0
    logits[3][html, 0] = 10.0  # html: transparent
    blind = batch.clone()
    del blind.tag  # no tags: no html / body known, the canvas white
    unaware = 0
    for cfg in (DecodingConfig(contrast="aa"), DecodingConfig(top_p=0.9, contrast="aa")):
        colors = decode_tree(batch, logits, cfg, torch.Generator().manual_seed(seed))
        assert not bool(violations(batch, colors, "aa").any())
        unaware += int(violations(batch, decode_tree(blind, logits, cfg, torch.Generator().manual_seed(seed)), "aa").sum())
        sc = SequenceConstraint(batch, cfg, torch.Generator().manual_seed(seed))
        assert sc.parents_first and sc.canvas is not None
        dense = [to_dense(batch, lg)[0] for lg in logits]
        steps = [sc.step(i, tuple(lg[:, i] for lg in dense)) for i in range(dense[0].size(1))]
        mask = to_dense(batch, torch.ones(batch.num_nodes, dtype=torch.bool))[1]
        ar = Colors(*(torch.stack([s[k] for s in steps], 1)[mask] for k in range(4)))
        assert not bool(violations(batch, sc.finish(ar), "aa").any())
    assert unaware > 0
    plain = Colors(*(lg.argmax(-1) for lg in logits))
    assert not bool(violations(batch, enforce_contrast(batch, plain, "aa"), "aa").any())


def test_lookahead_sees_body_background_on_the_canvas() -> None:
    """A fixed header on html (clear), body dark: the header's white text is legible on its likelier
    clear background, so the lookahead keeps it; taking the canvas as white (in the lookahead, or
    everywhere), it turns the header dark to save the text."""
    from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES, encode_color
    from colorgen.data.graph import page_to_data
    from colorgen.data.webcolor_format import RawElement, RawPage

    clear, white = "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"
    page = page_to_data(RawPage("fixed", [
        RawElement(-1, "html", 0, clear, box=[0.0, 0.0, 375.0, 900.0]),
        RawElement(0, "body", 0, "rgb(20, 20, 20)", box=[0.0, 88.0, 375.0, 812.0], behind=0),
        RawElement(1, "header", 0, clear, box=[0.0, 0.0, 375.0, 80.0], behind=0),
        RawElement(2, "b", 0, clear, white, [1.0] * 12, box=[20.0, 30.0, 100.0, 20.0], behind=2),
        # dark on dark: the page fails as the model sees it, so it is decoded (and looked ahead on)
        RawElement(1, "p", 1, clear, "rgb(20, 20, 20)", [1.0] * 12, box=[20.0, 200.0, 100.0, 20.0], behind=1),
    ]))
    batch = Batch.from_data_list([page])
    logits = [torch.full((5, k), -20.0) for k in (NUM_RGB_CLASSES, NUM_ALPHA_CLASSES) * 2]
    for lg, classes in zip(logits, (batch.text_rgb, batch.text_alpha, batch.bg_rgb, batch.bg_alpha), strict=True):
        lg[torch.arange(5), classes] = 0.0  # sure of the page's own colours
    dark = encode_color("rgb(20, 20, 20)").rgb
    logits[2][2, dark], logits[3][2, NUM_ALPHA_CLASSES - 1] = -0.5, -0.5  # the header: dark is a close second
    cfg = DecodingConfig(contrast="aa", contrast_lookahead=2.0)
    got = decode_tree(batch, logits, cfg)
    assert int(got[3][2]) == 0 and int(got[0][3]) == int(batch.text_rgb[3])  # clear header, white text
    del batch.tag  # blind: the canvas white
    blind = decode_tree(batch, logits, cfg)
    assert int(blind[3][2]) == NUM_ALPHA_CLASSES - 1 and int(blind[2][2]) == dark


@pytest.mark.parametrize("seed", range(3))
def test_given_residuals_are_the_rendered_colours(seed: int) -> None:
    batch = with_fonts(realistic_batch(4, 60, seed=seed), seed)
    g = torch.Generator().manual_seed(seed)
    text_res, bg_res = torch.rand(batch.num_nodes, 4, generator=g), torch.rand(batch.num_nodes, 4, generator=g)
    cfg = DecodingConfig(top_p=0.9, contrast="aa")
    colors = decode_tree(batch, random_logits(batch.num_nodes, seed), cfg, g, Residuals(text_res, bg_res))
    assert not bool(violations(batch, colors, "aa", text_res, bg_res).any())


def test_a_changed_background_is_judged_as_rendered() -> None:
    """Residuals at the top of each bin leave no text colour legible on the model's mid-tone
    background, so fallback 2 picks another; alpha class 7 renders at 254/255 here, and the pick
    must pass as the page renders it (each compositing step rounded), not only before rounding:
    unrounded, this case kept a background whose best text reads 4.497:1."""
    text_res = torch.tensor([[0.977, 0.977, 0.977, 1.0]], dtype=torch.float64)
    bg_res = torch.tensor([[0.657638505648417, 0.42195429037238896, 0.28989117598445424, 0.97]], dtype=torch.float64)
    logits = [torch.full((1, k), -5.0) for k in (512, 8, 512, 8)]
    for lg, best in zip(logits, (511, 7, 226, 7), strict=True):
        lg[0, best] = 0.0
    below = torch.tensor([[253.0, 253.0, 253.0]], dtype=torch.float64)
    decoder = NodeDecoder(DecodingConfig(contrast="aa"), None, Residuals(text_res, bg_res))
    (tc, ta, bc, ba), _, _ = decoder(tuple(logits), below, torch.tensor([True]),
                                     torch.tensor([4.5], dtype=torch.float64), torch.tensor([0]))
    bg = composite(rendered_rgba(bc, ba, bg_res), below)
    assert float(text_contrast(rendered_rgba(tc, ta, text_res), bg)) >= 4.5


def argmax_case(seed: int) -> tuple[Batch, Colors, torch.Tensor, torch.Tensor]:
    """A batch, the best classes of random logits (many failing pairs) and random residuals."""
    batch = with_fonts(mixed_batch(seed=seed), seed)
    colors = Colors(*(lg.argmax(-1) for lg in random_logits(batch.num_nodes, seed)))
    g = torch.Generator().manual_seed(seed)
    return batch, colors, torch.rand(batch.num_nodes, 4, generator=g), torch.rand(batch.num_nodes, 4, generator=g)


@pytest.mark.parametrize("seed", range(3))
def test_enforce_keeps_legible_choices_and_fixes_the_rest(seed: int) -> None:
    batch, colors, text_res, bg_res = argmax_case(seed)
    before = violations(batch, colors, "aa", text_res, bg_res)
    fixed = enforce_contrast(batch, colors, "aa", text_res, bg_res)
    assert isinstance(fixed, Colors)
    assert not bool(violations(batch, fixed, "aa", text_res, bg_res).any())
    assert bool(before.any())
    # backgrounds change only where no text colour could work; legible texts on unchanged
    # backgrounds keep their classes
    unchanged_bg = (fixed.bg_rgb == colors.bg_rgb) & (fixed.bg_alpha == colors.bg_alpha)
    parent = parent_index(batch.edge_index, batch.num_nodes)
    keep = ~before & batch.has_text & unchanged_bg
    keep &= torch.where(parent >= 0, unchanged_bg[parent.clamp(min=0)], True)
    assert bool(keep.any())
    assert torch.equal(fixed.text_rgb[keep], colors.text_rgb[keep])
    assert float(unchanged_bg.float().mean()) > 0.8


@pytest.mark.parametrize(
    ("probs", "top_p", "expected"),
    [
        # classes 0, 1 (dark) are legible on white, 510, 511 (light) are not
        ({0: 0.1, 1: 0.3, 510: 0.2, 511: 0.4}, 1.0, {0: 0.25, 1: 0.75}),  # conditioned on legibility
        ({0: 0.1, 1: 0.3, 510: 0.2, 511: 0.4}, 0.8, {1: 1.0}),  # class 0 lies outside the model's nucleus
        ({0: 0.03, 1: 0.07, 510: 0.3, 511: 0.6}, 0.8, {0: 0.3, 1: 0.7}),  # no legible class in it: their own
    ],
)
def test_sampling_draws_from_the_legible_part_of_the_distribution(probs: dict, top_p: float, expected: dict) -> None:
    pages = 3000
    page = with_fonts(mixed_batch(seed=0, sizes=(1,)), 0).get_example(0)  # a single node page
    page.has_text[:] = True
    page.bgimg_feat = torch.zeros_like(page.bgimg_feat)  # plain colour behind the text
    batch = Batch.from_data_list([page] * pages)
    batch.font_size = torch.zeros(pages)
    batch.font_weight = torch.zeros(pages, dtype=torch.long)
    text = torch.full((pages, 512), float("-inf"))
    for cls, p in probs.items():
        text[:, cls] = torch.log(torch.tensor(p))
    opaque = torch.full((pages, 8), float("-inf"))
    opaque[:, 7] = 0.0
    white = torch.full((pages, 512), float("-inf"))
    white[:, 511] = 0.0
    cfg = DecodingConfig(top_p=top_p, contrast="aa")
    drawn = decode_tree(batch, (text, opaque, white, opaque), cfg, torch.Generator().manual_seed(1))[0]
    assert set(drawn.unique().tolist()) == set(expected)
    for cls, p in expected.items():
        assert abs(float((drawn == cls).float().mean()) - p) < 0.03, cls


def _legible_bias(logits: tuple[torch.Tensor, ...], text_boost: float = 13.0) -> tuple[torch.Tensor, ...]:
    """Model-like logits that mostly draw black text on opaque white backgrounds, not always."""
    return tuple(lg + torch.nn.functional.one_hot(torch.tensor(best), lg.size(-1)) * boost
                 for lg, best, boost in zip(logits, (0, 7, 511, 7), (text_boost, 14.0, 16.0, 14.0), strict=True))


class _Biased(torch.nn.Module):
    """A style decoder whose logits lean to legible pages (see :func:`_legible_bias`)."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, h: torch.Tensor):
        return type(out := self.inner(h))(*_legible_bias(tuple(out), text_boost=9.0))


@pytest.mark.parametrize("name", ["tree", "ar"])
@pytest.mark.parametrize("seed", range(3))
def test_sampling_with_the_constraint_keeps_plain_draws_on_legible_pages(name: str, seed: int) -> None:
    """Same seed: a page the plain draw leaves legible comes out exactly as plain decoding gives it
    (the constraint draws again on a generator of its own); the others are made legible."""
    from colorgen.constrained import _pages_failing
    from colorgen.models.base import decode_logits

    batch = with_fonts(mixed_batch(seed=seed, sizes=(7, 15, 3, 10, 12, 6)), seed)
    cfg = DecodingConfig(top_p=0.95, temperature=1.3)
    if name == "ar":
        torch.manual_seed(seed)
        model = AR(**TINY).eval()
        model.style_decoder = _Biased(model.style_decoder)
        plain = model.generate(batch, cfg, torch.Generator().manual_seed(seed))
        legible = model.generate(batch, DecodingConfig(top_p=0.95, temperature=1.3, contrast="aa"),
                                 torch.Generator().manual_seed(seed))
    else:
        logits = _legible_bias(random_logits(batch.num_nodes, seed))
        plain = decode_logits(logits, cfg, torch.Generator().manual_seed(seed))
        legible = decode_tree(batch, logits, DecodingConfig(top_p=0.95, temperature=1.3, contrast="aa"),
                              torch.Generator().manual_seed(seed))
    failing_nodes = _pages_failing(batch, plain, "aa", Residuals())
    bad = torch.zeros(batch.num_nodes, dtype=torch.bool)
    if failing_nodes is not None:
        bad[failing_nodes] = True
    assert bool(bad.any()) and not bool(bad.all())  # some pages of each kind
    assert all(torch.equal(a[~bad], b[~bad]) for a, b in zip(plain, legible, strict=True))
    assert not bool(violations(batch, legible, "aa").any())
    assert any(not torch.equal(a[bad], b[bad]) for a, b in zip(plain, legible, strict=True))


def test_masking_keeps_the_distribution_among_legible_classes() -> None:
    # one text element on white: classes 0 (black-ish) and 1 (dark blue) legible, 511/510 (white-ish) not
    batch = with_fonts(mixed_batch(seed=0, sizes=(1,)), 0)
    batch = Batch.from_data_list([batch.get_example(0)])  # a single node page
    batch.has_text[:] = True
    batch.bgimg_feat = torch.zeros_like(batch.bgimg_feat)  # plain colour behind the text
    batch.font_size = torch.zeros(1)
    batch.font_weight = torch.zeros(1, dtype=torch.long)
    text = torch.full((1, 512), float("-inf"))
    text[0, [0, 1, 511, 510]] = 0.0
    alpha = torch.full((1, 8), float("-inf"))
    alpha[0, 7] = 0.0
    bg = torch.full((1, 512), float("-inf"))
    bg[0, 511] = 0.0
    logits = (text, alpha, bg, alpha)
    g = torch.Generator().manual_seed(0)
    cfg = DecodingConfig(top_p=1.0, contrast="aa")
    draws = torch.stack([decode_tree(batch, logits, cfg, g)[0] for _ in range(400)]).flatten()
    assert set(draws.tolist()) == {0, 1}
    assert 0.4 < float((draws == 0).float().mean()) < 0.6
    greedy = decode_tree(batch, (text.clone().index_fill_(1, torch.tensor([511]), 5.0), alpha, bg, alpha),
                         DecodingConfig(contrast="aa"))
    assert int(greedy[0]) in (0, 1) and int(greedy[2]) == 511  # the background is left alone


def test_decoding_configs_default_to_no_constraint() -> None:
    for path in sorted(CONF.glob("*.yaml")):
        cfg = DecodingConfig.from_cfg(OmegaConf.load(path))
        assert cfg.contrast is None, path
    assert DecodingConfig.from_cfg({"contrast": "AA"}).contrast == "aa"
    with pytest.raises(ValueError, match="contrast"):
        DecodingConfig(contrast="a")


def _models() -> dict:
    torch.manual_seed(0)
    stats = Stats().fit([mixed_batch(seed=9)])
    return {"nar": NAR(**TINY).eval(), "cvae": CVAE(**TINY).eval(), "ar": AR(**TINY).eval(), "stats": stats}


MODELS = _models()


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("cfg", [DecodingConfig(), DecodingConfig(top_p=0.9)], ids=["greedy", "top_p"])
def test_contrast_null_is_bit_identical_to_plain_decoding(name: str, cfg: DecodingConfig) -> None:
    model, batch = MODELS[name], mixed_batch(seed=2)
    got = model.generate(batch, DecodingConfig(top_p=cfg.top_p, contrast=None), torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    if name == "ar":  # the published loop: what was fed back gives, under teacher forcing, what was drawn
        ref, _ = model.decode(batch, cfg, g, incremental=False)
        if cfg.greedy:
            tf = model.teacher_forcing_logits(batch, got)
            assert all(torch.equal(lg.argmax(-1), c) for lg, c in zip(tf, got, strict=True))
    elif name == "cvae":
        content = model.content_encoder(batch)
        z = torch.randn(content.shape, generator=g)
        ref = [sample(lg, cfg, g) for lg in model.decode(batch, content, z)]
    else:
        ref = [sample(lg, cfg, g) for lg in model.logits(batch)]
    assert all(torch.equal(a, b) for a, b in zip(got, ref, strict=True))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("cfg", [DecodingConfig(contrast="aa"), DecodingConfig(top_p=0.9, contrast="aa")],
                         ids=["greedy", "top_p"])
@pytest.mark.parametrize("boxes", [False, True], ids=["tree", "boxes"])
def test_every_generator_emits_only_legible_text(name: str, cfg: DecodingConfig, boxes: bool) -> None:
    batch = with_fonts(mixed_batch(seed=4), 4, boxes)
    plain = MODELS[name].generate(batch, DecodingConfig(top_p=cfg.top_p), torch.Generator().manual_seed(0))
    colors = MODELS[name].generate(batch, cfg, torch.Generator().manual_seed(0))
    assert isinstance(colors, Colors)
    assert not bool(violations(batch, colors, "aa").any())
    if cfg.greedy and name != "cvae":  # deterministic: the constraint moves few backgrounds
        assert float((colors.bg_rgb == plain.bg_rgb).float().mean()) > 0.7
    if name == "ar":  # later elements are conditioned on the constrained colours
        tf = MODELS[name].teacher_forcing_logits(batch, colors)
        if cfg.greedy:
            assert torch.equal(tf.bg_alpha.argmax(-1)[~batch.has_text], colors.bg_alpha[~batch.has_text])


def test_contrast_without_a_batch_is_a_clear_error() -> None:
    from colorgen.models.base import decode_logits

    logits = random_logits(3, 0)
    with pytest.raises(ValueError, match="needs the batch"):
        decode_logits(logits, DecodingConfig(contrast="aa"))


@pytest.mark.parametrize("name", MODELS)
def test_eval_generation_with_an_upsampler_is_legible_as_rendered(name: str) -> None:
    """generate_split judges the classes on the upsampler's residuals, the colours rendered."""
    from colorgen.evaluation import generate_split
    from colorgen.models import ColorUpsampler

    torch.manual_seed(1)
    upsampler = ColorUpsampler(**TINY).eval()
    data = [p for s in (5, 6) for p in mixed_batch(seed=s).to_data_list()]
    for i, p in enumerate(data):
        fonts = with_fonts(Batch.from_data_list([p]), i)
        p.font_size, p.font_weight, p.is_test2 = fonts.font_size, fonts.font_weight, torch.tensor(False)
    got = generate_split(MODELS[name], data, DecodingConfig(contrast="aa"), upsampler=upsampler)
    batch = Batch.from_data_list(data)
    colors = tuple(torch.as_tensor(got.pred[k]) for k in ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha"))
    text_res, bg_res = (torch.as_tensor(got.pred[k]) for k in ("text_res", "bg_res"))
    assert not bool(violations(batch, colors, "aa", text_res, bg_res).any())
    if name != "ar":  # decoded against the residuals of the model's best classes, rendered with them
        best = Colors(*(lg.argmax(-1) for lg in MODELS[name].generation_logits(batch, torch.Generator().manual_seed(0))))
        want = upsampler.residuals(batch, best)
        assert all(torch.allclose(a, b) for a, b in zip((text_res, bg_res), want, strict=True))


BIN_BOTTOM = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)  # residual: colour at the bin's bottom, alpha kept


class _FixedResiduals:
    """An Upsampler stand-in: every text colour at the bottom of its bin, the renderer's rule for backgrounds."""

    def residuals(self, batch, colors):
        return BIN_BOTTOM.expand(batch.num_nodes, 4), default_res(colors.bg_alpha)


def test_a_text_colour_legible_as_rendered_keeps_its_class() -> None:
    """The model's text class fails at its bin centre but passes with the residual it will be
    rendered with: judged on the rendered colour, it is kept (bin centres would change it)."""
    from colorgen.evaluation.generate import generate_colors
    from colorgen.metrics.contrast import contrast_ratio, relative_luminance

    opaque = torch.full((512,), 7)
    centre, low = (rendered_rgba(torch.arange(512), opaque, r)[:, :3]
                   for r in (default_res(opaque), BIN_BOTTOM.expand(512, 4)))
    white = relative_luminance(torch.tensor([255.0, 255.0, 255.0]))
    ratio = [contrast_ratio(relative_luminance(c), white) for c in (centre, low)]
    cls = int(((ratio[0] < 4.5) & (ratio[1] > 4.6)).nonzero()[0])
    page = page_from_parents([-1, 0], torch.Generator().manual_seed(0))
    page.has_text, page.bgimg_feat = torch.tensor([False, True]), torch.zeros(2, 13)
    page.font_size, page.font_weight = torch.full((2,), 16.0), torch.full((2,), 400)
    batch = Batch.from_data_list([page])

    class Fixed(Stats):
        def generation_logits(self, batch, generator=None):
            lg = [torch.zeros(2, k) for k in (512, 8, 512, 8)]
            lg[0][:, cls] = 5.0  # the text class
            lg[1][:, 7] = lg[3][:, 0] = 5.0  # opaque text on transparent backgrounds: the white canvas
            return tuple(lg)

    colors, res = generate_colors(Fixed(), batch, DecodingConfig(contrast="aa"), None, _FixedResiduals())
    assert int(colors.text_rgb[1]) == cls and float(res[0][:, :3].abs().sum()) == 0.0
    on_centres = Fixed().generate(batch, DecodingConfig(contrast="aa"))
    assert int(on_centres.text_rgb[1]) != cls


@pytest.mark.parametrize("kind", ["image", "layer"])
def test_text_over_a_background_image_is_left_to_the_model(kind: str) -> None:
    """Text that sees the first page's hero image through non-opaque backgrounds is not judged
    (its backdrop is the image), so the constraint keeps the model's choice there; text whose own
    or an ancestor's opaque background hides the image is constrained like the rest. ``layer``:
    a hero whose image did not load or is a gradient (no image features, ``bg_layer`` only)."""
    batch = with_fonts(mixed_batch(seed=8), 8)
    batch.bgimg_feat = torch.zeros_like(batch.bgimg_feat)
    roots = parent_index(batch.edge_index, batch.num_nodes) < 0
    first_page = batch.batch == 0
    if kind == "image":
        batch.bgimg_feat[roots & first_page, 0] = 100.0  # the first page's root carries a hero image
    else:
        batch.bg_layer = roots & first_page
    logits = list(random_logits(batch.num_nodes, 8))
    logits[3][:, 0] += 20.0  # most backgrounds transparent: the image shows through ...
    logits[3][::3, 7] += 40.0  # ... except under every third element's opaque background
    plain = tuple(sample(lg, DecodingConfig(), None) for lg in logits)
    legible = decode_tree(batch, logits, DecodingConfig(contrast="aa"), None)
    text = batch.has_text
    seen = image_visible(batch, legible)
    assert torch.equal(seen, image_visible(batch, plain))  # backgrounds left alone where it matters
    over_image, hidden = first_page & text & seen, first_page & text & ~seen
    assert bool(over_image.any()) and bool(hidden.any())
    assert torch.equal(legible[0][over_image], plain[0][over_image])
    assert bool(violations(batch, plain, "aa")[hidden].any())  # the old rule skipped these
    assert not torch.equal(legible[0][~first_page & text], plain[0][~first_page & text])
    assert not bool(violations(batch, legible, "aa").any())


def _image_tree() -> Batch:
    """Root with a background image; 1 opaque, 2 transparent, 3 (under 1) and 4 (under 2) transparent."""
    page = page_from_parents([-1, 0, 0, 1, 2], torch.Generator().manual_seed(0))
    page.has_text = torch.tensor([False, True, True, True, True])
    page.bgimg_feat = torch.zeros_like(page.bgimg_feat)
    page.bgimg_feat[0, 0] = 1.0
    page.font_size = torch.zeros(5)
    page.font_weight = torch.zeros(5, dtype=torch.long)
    return Batch.from_data_list([page])


def one_hot(cls: list[int], k: int) -> torch.Tensor:
    return torch.full((len(cls), k), float("-inf")).scatter_(1, torch.tensor(cls)[:, None], 0.0)


@pytest.mark.parametrize("residuals", [False, True], ids=["default", "upsampler"])
def test_an_opaque_background_hides_the_image_above_it(residuals: bool) -> None:
    """The onepagelove case: a button's own opaque near-white background over an ancestor's image,
    and the model's near-white text on it (ratio 1.01): the text must become legible."""
    batch = _image_tree()
    near_white, white = 7 * 64 + 7 * 8 + 6, 511
    text = one_hot([0, near_white, near_white, near_white, near_white], 512)
    bg = one_hot([white] * 5, 512)
    alpha = one_hot([7] * 5, 8)  # opaque text
    bg_alpha = one_hot([0, 7, 0, 0, 0], 8)
    res = None
    if residuals:  # the Upsampler's residuals: alpha class 7 stays opaque only at residual 1
        bg_res = torch.full((5, 4), 0.5, dtype=torch.float64)
        bg_res[:, 3] = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0])
        res = Residuals(torch.full((5, 4), 0.5, dtype=torch.float64), bg_res)
    # the decoder's rule alone (looking ahead, the button may turn dark instead, see below)
    cfg = DecodingConfig(contrast="aa", contrast_lookahead=0.0)
    out = decode_tree(batch, (text, alpha, bg, bg_alpha), cfg, None, res)
    bg_res_ = None if res is None else res.bg
    assert image_visible(batch, out, bg_res_).tolist() == [True, False, True, False, True]
    assert out[0][[2, 4]].tolist() == [near_white, near_white]  # over the image: the model's choice
    assert out[0][1] != near_white and out[0][3] != near_white
    assert not bool(violations(batch, out, "aa", None if res is None else res.text, bg_res_).any())
    # a background that is not quite opaque (alpha < 1 rendered) lets the image through
    translucent = Residuals(None, torch.full((5, 4), 0.5, dtype=torch.float64))
    seen = decode_tree(batch, (text, alpha, bg, bg_alpha), DecodingConfig(contrast="aa"), None, translucent)
    assert image_visible(batch, seen, translucent.bg).all()
    assert seen[0][1:].tolist() == [near_white] * 4
    # enforce_contrast (the re-check after the Upsampler) follows the same rule
    plain = Colors(*(lg.argmax(-1) for lg in (text, alpha, bg, bg_alpha)))
    fixed = enforce_contrast(batch, plain, "aa", None if res is None else res.text, bg_res_)
    assert torch.equal(fixed.text_rgb, out[0])


def test_looking_ahead_keeps_the_image_behind_white_text_rather_than_covering_it() -> None:
    """A hero image, a box the model thinks opaque white (60 %) or clear (40 %), and white text it
    is sure of: covering the image would force the text dark, so the box gives way and the text
    keeps its colour over the image. Judged as if every text were free over any image ancestor
    (the rule before), the box stayed white and the text was forced dark."""
    page = page_from_parents([-1, 0, 1], torch.Generator().manual_seed(0))
    page.has_text = torch.tensor([False, False, True])
    page.bgimg_feat = torch.zeros_like(page.bgimg_feat)
    page.bgimg_feat[0, 0] = 1.0  # the hero carries the image
    page.font_size, page.font_weight = torch.zeros(3), torch.zeros(3, dtype=torch.long)
    batch = Batch.from_data_list([page])
    white = 511
    text = torch.full((3, 512), -8.0)
    text[:, white] = 0.0
    bg = torch.full((3, 512), -8.0)
    bg[:, white] = 0.0
    bg_alpha = torch.full((3, 8), -20.0)
    bg_alpha[:, 0] = 0.0  # clear
    bg_alpha[1, 7], bg_alpha[1, 0] = float(torch.log(torch.tensor(0.6))), float(torch.log(torch.tensor(0.4)))
    alpha = one_hot([7] * 3, 8)
    out = decode_tree(batch, (text, alpha, bg, bg_alpha), DecodingConfig(contrast="aa"))
    assert int(out[3][1]) != 7 and int(out[0][2]) == white  # the box clear, the text white over the image
    assert image_visible(batch, out).tolist() == [True, True, True]
    plain = decode_tree(batch, (text, alpha, bg, bg_alpha), DecodingConfig(contrast="aa", contrast_lookahead=0.0))
    assert int(plain[3][1]) == 7 and int(plain[0][2]) != white  # without looking ahead: covered, text forced


@pytest.mark.parametrize("seed", range(3))
def test_sequence_constraint_and_decode_tree_agree_on_the_image(seed: int) -> None:
    """AR's element-by-element constraint sees the same images as the level-by-level one."""
    batch = with_fonts(mixed_batch(seed=seed), seed)
    g = torch.Generator().manual_seed(seed)
    batch.bgimg_feat[:, 0] += 1.0 * (torch.rand(batch.num_nodes, generator=g) < 0.2)  # more images
    logits = list(random_logits(batch.num_nodes, seed))
    logits[3][:, 0] += 3.0  # many transparent backgrounds, so images show through
    cfg = DecodingConfig(contrast="aa", contrast_lookahead=0.0)  # greedy, parents first: the same classes
    tree = decode_tree(batch, logits, cfg, None)
    sc = SequenceConstraint(batch, cfg, None)
    dense = [torch.zeros(*sc.mask.shape, lg.size(1)).masked_scatter(sc.mask[..., None], lg) for lg in logits]
    steps = [sc.step(i, tuple(lg[:, i] for lg in dense)) for i in range(sc.mask.size(1))]
    seq = [torch.stack([s[k] for s in steps], 1)[sc.mask] for k in range(4)]
    assert all(torch.equal(a, b) for a, b in zip(tree, seq, strict=True))
    seen = image_visible(batch, tree)
    assert torch.equal(sc.visible[sc.mask], seen)
    under = under_background_image(batch.bgimg_feat.abs().sum(-1) > 0, parent_index(batch.edge_index, batch.num_nodes),
                                   batch.depth)
    assert bool((seen & batch.has_text).any())  # some text is left to the model ...
    assert bool((under & ~seen & batch.has_text).any())  # ... and some under an image is judged all the same
    assert not bool(violations(batch, tree, "aa").any())


@pytest.mark.parametrize("seed", range(3))
def test_decoding_only_failing_pages_gives_the_whole_batch_result(seed: int) -> None:
    """Greedy: pages that already pass keep their classes; the others decode as in the whole batch."""
    from colorgen.constrained import _decode_levels, _one_hot

    batch, raw, text_res, bg_res = argmax_case(seed)
    legible = enforce_contrast(batch, raw, "aa", text_res, bg_res)
    failing_page = batch.batch == int(batch.batch[violations(batch, raw, "aa", text_res, bg_res)][0])
    mixed = Colors(*(torch.where(failing_page, r, ok) for r, ok in zip(raw, legible, strict=True)))
    cfg = DecodingConfig(contrast="aa", contrast_lookahead=0.0)
    ks = (512, 8, 512, 8)
    whole = _decode_levels(batch, [_one_hot(c, k) for c, k in zip(mixed, ks, strict=True)], cfg, None,
                           Residuals(text_res, bg_res))
    got = enforce_contrast(batch, mixed, "aa", text_res, bg_res)
    assert all(torch.equal(a, b) for a, b in zip(got, whole, strict=True))
    assert all(torch.equal(a[~failing_page], b[~failing_page]) for a, b in zip(got, legible, strict=True))
    again = enforce_contrast(batch, legible, "aa", text_res, bg_res)  # nothing to do
    assert all(torch.equal(a, b) for a, b in zip(again, legible, strict=True))
    # on model-like logits too (greedy, parents first): skipping passing pages changes nothing
    plain_logits = list(random_logits(batch.num_nodes, seed + 10))
    for lg, best in zip(plain_logits, (0, 7, 511, 7), strict=True):  # black on opaque white: legible
        lg[:, best] += 12.0
    plain_logits[0][failing_page, 511] += 24.0  # white text on one page
    from colorgen.constrained import _pages_failing

    assert 0 < _pages_failing(batch, [lg.argmax(-1) for lg in plain_logits], "aa", Residuals()).numel() < batch.num_nodes
    assert all(torch.equal(a, b) for a, b in zip(decode_tree(batch, plain_logits, cfg), _decode_levels(batch, plain_logits, cfg, None, None), strict=True))


@pytest.mark.parametrize("image", [True, False])
def test_reveal_clears_a_confident_box_over_an_image_for_the_text_on_it(image: bool) -> None:
    """A hero image under a box the model is sure is opaque white (99.8 %), with 20 white texts on
    it (70 % white, 10 % black). Weighed per element it paints (21), clearing the box costs more
    than the texts lose, so without ``contrast_reveal`` the box stays and the texts turn black.
    With it clearing costs its log-probability once, the box clears and the texts
    keep their white over the image. Without an image behind, clearing shows the white canvas and
    helps no text: the switch changes nothing."""
    n_text = 20
    page = page_from_parents([-1, 0] + [1] * n_text, torch.Generator().manual_seed(0))
    n = page.num_nodes
    page.has_text = torch.tensor([False, False] + [True] * n_text)
    page.bgimg_feat = torch.zeros_like(page.bgimg_feat)
    page.bgimg_feat[0, 0] = float(image)  # the hero carries the image
    page.font_size, page.font_weight = torch.zeros(n), torch.zeros(n, dtype=torch.long)
    batch = Batch.from_data_list([page])
    white, black = 511, 0
    text = torch.full((n, 512), -8.0)
    text[:, white], text[:, black] = float(torch.log(torch.tensor(0.7))), float(torch.log(torch.tensor(0.1)))
    bg = torch.full((n, 512), -8.0)
    bg[:, white] = 0.0
    bg_alpha = torch.full((n, 8), -20.0)
    bg_alpha[:, 0] = 0.0  # clear
    bg_alpha[1, 7], bg_alpha[1, 0] = float(torch.log(torch.tensor(0.998))), float(torch.log(torch.tensor(0.002)))
    logits = (text, one_hot([7] * n, 8), bg, bg_alpha)
    default = decode_tree(batch, logits, DecodingConfig(contrast="aa"))
    reveal = decode_tree(batch, logits, DecodingConfig(contrast="aa", contrast_reveal=True))
    assert int(default[3][1]) == 7 and (default[0][2:] == black).all()  # the box stays, the texts give way
    if image:
        assert int(reveal[3][1]) == 0 and (reveal[0][2:] == white).all()  # the box clears over the image
        assert image_visible(batch, reveal)[2:].all()
    else:
        assert all(torch.equal(a, b) for a, b in zip(default, reveal, strict=True))
    assert not bool(violations(batch, reveal, "aa").any())
