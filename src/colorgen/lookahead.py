"""Backgrounds chosen with their text in view: greedy contrast-constrained decoding for tree models.

Why: the tree generators (NAR, CVAE, Stats) predict every element at once but independently, so
a page can come out with light text (right) on a section the model made white (wrong). Decoding
parents first, the constraint then has only the text left to change and turns right colours into
wrong ones: on the real test pages, NAR + AA lost 689 correct text colours this way, and for
435 of them the true text passes on the true backgrounds; the section above was off.

So, greedy only, each background is chosen among ``top_k`` (colour, alpha) candidates (the
model's own pair, a transparent one and the likeliest visible ones, :func:`background_candidates`) by

    painted * min(0, log p(background) - log p(the model's own pair))
      + weight * sum over the text it lies under of (best legible log p(text) - max log p(text))

i.e. the model's own belief in the background, counted once per element it paints (its subtree:
a proxy of area, so that a whole page or section gives way only for much text), plus what each
text element seen on it would have to give up to be legible there. On the test pages (NAR),
without the area term whole pages turned dark and Pixel-FCD went from 116 to 258; with it, 144
(``experiments/contrast/lookahead.md``).

The text an element's background lies under: its own, and every descendant's whose path to it has
no opaque background (predicted backgrounds in between are the
model's best guesses, composited: a descendant's backdrop is an affine function of this one).
A text over a background image costs nothing while the image shows behind it, and counts once a
background chosen between them is opaque and hides it (the decoder's rule): so a box that would
cover a hero photo under white headings gives way rather than the headings, as the model painted
them for the photo. Text is taken as opaque here; the legibility itself is still guaranteed by
:func:`colorgen.constrained.decode_tree`, which runs after this with the chosen backgrounds.
Sampling is left alone (it would change the distribution drawn from).

The best legible log-probability for a backdrop of luminance ``L`` is a lookup: text of
luminance ``l`` is legible iff ``l >= (L + .05) r - .05`` or ``l <= (L + .05) / r - .05``, so with
each class legible from some grid point of ``L`` on (darker) or up to one (lighter), running
maxima of the log-probabilities answer it; :class:`LegibleLookup` tabulates that on a fine grid
of ``L`` once per element.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES
from colorgen.metrics.contrast import canvas_moves, composite, depth_levels, relative_luminance

NEG = float("-inf")


class LegibleLookup:
    """For text elements: log p lost to legibility on a backdrop of given luminance.

    Tabulated once per element on a grid of backdrop luminances, uniform in ``log(L + 0.05)``
    (what contrast ratios are made of): ``GRID`` points put neighbours 0.6 % apart in ratio, and a
    query is one gather instead of a search over the 512 classes.
    """

    GRID = 512
    _LO, _HI = torch.log(torch.tensor(0.05, dtype=torch.float64)), torch.log(torch.tensor(1.05, dtype=torch.float64))

    def __init__(self, text_logp: Tensor, text_lum: Tensor, need: Tensor):
        # text_logp, text_lum: [m, 512]; need: [m] required ratio (0 = anything goes). Logits
        # serve as well as log-probabilities: only differences within a row are kept
        # float32 throughout: a ranking heuristic, and half the memory traffic of float64.
        # Text of luminance l is legible on the grid's backdrop g, darker, iff
        # log((l + .05) r) <= LO + g step, and lighter iff log((l + .05) / r) >= LO + g step: so
        # each class is legible darker from one grid index up and lighter up to another, and the
        # best legible log p per grid point is a running maximum of the classes bucketed there
        # (no sort, no search).
        g_count = self.GRID
        lp = text_logp.float()
        step = float((self._HI - self._LO) / (g_count - 1))
        need = need.float()[:, None]
        free = need <= 0
        log_r = torch.log(need.clamp(min=1e-9))
        pos = (torch.log(text_lum.float().clamp(min=0) + 0.05) - float(self._LO)) / step  # [m, 512]
        first_dark = torch.ceil(pos + log_r / step).clamp(0, g_count).long()  # g_count: never
        last_light = torch.floor(pos - log_r / step).clamp(-1, g_count - 1).long()  # -1: never
        m = lp.size(0)
        best_dark = torch.full((m, g_count + 1), NEG, device=lp.device).scatter_reduce_(1, first_dark, lp, "amax")
        self.dark = best_dark[:, :g_count].cummax(dim=1).values  # [m, G]
        # lighter text, tabulated from the top of the grid down (index G - 1 - g): a running
        # maximum in the same direction, and no flips of the table
        best_light = torch.full((m, g_count + 1), NEG, device=lp.device).scatter_reduce_(1, g_count - 1 - last_light, lp, "amax")
        self.light_down = best_light[:, :g_count].cummax(dim=1).values  # [m, G]
        self.top = lp.max(dim=1).values
        self.free = free.squeeze(1)

    @classmethod
    def grid_luminance(cls) -> Tensor:
        return torch.exp(torch.linspace(cls._LO, cls._HI, cls.GRID, dtype=torch.float64)) - 0.05

    @classmethod
    def grid_index(cls, lum: Tensor) -> Tensor:
        pos = (torch.log(lum.double().clamp(0, 1) + 0.05) - cls._LO) / (cls._HI - cls._LO) * (cls.GRID - 1)
        return torch.round(pos).long().clamp(0, cls.GRID - 1)

    def cost(self, rows: Tensor, backdrop_lum: Tensor) -> Tensor:
        """``rows [p]`` index text elements, ``backdrop_lum [p, c]``: log p lost to legibility ``[p, c]``."""
        g, r = self.grid_index(backdrop_lum), rows[:, None]
        lost = torch.maximum(self.dark[r, g], self.light_down[r, self.GRID - 1 - g]) - self.top[r]
        # nothing legible at all: the constraint will change a background instead; a large but
        # finite loss keeps candidates comparable
        lost = torch.where(torch.isfinite(lost), lost, torch.full_like(lost, -50.0))
        return torch.where(self.free[r], torch.zeros_like(lost), lost).double()


def _backdrop_maps(
    parent: Tensor, depth: Tensor, bg_rgba: Tensor, text_nodes: Tensor, image: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Pairs (ancestor ``a``, text element ``j``) with ``eff_j = s * eff_a + o`` under the given backgrounds.

    ``eff_a`` is ``a``'s effective background (its own background included); ``s`` is the product of
    ``1 - alpha`` of the backgrounds strictly below ``a`` on the path down to ``j`` (``j``'s own
    included), ``o [p, 3]`` their composite. ``a == j`` is the pair of an element and its own text.
    Pairs with ``s == 0`` (an opaque background in between) are dropped. The maps are exact up to
    the rounding of each compositing step (:func:`colorgen.metrics.contrast.composite`): they rank
    candidates; the decoder judges the chosen colours exactly. Last, per pair: whether an element
    from ``a`` down to ``j`` carries a background ``image`` (``[N]`` bool; none given: False), which
    then shows behind ``j``'s text whatever ``a`` paints (nothing in between is opaque).
    """
    anc_list, txt_list, s_list, o_list = [text_nodes], [text_nodes], [], []
    m = text_nodes.numel()
    s = torch.ones(m, dtype=torch.float64, device=parent.device)
    o = torch.zeros(m, 3, dtype=torch.float64, device=parent.device)
    s_list.append(s.clone())
    o_list.append(o.clone())
    img = torch.zeros(m, dtype=torch.bool, device=parent.device) if image is None else image[text_nodes].clone()
    img_list = [img.clone()]
    node = text_nodes.clone()
    alive = torch.ones(m, dtype=torch.bool, device=parent.device)
    for _ in range(int(depth.max().item()) + 1 if depth.numel() else 0):
        # fold node's own background into the map (it lies above everything further up),
        # then step to its parent: eff_j = o + s * (a rgb + (1 - a) eff_parent)
        a = bg_rgba[node, 3].double()
        o = o + (s * a)[:, None] * bg_rgba[node, :3].double()
        s = s * (1 - a)
        up = parent[node]
        alive = alive & (up >= 0) & (s > 0)
        if not bool(alive.any()):
            break
        node = torch.where(alive, up, node)
        if image is not None:
            img = img | image[node]
        anc_list.append(node[alive])
        txt_list.append(text_nodes[alive])
        s_list.append(s[alive])
        o_list.append(o[alive])
        img_list.append(img[alive])
    return torch.cat(anc_list), torch.cat(txt_list), torch.cat(s_list), torch.cat(o_list), torch.cat(img_list)


