"""WCAG 2.x contrast of a page tree, vectorised: luminance, alpha compositing, effective backgrounds.

Why a model of our own: the constrained decoders must know, before anything is rendered, whether
a text colour is legible. It follows what browsers and axe-core do when no background image or
overlapping element intervenes (CSS opacity is read as axe-core reads it, :func:`paint_opacity`): an element's *effective background* is its own
background composited (source-over, alpha) over its parent's effective background, the page
canvas (white) below the root, which takes body's background when ``html`` paints none, as CSS
hands it there (:func:`propagate_canvas`); its text colour is composited over that in turn. Where the data
carry what lies behind each element on screen, "its parent" is that element
(:func:`backdrop_index`); where they carry the stack under a text's own first line and it leaves the
forest, the text is seen on that stack (:func:`text_stacks`). The tree is walked level by level
(all nodes of one depth at once), never node by node.

Colours are float tensors ``[..., 3]`` (RGB 0-255) or ``[..., 4]`` (RGBA, alpha in [0, 1]).

Thresholds (WCAG 2.x 1.4.3 / 1.4.6, sizes as axe-core computes them): large text is
>= 18 pt (24 px) or bold (weight >= 700) and >= 14 pt (18.66 px); AA needs 4.5:1 (large 3:1),
AAA 7:1 (large 4.5:1). Official WebColor files carry no font size or weight: every text there
is read as normal size, i.e. the stricter threshold applies (font size 0 = unknown).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

CANVAS = (255.0, 255.0, 255.0)  # the browser's default page canvas below the root
LEVELS = {"aa": (4.5, 3.0), "aaa": (7.0, 4.5)}  # level -> (normal text, large text) minimum ratio
BOLD_WEIGHT = 700
LARGE_PT, LARGE_BOLD_PT = 18.0, 14.0


def relative_luminance(rgb: Tensor) -> Tensor:
    """WCAG relative luminance of sRGB colours ``[..., 3]`` (0-255) -> ``[...]`` in [0, 1]."""
    c = rgb.double() / 255.0
    lin = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ torch.tensor([0.2126, 0.7152, 0.0722], dtype=lin.dtype, device=lin.device)


def contrast_ratio(lum_a: Tensor, lum_b: Tensor) -> Tensor:
    """(lighter + 0.05) / (darker + 0.05), in [1, 21]; order of the arguments does not matter."""
    return (torch.maximum(lum_a, lum_b) + 0.05) / (torch.minimum(lum_a, lum_b) + 0.05)


def paint_opacity(batch) -> tuple[Tensor, Tensor] | None:
    """Factors ``[N]`` (float64) by which the page's CSS opacity multiplies each element's background
    alpha and text alpha, as axe-core reads it: a background by its element's own opacity, a text by
    the product of its element's and every ancestor's (``opacity`` / ``text_opacity`` of our
    extraction). None where the data carry none below 1 (official files: everything opaque)."""
    own, text = getattr(batch, "opacity", None), getattr(batch, "text_opacity", None)
    if own is None or text is None or (bool((own >= 1).all()) and bool((text >= 1).all())):
        return None
    return own.double(), text.double()


def with_opacity(rgba: Tensor, factor: Tensor | None) -> Tensor:
    """``rgba [..., 4]`` with its alpha multiplied by ``factor [...]`` (None: as it is)."""
    if factor is None:
        return rgba
    out = rgba.double().clone()
    out[..., 3] *= factor.to(out.device)
    return out


def painted(batch, text_rgba: Tensor, bg_rgba: Tensor) -> tuple[Tensor, Tensor]:
    """Node-aligned text and background RGBA as the page paints them: :func:`paint_opacity` applied,
    then body's background handed to the canvas where CSS does (:func:`propagate_canvas`)."""
    factors = paint_opacity(batch)
    if factors is not None:
        text_rgba, bg_rgba = with_opacity(text_rgba, factors[1]), with_opacity(bg_rgba, factors[0])
    pairs = canvas_pairs(batch)
    return text_rgba, (bg_rgba if pairs is None else propagate_canvas(bg_rgba, pairs))


def background_image(batch) -> Tensor:
    """Elements painting a background image over their colour ``[N]`` bool: image features, or
    (where the data record it) any background-image layer, a gradient or an image that did not
    load included, which axe-core too leaves "incomplete". All False when the data have neither."""
    image = getattr(batch, "bgimg_feat", None)
    layer = getattr(batch, "bg_layer", None)
    out = torch.zeros(batch.num_nodes, dtype=torch.bool) if image is None else image.abs().sum(-1) > 0
    return out if layer is None else out | layer.to(out.device)