TRANSPARENT, BLACK = 0, 0  # alpha class of a transparent background; rgb class of black (first)
VISIBLE_FLOOR = 1e-6  # p(black | visible) where the model's black is all transparent mass


def visible_rgb_logp(lg_bg_rgb: Tensor, lg_bg_alpha: Tensor) -> Tensor:
    """log p(background colour | the background is visible) ``[n, 512]``.

    The data write every transparent background as black (``rgba(0, 0, 0, 0)``, FORMAT.md), so a
    model's black background carries the mass of transparency too: taken at its word, a transparent
    element made opaque turns black (on the test pages the lookahead made 510 of Stats (mode)'s
    transparent backgrounds opaque black; the real test pages have 131 visible black backgrounds in all).
    With ``p0 = p(alpha = transparent)``: ``p(rgb | visible) = (p(rgb) - p0 [rgb = black]) / (1 - p0)``.
    """
    vis = lg_bg_rgb.float().log_softmax(1)  # a fresh tensor: changed in place below
    p0 = lg_bg_alpha.float().softmax(1)[:, TRANSPARENT].clamp(max=1 - VISIBLE_FLOOR)
    vis[:, BLACK] = (vis[:, BLACK].exp() - p0).clamp(min=VISIBLE_FLOOR).log()
    return vis.sub_(torch.log1p(-p0)[:, None])