@dataclass(frozen=True)
class CanvasPairs:
    """Per page whose root is ``html`` with a ``body`` child seen on it: both ids (batch ids), and
    whether ``html`` carries a background image (which keeps body's background on body)."""

    html: Tensor  # [P]
    body: Tensor  # [P]
    html_image: Tensor  # [P] bool


def canvas_pairs(batch) -> CanvasPairs | None:
    """The :class:`CanvasPairs` of a page or batch (None: no page has them, or the data carry no tags).

    Why: CSS hands the body's background to the canvas when the root ``html`` paints none
    (CSS Backgrounds 3, 2.11.2), so it shows wherever body's own box does not reach: a fixed
    header above a body with a top margin lies on body's colour, not on white. axe-core does
    the same (``getPageBackgroundColors``, ``sortPageBackground``).
    """
    if getattr(batch, "tag", None) is None or batch.num_nodes == 0:
        return None
    return _cached(batch, "_canvas_pairs", ("tag", "has_text", "bgimg_feat", "bg_layer", *_TREE_KEYS), _canvas_pairs)


def _canvas_pairs(batch) -> CanvasPairs | None:
    from colorgen.data.tags import tag_index

    tag = batch.tag
    parent = parent_index(batch.edge_index, batch.num_nodes).to(tag.device)
    on, _ = backdrop_of(batch)
    on = on.to(tag.device)
    html_root = (tag == tag_index("html")) & (parent < 0)
    text = getattr(batch, "has_text", None)
    if text is not None:  # html with text of its own (no parser makes one): decoded before body, so kept white
        html_root &= ~text.to(tag.device)
    body = ((tag == tag_index("body")) & (parent >= 0)).nonzero().squeeze(1)
    body = body[html_root[parent[body]] & (on[body] == parent[body])]
    if body.numel() == 0:
        return None
    html = parent[body]
    keep = torch.ones(body.numel(), dtype=torch.bool, device=tag.device)
    keep[1:] = html[1:] != html[:-1]  # one body per html (the first)
    html, body = html[keep], body[keep]
    return CanvasPairs(html, body, background_image(batch).to(tag.device)[html])


def canvas_moves(bg_alpha: Tensor, pairs: CanvasPairs) -> Tensor:
    """``[P]`` bool: the pages whose ``html`` paints no background (painted alpha ``bg_alpha [N]``
    0, no image), so that CSS hands body's to the canvas."""
    return (bg_alpha[pairs.html.to(bg_alpha.device)] == 0) & ~pairs.html_image.to(bg_alpha.device)


def propagate_canvas(bg_rgba: Tensor, pairs: CanvasPairs) -> Tensor:
    """``bg_rgba [N, 4]`` (painted) with, on every page whose ``html`` paints no background (alpha 0,
    no image), ``body``'s background moved to ``html``: body then paints none, and everything seen
    on ``html`` (or through a transparent body) is seen on body's colour over the white canvas."""
    move = canvas_moves(bg_rgba[:, 3], pairs)
    if not bool(move.any()):
        return bg_rgba
    html, body = pairs.html.to(bg_rgba.device), pairs.body.to(bg_rgba.device)
    out = bg_rgba.clone()
    out[html[move]] = bg_rgba[body[move]]
    out[body[move], 3] = 0.0
    return out


def composite(top: Tensor, bottom: Tensor) -> Tensor:
    """Source-over: RGBA ``top [..., 4]`` over opaque RGB ``bottom [..., 3]`` -> opaque RGB ``[..., 3]``.

    Rounded to whole channel values (halves up), as axe-core rounds each flattening step: an
    almost opaque background (alpha 254/255) then reads as the colour the audit sees, and a
    ratio the model puts just above the threshold is not one the audit puts just below it.
    """
    alpha = top[..., 3:].to(bottom.dtype)
    return torch.floor(alpha * top[..., :3].to(bottom.dtype) + (1.0 - alpha) * bottom + 0.5)


def parent_index(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Parent of every node (``-1`` for roots) from child->parent edges ``[2, E]`` (PyG batches too)."""
    parent = torch.full((num_nodes,), -1, dtype=torch.long, device=edge_index.device)
    parent[edge_index[0]] = edge_index[1]
    return parent


def backdrop_index(parent: Tensor, depth: Tensor, box: Tensor | None = None,
                   behind: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(the element each element is seen on ``[N]``, ``-1`` for roots; its depth in that forest ``[N]``).

    Why: a positioned sidebar link can sit over a sibling's background, or outside its parent's
    box, and there the parent's background is not behind it (axe-core samples the backdrop at
    the element's centre). In order of preference:

    * ``behind`` (``[N]`` global ids, ``-1`` = unknown): the element extraction found painted
      right below it at that point, which may be any element of the page, or the nearest of its
      ancestors whose box covers the element's (its centre and half its box, :func:`_covering`);
    * ``box`` (``[N, 4]`` left, top, width, height; width < 0 = unknown): the nearest ancestor
      whose box holds the element's centre; ancestors without a box and the top two levels
      (``html``, ``body``: CSS spreads their background over the whole canvas) always count;
    * the parent (official files, which carry neither).

    Effective backgrounds then compose along this forest, so it is walked by its own depth (the
    second tensor), which equals ``depth`` without ``behind``. A page whose ``behind`` links
    would form a cycle falls back to its boxes.
    """
    box = None if box is None else box.to(parent.device).double()
    out = parent.clone()
    if box is not None and parent.numel():
        out = _box_backdrop(parent, depth.to(parent.device), box)
    if behind is None or parent.numel() == 0:
        return out, depth
    behind = behind.to(parent.device)
    if box is not None:
        behind = _covering(behind, parent, box)
    on = torch.where(behind >= 0, behind, out)
    level = _forest_depth(on)
    if level is None:  # a cycle: keep the tree-shaped rule for every node
        return out, depth
    return on, level


def _climb(start: Tensor, parent: Tensor, accepts) -> Tensor:
    """Per node, ``start`` moved up through ``parent`` until ``accepts(nodes, candidates)`` holds
    (``-1`` where the root is passed); all nodes at once, one step per round."""
    out = start.clone()
    moving = out >= 0
    while True:
        rows = moving.nonzero().squeeze(1)
        if rows.numel() == 0:
            return out
        cand = out[rows]
        ok = accepts(rows, cand)
        moving[rows[ok]] = False
        up = parent[cand[~ok]]
        out[rows[~ok]] = up
        moving[rows[~ok]] = up >= 0


def _box_backdrop(parent: Tensor, depth: Tensor, box: Tensor) -> Tensor:
    """The nearest ancestor whose box holds each element's centre (unknown boxes, html, body: any)."""
    known = box[:, 2] >= 0
    covers_all = ~known | (depth <= 1)

    def holds(i: Tensor, a: Tensor) -> Tensor:
        return ~known[i] | covers_all[a] | _holds_centre(box, a, i)

    return _climb(parent, parent, holds)


def _holds_centre(box: Tensor, j: Tensor, i: Tensor, slack: float = 0.0) -> Tensor:
    """Whether the boxes of ``j`` hold the centres of the boxes of ``i`` (``slack`` px around ``j``)."""
    cx, cy = box[i, 0] + box[i, 2] / 2, box[i, 1] + box[i, 3] / 2
    return ((box[j, 0] - slack <= cx) & (cx <= box[j, 0] + box[j, 2] + slack)
            & (box[j, 1] - slack <= cy) & (cy <= box[j, 1] + box[j, 3] + slack))


def _covering(behind: Tensor, parent: Tensor, box: Tensor) -> Tensor:
    """``behind`` moved up to the nearest ancestor-or-self whose box covers the element's centre
    (1 px slack) and at least half of its box (``-1`` if none; unknown boxes count as covering).

    Why: ``behind`` was found at one point, but a transparent element hands its backdrop on to all
    its descendants, wherever they are in its box. The found element's ancestors are painted below
    it, so one covering the box lies behind it: a transparent sidebar found over a small form field
    lies on the page around the field. Half, not all: a link whose padding overflows its list item
    by a few pixels still lies on that item (and on the dark bar around it, where axe-core looks)."""
    left, top = box[:, 0], box[:, 1]
    right, bottom = left + box[:, 2], top + box[:, 3]
    half_area = 0.5 * box[:, 2] * box[:, 3]
    known = box[:, 2] >= 0

    def covers(i: Tensor, j: Tensor) -> Tensor:
        w = (torch.minimum(right[i], right[j]) - torch.maximum(left[i], left[j])).clamp(min=0)
        h = (torch.minimum(bottom[i], bottom[j]) - torch.maximum(top[i], top[j])).clamp(min=0)
        return ~known[i] | ~known[j] | (_holds_centre(box, j, i, slack=1.0) & (w * h >= half_area[i]))

    return _climb(behind, parent, covers)


def _forest_depth(up: Tensor) -> Tensor | None:
    """Depth of every node in the forest of ``up`` links (roots ``-1``), or None if they form a cycle.

    Pointer jumping: each round adds the depth counted by the node's current target and jumps to
    the target's target, so a forest of depth D takes log2(D) rounds of whole-tensor ops."""
    n = up.numel()
    level = (up >= 0).long()
    target = up.clone()
    for _ in range(max(n, 1).bit_length() + 1):
        live = target >= 0
        if not bool(live.any()):
            return level
        t = target.clamp(min=0)
        level = torch.where(live, level + level[t], level)
        target = torch.where(live, target[t], target)
    return None


_TREE_KEYS = ("edge_index", "depth", "box", "behind", "batch")


def backdrop_of(batch) -> tuple[Tensor, Tensor]:
    """:func:`backdrop_index` of a page or batch, with the boxes and ``behind`` links its data have.

    Kept on the batch object for as long as the tensors it was computed from are the ones the
    batch holds: decoding, the re-check after the Upsampler and the audit of one batch all need it.
    """
    return _cached(batch, "_backdrop", _TREE_KEYS, _backdrop_of)


def _cached(batch, name: str, keys: tuple[str, ...], compute):
    """``compute(batch)``, kept on the batch object for as long as its tensors ``keys`` are the same."""
    tree = tuple(getattr(batch, k, None) for k in keys)
    cached = getattr(batch, "__dict__", {}).get(name)
    if cached is not None and all(a is b for a, b in zip(cached[0], tree, strict=True)):
        return cached[1]
    out = compute(batch)
    try:
        object.__setattr__(batch, name, (tree, out))  # beside, not inside, a PyG batch's store
    except (AttributeError, TypeError):  # objects without a __dict__: no cache
        pass
    return out


def _to_batch_ids(batch, ids: Tensor) -> Tensor:
    """Page-local element ids (``-1`` = none; any trailing shape) -> batch node ids."""
    page = getattr(batch, "batch", None)
    if page is None or batch.num_nodes == 0:
        return ids
    new_page = torch.ones(batch.num_nodes, dtype=torch.bool, device=page.device)
    new_page[1:] = page[1:] != page[:-1]
    first = torch.where(new_page, torch.arange(batch.num_nodes, device=page.device), 0).cummax(0).values
    first = first.to(ids.device).reshape(-1, *([1] * (ids.dim() - 1)))
    return torch.where(ids >= 0, ids + first, ids)


def _backdrop_of(batch) -> tuple[Tensor, Tensor]:
    parent = parent_index(batch.edge_index, batch.num_nodes)
    behind = getattr(batch, "behind", None)
    if behind is not None:
        behind = _to_batch_ids(batch, behind)
    return backdrop_index(parent, batch.depth, getattr(batch, "box", None), behind)


@dataclass(frozen=True)
class TextStacks:
    """Text elements seen on another element than their backdrop forest says (batch ids).

    Why: a transparent element hands one backdrop, found at its own centre, to everything in it;
    a sidebar over several panels hands the same one to all its links, while each link lies on
    the panel under its own text, which is where axe-core looks. ``over[i]`` (``-1`` = the
    forest holds) is the element below text ``i``'s stack of ancestors at its first line's centre, and
    ``chain[i]`` those ancestors, topmost first (``-1`` padded): the text is seen on its own
    background over theirs over ``over``'s effective background.
    """

    over: Tensor  # [N]
    chain: Tensor  # [N, K]
    # [N] the order to decide elements in: the forest depth, raised so that the element under a
    # re-seated text comes before it (decoding goes parents first, level by level); None = forest
    order: Tensor | None = None

    def rows(self) -> Tensor:
        return (self.over >= 0).nonzero().squeeze(1)


_STACK_KEYS = ("stack", *_TREE_KEYS)


def text_stacks(batch, backdrop: tuple[Tensor, Tensor] | None = None) -> TextStacks | None:
    """The :class:`TextStacks` of a page or batch from its ``stack`` data; None without any.

    A text is re-seated only where its stack leaves its ancestors for another element than the
    last of them has in the forest, and where that element can be decided before the text: the
    decoding order (:attr:`TextStacks.order`) puts it first even when it lies deeper in the forest
    (a sidebar's link over a content panel), unless the page's re-seats form a cycle, where only
    elements on shallower levels of the forest count.
    """
    if getattr(batch, "stack", None) is None or batch.num_nodes == 0:
        return None
    out = _cached(batch, "_text_stacks", _STACK_KEYS,
                  lambda b: _text_stacks(b, backdrop_of(b) if backdrop is None else backdrop))
    return out


def _text_stacks(batch, backdrop: tuple[Tensor, Tensor]) -> TextStacks | None:
    stack = batch.stack  # per text: its ancestors at the top of its stack, then one that is not (graph.py)
    if not bool((stack >= 0).any()):
        return None
    on, level = backdrop
    stack = _to_batch_ids(batch, stack.to(on.device))
    k = (stack >= 0).sum(1) - 1  # where the element below the ancestors is
    over = torch.where(k >= 1, stack.gather(1, k.clamp(min=0)[:, None]).squeeze(1), -1)
    last = stack.gather(1, (k - 1).clamp(min=0)[:, None]).squeeze(1)
    chain = stack.masked_fill(torch.arange(stack.size(1), device=on.device)[None, :] >= k[:, None], -1)
    leaves = (over >= 0) & (on[last.clamp(min=0)] != over)
    forest = level.to(on.device)
    # html's children keep their level: decoding decides body there, before what lies on html
    order = decode_order(on, forest, torch.where(leaves & (forest >= 2), over, -1))
    lv = forest if order is None else order
    ordered = (lv[over.clamp(min=0)] < lv) & ((chain < 0) | (lv[chain.clamp(min=0)] < lv[:, None])).all(1)
    moved = leaves & ordered
    if not bool(moved.any()):
        return None
    return TextStacks(torch.where(moved, over, -1), chain.masked_fill(~moved[:, None], -1), order)


def decode_order(parent: Tensor, depth: Tensor, before: Tensor) -> Tensor | None:
    """Levels ``[N]`` to decide elements in: each after its forest ``parent`` and after
    ``before[i]`` (``-1``: none), the forest ``depth`` where nothing else holds; None when the
    ``before`` links close a cycle with the forest (then no order puts every one first)."""
    if not bool((before >= 0).any()):
        return None
    order = depth.clone()
    up, first = parent.clamp(min=0), before.clamp(min=0)
    for _ in range(order.numel() + 1):  # a longest-path relaxation; a few rounds on real pages
        need = torch.maximum(order, torch.where(parent >= 0, order[up] + 1, 0))
        need = torch.maximum(need, torch.where(before >= 0, order[first] + 1, 0))
        if torch.equal(need, order):
            return order
        if int(need.max()) > order.numel():  # longer than any path: a cycle
            return None
        order = need
    return None


def stacked_below(bg_rgba: Tensor, eff: Tensor, stacks: TextStacks, rows: Tensor) -> Tensor:
    """Opaque RGB ``[m, 3]`` below the own backgrounds of the re-seated texts ``rows``: their
    ancestors' backgrounds at their centre (``bg_rgba``, rendered) composited over the effective
    background ``eff`` of the element they lie on, bottom first."""
    seen = eff[stacks.over[rows]].double().clone()
    chain = stacks.chain[rows]
    for j in reversed(range(chain.size(1))):
        c = chain[:, j]
        m = c >= 0
        if bool(m.any()):
            seen[m] = composite(bg_rgba[c[m]].double(), seen[m])
    return seen


def depth_levels(depth: Tensor) -> list[Tensor]:
    """Node indices grouped by depth, root level first (one sort, then split)."""
    if depth.numel() == 0:
        return []
    order = torch.argsort(depth, stable=True)
    counts = torch.bincount(depth[order])
    return [level for level in torch.split(order, counts.tolist()) if level.numel()]


def effective_backgrounds(
    bg_rgba: Tensor, parent: Tensor, depth: Tensor, canvas: tuple[float, float, float] = CANVAS
) -> Tensor:
    """Opaque RGB ``[N, 3]`` (float64) each element's content is seen on: its background over its ancestors'."""
    eff = torch.empty(bg_rgba.shape[0], 3, dtype=torch.float64, device=bg_rgba.device)
    white = torch.tensor(canvas, dtype=torch.float64, device=bg_rgba.device)
    for level in depth_levels(depth):
        par = parent[level]
        below = torch.where((par >= 0)[:, None], eff[par.clamp(min=0)], white)
        eff[level] = composite(bg_rgba[level].double(), below)
    return eff


def under_background_image(
    has_image: Tensor, parent: Tensor, depth: Tensor, bg_alpha: Tensor | None = None
) -> Tensor:
    """Elements whose text is seen over a background image ``[N]`` bool.

    Why: recolouring changes background colours, never images, so text over an image (a hero
    photo) is seen on the image, which no colour model knows; axe-core too leaves such text
    "incomplete" rather than judging it. With ``bg_alpha`` (rendered background alpha in [0, 1])
    the rule is axe-core's: the image is visible behind element ``i`` iff ``i`` carries it, or
    it is visible behind the parent and ``i``'s own background is not opaque (an opaque
    background hides every image below it). Without ``bg_alpha`` (conservative): an image on
    the element or on any ancestor counts, opaque backgrounds in between or not.
    """
    out = has_image.clone()
    for level in depth_levels(depth)[1:]:
        par = parent[level]
        inherit = (par >= 0) & out[par.clamp(min=0)]
        if bg_alpha is not None:
            inherit &= bg_alpha[level] < 1.0
        out[level] |= inherit
    return out


def large_text(font_size: Tensor, font_weight: Tensor) -> Tensor:
    """WCAG large text as axe-core decides it (px -> pt rounded up); size 0 (unknown) is normal text."""
    pt = torch.ceil(font_size.double() * 72) / 96
    bold = font_weight >= BOLD_WEIGHT
    return (pt >= LARGE_PT) | (bold & (pt >= LARGE_BOLD_PT))


def required_ratio(level: str, large: Tensor) -> Tensor:
    """Minimum contrast ratio per element for ``level`` (``aa`` / ``aaa``), float64 ``[N]``."""
    if level not in LEVELS:
        raise ValueError(f"unknown contrast level {level!r}; choose from {sorted(LEVELS)}")
    normal, big = LEVELS[level]
    return torch.where(large, torch.tensor(big, dtype=torch.float64), torch.tensor(normal, dtype=torch.float64))


def text_contrast(text_rgba: Tensor, effective_bg: Tensor) -> Tensor:
    """Contrast ratio ``[N]`` of text colours (alpha composited over the effective background) against it."""
    fg = composite(text_rgba.double(), effective_bg)
    return contrast_ratio(relative_luminance(fg), relative_luminance(effective_bg))


def font_of(batch) -> tuple[Tensor, Tensor]:
    """Font size / weight of a batch; zeros (normal text) for data without them (official files)."""
    n = batch.num_nodes
    size = getattr(batch, "font_size", None)
    weight = getattr(batch, "font_weight", None)
    size = torch.zeros(n) if size is None else size
    weight = torch.zeros(n, dtype=torch.long) if weight is None else weight
    return size, weight


def tree_contrast(
    text_rgba: Tensor, bg_rgba: Tensor, parent: Tensor, depth: Tensor, stacks: TextStacks | None = None
) -> tuple[Tensor, Tensor]:
    """(contrast ratio of every element's text ``[N]``, what each element's text is seen on ``[N, 3]``:
    its effective background, or for the texts ``stacks`` re-seats, its background over their stack)."""
    eff = effective_backgrounds(bg_rgba, parent, depth)
    rows = None if stacks is None else stacks.rows()
    if rows is not None and rows.numel():
        eff[rows] = composite(bg_rgba[rows].double(), stacked_below(bg_rgba, eff, stacks, rows))
    return text_contrast(text_rgba, eff), eff


def failing(ratio: Tensor, required: Tensor, has_text: Tensor) -> Tensor:
    """Text elements below their required ratio (WCAG: "at least" the ratio passes)."""
    return has_text & (ratio < required)


# CIELAB (D65), used to pick the feasible colour nearest to the model's choice
_RGB_TO_XYZ = torch.tensor(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
    dtype=torch.float64,
)
_WHITE_XYZ = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)


def srgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB ``[..., 3]`` (0-255) -> CIELAB ``[..., 3]`` (D65)."""
    c = rgb.double() / 255.0
    lin = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = (lin @ _RGB_TO_XYZ.to(lin.device).T) / _WHITE_XYZ.to(lin.device)
    eps = (6 / 29) ** 3
    f = torch.where(xyz > eps, xyz.clamp(min=eps) ** (1 / 3), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return torch.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], dim=-1)