def background_candidates(lg_bg_rgb: Tensor, lg_bg_alpha: Tensor, top_k: int) -> tuple[Tensor, Tensor, Tensor]:
    """``top_k`` background (rgb, alpha) candidates per node and what each costs, ``[n, k]`` x 3.

    Candidate 0 is what decoding gives (each head's argmax), 1 a transparent background, the rest
    the best visible pairs by ``log p(alpha) + log p(rgb | visible)`` (:func:`visible_rgb_logp`).
    The cost is that joint log-probability's loss against candidate 0's, and nothing for a
    candidate the model finds at least as likely: so a background changes only for its text.
    """
    n = lg_bg_rgb.size(0)
    lp_alpha = lg_bg_alpha.float().log_softmax(1)
    vis = visible_rgb_logp(lg_bg_rgb, lg_bg_alpha)
    k_vis = max(min(top_k, NUM_RGB_CLASSES * (NUM_ALPHA_CLASSES - 1)) - 2, 0)
    top_rgb, top_rgb_i = vis.topk(min(k_vis, NUM_RGB_CLASSES), dim=1)
    top_alpha, top_alpha_i = lp_alpha[:, 1:].topk(min(k_vis, NUM_ALPHA_CLASSES - 1), dim=1)
    ka = top_alpha.size(1)
    _, pair = (top_rgb[:, :, None] + top_alpha[:, None, :]).reshape(n, -1).topk(k_vis, dim=1)
    first_rgb, first_alpha = lg_bg_rgb.argmax(1, keepdim=True), lg_bg_alpha.argmax(1, keepdim=True)
    rgb = torch.cat([first_rgb, torch.full_like(first_rgb, BLACK), top_rgb_i.gather(1, pair // ka)], 1)
    alpha = torch.cat([first_alpha, torch.full_like(first_alpha, TRANSPARENT), 1 + top_alpha_i.gather(1, pair % ka)], 1)
    joint = lp_alpha.gather(1, alpha) + torch.where(alpha == TRANSPARENT, 0.0, vis.gather(1, rgb))
    return rgb, alpha, (joint - joint[:, :1]).clamp(max=0.0)


def lookahead_backgrounds(
    text_logits: Tensor, lg_bg_rgb: Tensor, lg_bg_alpha: Tensor, parent: Tensor, depth: Tensor, text_nodes: Tensor,
    required: Tensor, bg_rgba_of: Any, text_lum: Tensor, canvas: Tensor, weight: float = 1.0, top_k: int = 8,
    canvas_pairs: Any = None, image: Tensor | None = None, reveal: bool = False,
) -> tuple[Tensor, Tensor]:
    """Background (rgb, alpha) classes ``[N]`` x 2, chosen parents first as the module docstring says.

    ``text_logits [m, 512]``: the text colours' logits of ``text_nodes [m]``, the elements with
    text; ``lg_bg_rgb [N, 512]``, ``lg_bg_alpha [N, 8]``: the backgrounds' logits;
    ``required [m]``: the ratio each needs (0 where no colour decides, e.g. over an image);
    ``text_lum [m, 512]``: luminance of each one's text classes as rendered opaque;
    ``bg_rgba_of(rows, rgb, alpha)``: rendered RGBA (0-255, alpha in [0, 1]) of background classes
    for node rows; ``canvas [3]``; ``weight``: of the text's cost against the background's own
    log-probability; ``canvas_pairs``: (:class:`colorgen.metrics.contrast.CanvasPairs`, node ids)
    where body lies on a level of its own right below html: once it is picked, what lies on a
    html that paints nothing is seen on body's colour, as the page paints it; ``image [N]`` bool:
    the elements that carry a background image. With it, ``required`` is the ratio a text needs
    where no image shows behind it, and a text over an image is free only while the image shows,
    as the decoder judges it (:func:`colorgen.metrics.contrast.under_background_image`): an opaque
    background chosen between the image and the text hides it and makes that text count. Without
    it, ``required`` is 0 for such texts whatever is chosen. ``reveal``: clearing a box that lies
    over a showing background image costs the model's log-probability once, not once per element
    it paints: a clear box paints no colour of its own there, it shows the page's image.
    """
    n = lg_bg_rgb.size(0)
    device = lg_bg_rgb.device
    cand_rgb, cand_alpha, cand_lp = background_candidates(lg_bg_rgb, lg_bg_alpha, top_k)
    k = cand_rgb.size(1)
    rows = torch.arange(n, device=device)[:, None].expand(-1, k).reshape(-1)
    cand_rgba = bg_rgba_of(rows, cand_rgb.reshape(-1), cand_alpha.reshape(-1)).double().reshape(n, k, 4)

    # (ancestor, text) pairs under the model's best backgrounds, grouped by the ancestor's depth
    lookup = LegibleLookup(text_logits, text_lum, required)
    slot = torch.full((n,), -1, dtype=torch.long, device=device)
    slot[text_nodes] = torch.arange(text_nodes.numel(), device=device)
    anc, txt, s, o, img = _backdrop_maps(parent, depth, cand_rgba[:, 0], text_nodes, image)
    by_depth = torch.argsort(depth[anc], stable=True)
    anc, rows_t, s, o, img = anc[by_depth], slot[txt[by_depth]], s[by_depth], o[by_depth], img[by_depth]
    ends = torch.bincount(depth[anc], minlength=int(depth.max()) + 1).cumsum(0).tolist()

    # nodes in level order, so that every level is a slice
    levels = depth_levels(depth)
    sizes = [lv.numel() for lv in levels]
    order = torch.cat(levels)
    where = torch.empty(n, dtype=torch.long, device=device)
    where[order] = torch.arange(n, device=device)
    par = parent[order]
    par = torch.where(par >= 0, where[par.clamp(min=0)], -1)
    anc_at = where[anc]
    # a background paints its element's whole subtree: changing it costs the model's log-prob
    # margin once per element painted (subtree size, a proxy of area), so whole pages and
    # sections give way only for much text, small boxes more easily
    painted = torch.ones(n, dtype=torch.float64, device=device)
    for lv in reversed(levels[1:]):
        painted.index_add_(0, parent[lv], painted[lv])
    picks, effs, start = [], torch.empty(n, 3, dtype=torch.float64, device=device), 0
    alphas = torch.empty(n, dtype=torch.float64, device=device)  # the picks' painted alpha, node order
    shows = torch.zeros(n, dtype=torch.bool, device=device)  # an image shows behind the content, node order
    for lv, rgba, lp, par_lv, area in zip(levels, cand_rgba[order].split(sizes), cand_lp[order].split(sizes),
                                          par.split(sizes), painted[order].split(sizes), strict=True):
        size = lv.numel()
        below = torch.where((par_lv >= 0)[:, None], effs[par_lv.clamp(min=0)], canvas)
        cand_eff = composite(rgba, below[:, None, :])  # [size, k, 3]
        d = int(depth[lv[0]])
        lo, hi = (ends[d - 1] if d > 0 else 0), ends[d]
        behind = (par_lv >= 0) & shows[order[par_lv.clamp(min=0)]] if image is not None else None
        weights = area[:, None].expand(-1, lp.size(1))
        if reveal and behind is not None:  # candidate 1 is the clear one (background_candidates)
            weights = weights.clone()
            weights[behind, 1] = 1.0
        score = lp.double() * weights
        if hi > lo:
            at = anc_at[lo:hi] - start
            backdrop = s[lo:hi, None, None] * cand_eff[at] + o[lo:hi, None, :]  # [pairs, k, 3]
            cost = lookup.cost(rows_t[lo:hi], relative_luminance(backdrop))
            if behind is not None:  # the text is free where an image shows behind it
                free = img[lo:hi, None] | (behind[at, None] & (rgba[at, :, 3] < 1.0))
                cost = cost.masked_fill(free, 0.0)
            score = score.index_add(0, at, weight * cost)
        pick = score.argmax(1)
        picks.append(pick)
        effs[start:start + size] = cand_eff[torch.arange(size, device=device), pick]
        alphas[lv] = rgba[torch.arange(size, device=device), pick, 3]
        if behind is not None:
            shows[lv] = image[lv] | (behind & (alphas[lv] < 1.0))
        start += size
        if canvas_pairs is not None and d == 1:  # the bodies: the canvas shows theirs where html paints none
            move = canvas_moves(alphas, canvas_pairs)
            effs[where[canvas_pairs.html[move]]] = effs[where[canvas_pairs.body[move]]]
    pick = torch.empty(n, dtype=torch.long, device=device)
    pick[order] = torch.cat(picks)
    return cand_rgb[rows[::k], pick], cand_alpha[rows[::k], pick]
