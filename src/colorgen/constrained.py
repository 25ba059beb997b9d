"""Legible by construction: decoding that only draws text colours meeting the WCAG contrast ratio.

Why masking and not repair: sampling must stay sampling. Each text element's RGB distribution is
masked to the classes whose *rendered* colour (bin + residual, alpha composited) reaches the
required ratio (:mod:`colorgen.metrics.contrast`) against its effective background. Greedy takes
the best of them. Sampling draws from the model's filtered distribution (temperature, top-k,
top-p) conditioned on legibility (where the filter keeps no legible class: from the legible
classes' own filtered distribution), and does so by keeping plain decoding's draw wherever it is
legible and drawing again only where it is not, on a generator of its own: every other draw is
plain decoding's, so with the same seed the constrained colouring differs from the plain one
only where that one was illegible (AR: and in what later elements make of it), and the
difference between the two measures the constraint, not two draws. Fallbacks, in order, when the
mask leaves nothing:

1. no class is legible at the drawn text alpha -> the text becomes opaque (alpha class 7);
2. still none -> the element's own background changes: the opaque class nearest in CIELAB to the
   drawn one against which some text class is legible (a background is then the only thing left);
3. legible classes exist but the model gives them all zero probability (Stats' unseen classes)
   -> the legible class nearest in CIELAB to the model's best class.

Backgrounds are decided parents first, so a child sees its ancestors' final colours: the tree
generators (NAR, CVAE, Stats) decode level by level (:func:`decode_tree`), AR element by element
(:class:`SequenceConstraint`). Greedy tree decoding leaves pages whose best classes are already
legible as they are, and on the others chooses each background with the text it lies under in
view (``decoding.contrast_lookahead``, :mod:`colorgen.lookahead`), so that a box the model was
unsure of gives way rather than the text colours it was sure of.

Colours are the ones that will be rendered: pass the residuals (e.g. the Upsampler's) through
:class:`Residuals`; without them the renderer's own rule applies (bin centres, alpha bins 0 / 7 fully transparent / opaque, as ``render.recolor.default_residuals``).
The Upsampler's residuals depend on the classes: the tree generators decode against the residuals
of the model's best classes and are rendered with them
(:func:`colorgen.evaluation.generate.generate_colors`); AR's final classes are re-checked with
:func:`enforce_contrast` against the residuals that will be rendered, which keeps every legible
choice and moves only the failing ones. Either way the rendered page is legible exactly.

Text over a visible background image is left to the model (its backdrop is the image, which no
colour decides). Whether the image is visible depends on the decoded backgrounds, so it is
decided while decoding, parents first, with the rule of
:func:`colorgen.metrics.contrast.under_background_image`: element ``i`` sees an image iff it
carries one, or its parent sees one and ``i``'s rendered background alpha is below 1. An opaque
background between the image and the text hides it, so that text is constrained as usual.

CSS opacity, where the data record it, fades colours as axe-core reads it
(:func:`colorgen.metrics.contrast.paint_opacity`): a background's alpha times its element's
opacity, a text's times its own and its ancestors'; so a faded opaque box shows the image below it.

Where ``html`` paints no background the canvas shows body's (CSS hands it there,
:func:`colorgen.metrics.contrast.propagate_canvas`): tree decoding decides body on a level of its
own before the rest of what lies on ``html``, and AR's loop decides it right after ``html``; what
lies on ``html`` then sees body's colour (in the lookahead too).

The ratio needed is ``required + MARGIN``: axe-core passes only ratios strictly above the
threshold, and a small margin absorbs the browser's alpha serialisation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import Tensor

from colorgen.data.batching import to_dense
from colorgen.data.colors import BIN_WIDTH, NUM_ALPHA_CLASSES, NUM_RGB_CLASSES
from colorgen.decoding import DecodingConfig, filter_top_k_top_p, sample
from colorgen.metrics.contrast import (
    CANVAS,
    CanvasPairs,
    TextStacks,
    backdrop_of,
    background_image,
    canvas_moves,
    canvas_pairs,
    composite,
    contrast_ratio,
    depth_levels,
    font_of,
    large_text,
    paint_opacity,
    painted,
    propagate_canvas,
    relative_luminance,
    required_ratio,
    srgb_to_lab,
    stacked_below,
    text_stacks,
    tree_contrast,
    under_background_image,
    with_opacity,
)

MARGIN = 0.01
OPAQUE = NUM_ALPHA_CLASSES - 1
_CLASS_BINS = torch.stack(
    [torch.arange(NUM_RGB_CLASSES) // 64, (torch.arange(NUM_RGB_CLASSES) // 8) % 8, torch.arange(NUM_RGB_CLASSES) % 8],
    dim=-1,
).double()  # [512, 3]

_C8 = torch.arange(256, dtype=torch.float64) / 255.0
_LINEAR = torch.where(_C8 <= 0.04045, _C8 / 12.92, ((_C8 + 0.055) / 1.055) ** 2.4)  # per 8-bit value
_WEIGHTS = torch.tensor([0.2126, 0.7152, 0.0722], dtype=torch.float64)

Classes = tuple[Tensor, Tensor, Tensor, Tensor]  # text_rgb, text_alpha, bg_rgb, bg_alpha (Colors order)
C = TypeVar("C", bound=tuple)


def default_residuals(alpha_cls: Tensor) -> Tensor:
    """The renderer's residuals without an upsampler: 0.5, alpha 0 / 1 for the extreme alpha bins."""
    res = torch.full((*alpha_cls.shape, 4), 0.5, dtype=torch.float64, device=alpha_cls.device)
    res[..., 3] = torch.where(
        alpha_cls == 0, 0.0, torch.where(alpha_cls == NUM_ALPHA_CLASSES - 1, 1.0, 0.5)
    ).double()
    return res


def rgb_palette(res: Tensor) -> Tensor:
    """Rendered RGB of all 512 classes for rows of residuals ``[n, 4]`` -> ``[n, 512, 3]`` (0-255)."""
    r = res[:, None, :3].double().clamp(0, 1)
    return torch.round(BIN_WIDTH * _CLASS_BINS.to(r.device) + (BIN_WIDTH - 1) * r)


def alpha_value(alpha_cls: Tensor, res: Tensor) -> Tensor:
    """Rendered alpha in [0, 1] of alpha classes ``[n]`` with residuals ``[n, 4]``."""
    a = torch.round(BIN_WIDTH * alpha_cls.double() + (BIN_WIDTH - 1) * res[:, 3].double().clamp(0, 1))
    return a.clamp(max=255) / 255.0


def rendered_rgba(rgb_cls: Tensor, alpha_cls: Tensor, res: Tensor) -> Tensor:
    """The RGBA ``[n, 4]`` (alpha in [0, 1]) the page will show for these classes and residuals."""
    # the palette entry of each row's class, without building the palette (same arithmetic)
    r = res[:, :3].double().clamp(0, 1)
    rgb = torch.round(BIN_WIDTH * _CLASS_BINS.to(r.device)[rgb_cls] + (BIN_WIDTH - 1) * r)
    return torch.cat([rgb, alpha_value(alpha_cls, res)[:, None]], dim=-1)


@dataclass(frozen=True)
class Residuals:
    """Node-aligned residuals ``[N, 4]`` that will be rendered; ``None`` = the renderer's default rule."""

    text: Tensor | None = None
    bg: Tensor | None = None

    def rows(self, which: str, rows: Tensor | None, alpha_cls: Tensor) -> Tensor:
        given = self.text if which == "text" else self.bg
        if given is None:
            return default_residuals(alpha_cls)
        return (given if rows is None else given[rows]).double()


def palette_luminance(res: Tensor) -> Tensor:
    """Relative luminance ``[n, 512]`` of every class's opaque rendered colour, from 3 x 8 channel values.

    Why: the luminance is a sum over channels, and each channel takes only 8 values per row, so
    the 512 x 3 palette is never built (the hot path of constrained decoding).
    """
    r = res[:, :3].double().clamp(0, 1)
    values = torch.round(BIN_WIDTH * torch.arange(8, dtype=torch.float64, device=r.device) + (BIN_WIDTH - 1) * r[..., None])
    w = _LINEAR[values.long()] * _WEIGHTS.to(r.device)[None, :, None]  # [n, 3, 8]
    # class = 64 r + 8 g + b: an outer sum of the three channels' terms, in the order r + g + b
    return (w[:, 0, :, None, None] + w[:, 1, None, :, None] + w[:, 2, None, None, :]).reshape(-1, NUM_RGB_CLASSES)


def _ratios(alpha: Tensor, eff: Tensor, res: Tensor, opaque_lum: Tensor | None = None) -> Tensor:
    """Contrast ``[n, 512]`` of every class (rendered with ``res``, at ``alpha``) over opaque ``eff [n, 3]``.

    ``opaque_lum``: :func:`palette_luminance` of ``res`` when the caller has it (it does not depend on alpha)."""
    lum_bg = relative_luminance(eff)[:, None]
    opaque = alpha >= 1.0
    if opaque_lum is not None and bool(opaque.all()):  # the usual case: nothing to composite
        return contrast_ratio(opaque_lum, lum_bg)
    lum = torch.empty(len(alpha), NUM_RGB_CLASSES, dtype=torch.float64, device=eff.device)
    if bool(opaque.any()):  # the common case: no palette, no power function
        lum[opaque] = palette_luminance(res[opaque]) if opaque_lum is None else opaque_lum[opaque]
    if bool((~opaque).any()):
        pal, a = rgb_palette(res[~opaque]), alpha[~opaque]
        fg = composite(torch.cat([pal, a[:, None, None].expand(-1, pal.size(1), 1)], -1), eff[~opaque][:, None, :])
        lum[~opaque] = relative_luminance(fg)
    return contrast_ratio(lum, lum_bg)


def _nearest(palette: Tensor, ref: Tensor, allowed: Tensor, score: Tensor) -> Tensor:
    """Per row the allowed palette entry nearest in CIELAB to ``ref [n, 3]``; none allowed: best score."""
    dist = (srgb_to_lab(palette) - srgb_to_lab(ref)[:, None]).norm(dim=-1).masked_fill(~allowed, float("inf"))
    return torch.where(allowed.any(1), dist.argmin(1), score.argmax(1))


class NodeDecoder:
    """Decodes a set of elements whose parents are final: backgrounds, then legible text colours."""

    def __init__(self, cfg: DecodingConfig, generator: torch.Generator | None, residuals: Residuals | None = None):
        if cfg.contrast is None:
            raise ValueError("NodeDecoder needs a contrast level (decoding.contrast = aa / aaa)")
        self.cfg, self.generator = cfg, generator
        self.residuals = residuals or Residuals()
        # (background, text) CSS opacity factors, aligned like the residuals (metrics.contrast.paint_opacity)
        self.opacity: tuple[Tensor, Tensor] | None = None
        self.text_lum: tuple[Tensor, Tensor] | None = None  # (node -> row, palette_luminance rows), see text_luminance
        self._side: torch.Generator | None = None  # the redraws' generator (sampling), see side

    def text_luminance(self, text_nodes: Tensor, num_nodes: int) -> Tensor:
        """:func:`palette_luminance` of the text residuals of ``text_nodes`` ``[m, 512]``, computed once
        and kept for the rows decoded later (it depends on the residual's colour only, not its alpha)."""
        opaque = torch.full((text_nodes.numel(),), OPAQUE, dtype=torch.long, device=text_nodes.device)
        lum = palette_luminance(self.residuals.rows("text", text_nodes, opaque))
        slot = torch.full((num_nodes,), -1, dtype=torch.long, device=text_nodes.device)
        slot[text_nodes] = torch.arange(text_nodes.numel(), device=text_nodes.device)
        self.text_lum = (slot, lum)
        return lum

    def _opacity(self, which: int, rows: Tensor | None) -> Tensor | None:
        """Opacity factors of the rows' backgrounds (``which`` 0) or texts (1); None = all opaque."""
        if self.opacity is None:
            return None
        factor = self.opacity[which]
        return factor if rows is None else factor[rows]

    def _kept_luminance(self, rows: Tensor | None) -> Tensor | None:
        if self.text_lum is None or rows is None:
            return None
        slot, lum = self.text_lum
        return lum[slot[rows]]

    def __call__(
        self, logits: Any, below: Tensor, has_text: Tensor, required: Tensor, rows: Tensor | None = None,
        own_image: Tensor | None = None, image_behind: Tensor | None = None, drawn: Classes | None = None,
        text_below: Tensor | None = None,
    ) -> tuple[Classes, Tensor, Tensor]:
        """Classes for the rows of ``logits`` (4 tensors, Colors order), their effective backgrounds
        and whether a background image is visible behind their text ``[n]`` bool.

        ``below``: the parents' effective backgrounds ``[n, 3]``; ``rows``: node indices into the
        residuals (``None`` = the residuals are already row-aligned); ``own_image``: the element
        carries a background image; ``image_behind``: an image is visible behind the parent's
        content (``None`` = no image). Where an image is visible the text is not constrained.
        ``drawn``: the rows' plain draws when the caller has them (greedy: the argmax classes), in
        Colors order; without them they are drawn here as plain decoding draws them.
        ``text_below``: what the rows' text sees below their own background ``[n, 3]``, where that
        is not ``below`` (texts :func:`colorgen.metrics.contrast.text_stacks` re-seats).
        """
        lg_text_rgb = logits[0]
        if drawn is None:  # the draws plain decoding makes, in its order (models.base.decode_logits)
            drawn = tuple(sample(lg, self.cfg, self.generator) for lg in logits)
        ta, bc, ba = (drawn[k].clone() for k in (1, 2, 3))  # changed in place below
        bres = self.residuals.rows("bg", rows, ba)
        bg_op = self._opacity(0, rows)
        own = with_opacity(rendered_rgba(bc, ba, bres), bg_op)
        eff = composite(own, below.double())
        text_below = below if text_below is None else text_below
        seen = eff if text_below is below else composite(own, text_below.double())  # what the text is seen on
        visible = _image_visible(own_image, image_behind, own[:, 3])
        tc = torch.zeros_like(bc)
        plain = (~has_text).nonzero().squeeze(1)
        tc[plain] = drawn[0][plain]
        t = has_text.nonzero().squeeze(1)
        if t.numel() == 0:
            return (tc, ta, bc, ba), eff, visible
        t_rows = None if rows is None else rows[t]
        need = required[t].double().masked_fill(visible[t], 0.0) + MARGIN
        ta_t = ta[t].clone()
        tres = self.residuals.rows("text", t_rows, ta_t)
        t_lum = self._kept_luminance(t_rows)
        text_op = self._opacity(1, rows)
        t_op = None if text_op is None else text_op[t]

        def text_alpha(sel: Tensor | None = None) -> Tensor:  # painted alpha of the text rows (``sel`` of them)
            a = alpha_value(ta_t, tres) if sel is None else alpha_value(ta_t[sel], tres[sel])
            return a if t_op is None else a * (t_op if sel is None else t_op[sel])

        ratio = _ratios(text_alpha(), seen[t], tres, t_lum)
        none = ~(ratio >= need[:, None]).any(1)
        if bool(none.any()):  # 1. the drawn alpha is too faint for any colour: opaque text
            ta_t[none] = OPAQUE
            tres = self.residuals.rows("text", t_rows, ta_t)
            ratio[none] = _ratios(text_alpha(none), seen[t[none]], tres[none], None if t_lum is None else t_lum[none])
            none = ~(ratio >= need[:, None]).any(1)
        if bool(none.any()):  # 2. no text colour can work here: change the element's background
            fix = t[none]
            new_bc, new_ba = self._legible_background(
                seen[fix], text_below[fix].double(), rgb_palette(tres[none]), text_alpha(none),
                need[none], None if rows is None else rows[fix], None if bg_op is None else bg_op[fix],
            )
            bc[fix], ba[fix] = new_bc, new_ba
            bres = self.residuals.rows("bg", rows, ba)
            own = with_opacity(rendered_rgba(bc, ba, bres), bg_op)
            eff = composite(own, below.double())
            seen = eff if text_below is below else composite(own, text_below.double())
            ratio[none] = _ratios(text_alpha(none), seen[fix], tres[none], None if t_lum is None else t_lum[none])
        legible = ratio >= need[:, None]
        if self.cfg.greedy:  # the best class, and whether it is a legible one the model allows
            masked = lg_text_rgb[t].masked_fill(~legible, float("-inf"))
            choice = masked.argmax(1)
            ok = torch.isfinite(masked.gather(1, choice[:, None]).squeeze(1))
        else:  # the plain draw where it is legible, else a draw among the legible classes
            choice = drawn[0][t].clone()
            ok = torch.ones(t.numel(), dtype=torch.bool, device=bc.device)
            redo = (~legible.gather(1, choice[:, None]).squeeze(1)).nonzero().squeeze(1)
            if redo.numel():
                choice[redo], ok[redo] = self._redraw(lg_text_rgb[t[redo]], legible[redo])
        if bool((~ok).any()):  # 3. the model gives every legible class zero probability
            bad = (~ok).nonzero().squeeze(1)
            best = lg_text_rgb[t[bad]].argmax(1)
            pal = rgb_palette(tres[bad])
            ref = pal[torch.arange(bad.numel(), device=pal.device), best]
            choice[bad] = _nearest(pal, ref, legible[bad], ratio[bad])
        tc[t], ta[t] = choice, ta_t
        # fallback 2 only turns backgrounds opaque where no image was visible: ``visible`` holds
        return (tc, ta, bc, ba), eff, visible

    def _redraw(self, logits: Tensor, legible: Tensor) -> tuple[Tensor, Tensor]:
        """Text classes drawn from the model's filtered distribution (temperature, top-k, top-p)
        conditioned on legibility; where the filter keeps no legible class, from the legible
        classes' own filtered distribution. Also whether a row had any legible class the model allows.

        With the plain draw kept where it is legible, every text colour is so drawn from the legible
        part of the distribution, and the draws plain decoding makes stay in step (:meth:`side`)."""
        lg = logits.float() / self.cfg.temperature
        legible_lg = lg.masked_fill(~legible, float("-inf"))
        cond = filter_top_k_top_p(lg, self.cfg.top_k, self.cfg.top_p).masked_fill(~legible, float("-inf"))
        ok = torch.isfinite(legible_lg).any(1)
        outside = ok & ~torch.isfinite(cond).any(1)
        if bool(outside.any()):
            cond[outside] = filter_top_k_top_p(legible_lg[outside], self.cfg.top_k, self.cfg.top_p)
        choice = torch.zeros(lg.size(0), dtype=torch.long, device=lg.device)
        if bool(ok.any()):
            probs = torch.softmax(cond[ok], dim=-1)
            choice[ok] = torch.multinomial(probs, 1, generator=self.side(lg.device)).squeeze(1)
        return choice, ok

    def side(self, device: torch.device) -> torch.Generator:
        """The generator of the redraws, seeded from the main generator's state without drawing
        from it: the main stream gives exactly plain decoding's draws, so with the same seed a
        constrained colouring differs from the plain one only where the plain one was illegible
        (and, for AR, in what follows from that)."""
        if self._side is None:
            state = (self.generator if self.generator is not None else torch.default_generator).get_state()
            digest = hashlib.blake2b(state.numpy().tobytes(), digest_size=8).digest()
            self._side = torch.Generator(device=device).manual_seed(int.from_bytes(digest, "little") >> 1)
        return self._side

    def _legible_background(
        self, seen: Tensor, below: Tensor, text_pal: Tensor, text_alpha: Tensor, need: Tensor, rows: Tensor | None,
        opacity: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Opaque background classes nearest in CIELAB to ``seen`` (the effective background the model's
        classes give: a transparent one is its backdrop, not the black it is written as) against
        which the darkest or the lightest text colour reaches ``need`` (or, failing that, the most
        contrasting one); ``opacity``: the rows' background opacity factors (None: opaque)."""
        ba = torch.full((seen.size(0),), OPAQUE, dtype=torch.long, device=seen.device)
        res = self.residuals.rows("bg", rows, ba)
        bg_pal = rgb_palette(res)  # [k, 512, 3]
        alpha = alpha_value(ba, res) * (1.0 if opacity is None else opacity.double())
        alpha = alpha[:, None, None].expand(-1, bg_pal.size(1), 1)
        eff = composite(torch.cat([bg_pal, alpha], -1), below[:, None, :])  # [k, 512, 3]
        lum = relative_luminance(text_pal)  # [k, 512]
        extremes = torch.stack([lum.argmin(1), lum.argmax(1)], 1)  # darkest, lightest
        k = torch.arange(seen.size(0), device=seen.device)
        ext_rgb = text_pal[k[:, None], extremes]  # [k, 2, 3]
        ext = torch.cat([ext_rgb, text_alpha[:, None, None].expand(-1, 2, 1)], -1)  # [k, 2, 4]
        fg = composite(ext[:, None].expand(-1, eff.size(1), -1, -1), eff[:, :, None])  # [k, 512, 2, 3]
        best = contrast_ratio(relative_luminance(fg), relative_luminance(eff)[..., None]).amax(-1)
        new_bc = _nearest(eff, seen, best >= need[:, None], best)
        return new_bc, ba


def _image_visible(own_image: Tensor | None, image_behind: Tensor | None, bg_alpha: Tensor) -> Tensor:
    """A background image behind the text: the element's own, or the parent's seen through a
    background that is not opaque (``bg_alpha``: rendered, in [0, 1])."""
    visible = torch.zeros(bg_alpha.shape, dtype=torch.bool, device=bg_alpha.device)
    if image_behind is not None:
        visible |= image_behind.to(visible.device) & (bg_alpha < 1.0)
    if own_image is not None:
        visible |= own_image.to(visible.device)
    return visible


def _white(n: int, device: torch.device) -> Tensor:
    return torch.tensor(CANVAS, dtype=torch.float64, device=device).expand(n, 3)


def required_of(batch: Any, level: str, backdrop: tuple[Tensor, Tensor] | None = None,
                bg_alpha: Tensor | None = None) -> Tensor:
    """Minimum ratio per node of a batch (font size / weight when the data has them); 0 (no
    constraint) for text over a background image, whose backdrop no colour decides.

    ``bg_alpha``: the rendered background alphas ``[N]`` in [0, 1]; with them an opaque
    background hides the images below it, without them (conservative) every element under an
    image counts (:func:`colorgen.metrics.contrast.under_background_image`).
    """
    required = required_ratio(level, large_text(*font_of(batch)))
    image = background_image(batch)
    if not bool(image.any()):
        return required
    parent, depth = backdrop_of(batch) if backdrop is None else backdrop
    over_image = under_background_image(image, parent, depth, bg_alpha)
    return required.masked_fill(over_image.to(required.device), 0.0)


def decode_tree(
    batch: Any, logits: Any, cfg: DecodingConfig, generator: torch.Generator | None = None,
    residuals: Residuals | None = None, best: Any = None,
) -> Classes:
    """Constrained decoding of node-aligned logits, parents first, one vectorised step per tree level.

    Greedy: a page whose best classes are already legible keeps them (what decoding would give
    it, bit for bit), so only the other pages are decoded (and looked ahead on). ``best``: the
    logits' argmax classes, when the caller has them.
    """
    backdrop = backdrop_of(batch)
    if cfg.greedy and batch.num_nodes:
        best = tuple(lg.argmax(-1) for lg in logits) if best is None else tuple(best)
        nodes = _pages_failing(batch, best, str(cfg.contrast), residuals or Residuals(), backdrop)
        if nodes is None:
            return best  # type: ignore[return-value]
        return _decode_pages(batch, logits, cfg, generator, residuals, backdrop, nodes, best)
    return _decode_levels(batch, logits, cfg, generator, residuals, backdrop)


def _decode_pages(
    batch: Any, logits: Any, cfg: DecodingConfig, generator: torch.Generator | None, residuals: Residuals | None,
    backdrop: tuple[Tensor, Tensor], nodes: Tensor, keep: Any,
) -> Classes:
    """Decode only the pages of ``nodes`` (sorted, whole pages); every other node keeps ``keep``
    (greedy: ``keep`` are the argmax classes, the draws decoding starts from)."""
    if nodes.numel() == batch.num_nodes:
        return _decode_levels(batch, logits, cfg, generator, residuals, backdrop, drawn=keep)
    part = _decode_levels(batch, logits, cfg, generator, residuals, backdrop, nodes, keep)
    out = tuple(k.clone() for k in keep)
    for full, p in zip(out, part, strict=True):
        full[nodes] = p
    return out  # type: ignore[return-value]


def _decode_levels(
    batch: Any, logits: Any, cfg: DecodingConfig, generator: torch.Generator | None, residuals: Residuals | None,
    backdrop: tuple[Tensor, Tensor] | None = None, nodes: Tensor | None = None, drawn: Any = None,
) -> Classes:
    """:func:`decode_tree` on the whole pages of ``nodes`` (``None``: every page), level by level;
    classes of those nodes, in their order.

    ``logits``, ``residuals`` and ``drawn`` (plain decoding's draws, greedy: the argmax classes)
    stay node-aligned with the whole batch and are read through ``nodes``: nothing of the size of
    the logits is copied but the text colours' rows, once, in level order. Past the draws, only
    the text colours' logits are read.
    """
    n_all = batch.num_nodes
    device = logits[0].device
    parent, depth = (t.to(device) for t in (backdrop_of(batch) if backdrop is None else backdrop))
    required = required_ratio(str(cfg.contrast), large_text(*font_of(batch))).to(device)
    has_text = batch.has_text.to(device)
    own_image = background_image(batch).to(device)
    glob = torch.arange(n_all, device=device) if nodes is None else nodes.to(device)  # local -> batch node
    full = (parent, depth)
    if nodes is not None:
        local = torch.full((n_all,), -1, dtype=torch.long, device=device)
        local[glob] = torch.arange(glob.numel(), device=device)
        par = parent[glob]
        parent, depth = torch.where(par >= 0, local[par.clamp(min=0)], -1), depth[glob]
        has_text, own_image = has_text[glob], own_image[glob]
    n = glob.numel()
    stacks = _local_stacks(text_stacks(batch, full), glob, None if nodes is None else local)
    if stacks is not None and stacks.order is not None:  # what a re-seated text is seen on comes first
        depth = stacks.order
    pairs = _local_pairs(canvas_pairs(batch), glob, None if nodes is None else local)
    if pairs is not None:  # body before html's other children: they may be seen on its colour
        is_body = torch.zeros(n, dtype=torch.bool, device=device)
        is_body[pairs.body] = True
        depth = depth + ((depth >= 1) & ~is_body).long()
    decoder = NodeDecoder(cfg, generator, residuals)
    opacity = paint_opacity(batch)
    decoder.opacity = None if opacity is None else tuple(f.to(device) for f in opacity)
    text = has_text.nonzero().squeeze(1)
    text_lum = decoder.text_luminance(glob[text], n_all)
    if drawn is None:  # the draws plain decoding makes (greedy: the argmax classes), in its order
        drawn = [sample(lg, cfg, generator) for lg in logits]
    drawn = [d[glob] for d in drawn]
    if cfg.greedy and cfg.contrast_lookahead > 0 and n:
        drawn[2], drawn[3] = _lookahead(batch, logits, (parent, depth), glob, text, text_lum, cfg,
                                        decoder.residuals, required[glob[text]], own_image, pairs)
    out = [torch.zeros(n, dtype=torch.long, device=device) for _ in range(4)]
    eff = torch.empty(n, 3, dtype=torch.float64, device=device)
    visible = torch.zeros(n, dtype=torch.bool, device=device)  # a background image behind the text
    levels = depth_levels(depth)
    # the text colours' logits in level order once, so that each level reads slices, and the draws
    order, sizes = torch.cat(levels) if levels else glob[:0], [lv.numel() for lv in levels]
    src = glob[order]
    by_level = [logits[0][src].split(sizes)] + [[None] * len(levels)] * 3
    drawn_by_level = [d[order].split(sizes) for d in drawn]
    required, has_text_lv, own_lv = required[src].split(sizes), has_text[order].split(sizes), own_image[order].split(sizes)
    bg_rgba = None if stacks is None and pairs is None else torch.empty(n, 4, dtype=torch.float64, device=device)  # painted
    for i, (level, rows) in enumerate(zip(levels, src.split(sizes), strict=True)):
        par = parent[level]
        below = torch.where((par >= 0)[:, None], eff[par.clamp(min=0)], _white(level.numel(), device))
        behind = (par >= 0) & visible[par.clamp(min=0)]
        text_below = None
        if stacks is not None:
            moved = (stacks.over[level] >= 0).nonzero().squeeze(1)
            if moved.numel():
                text_below = below.clone()
                text_below[moved] = stacked_below(bg_rgba, eff, stacks, level[moved])
        classes, eff[level], visible[level] = decoder(
            tuple(parts[i] for parts in by_level), below, has_text_lv[i], required[i], rows, own_lv[i],
            behind, tuple(d[i] for d in drawn_by_level), text_below,
        )
        for o, c in zip(out, classes, strict=True):
            o[level] = c
        if bg_rgba is not None:
            bg_rgba[level] = with_opacity(rendered_rgba(classes[2], classes[3], decoder.residuals.rows("bg", rows, classes[3])),
                                          decoder._opacity(0, rows))
        if pairs is not None and int(depth[level[0]]) == 1:  # the bodies are final: the canvas takes theirs
            _propagate_decoded(pairs, bg_rgba, eff)
    return tuple(out)  # type: ignore[return-value]


def _local_pairs(pairs: CanvasPairs | None, glob: Tensor, local: Tensor | None) -> CanvasPairs | None:
    """``pairs`` of the pages of ``glob`` in local ids (``local``: batch id -> local id; None = same)."""
    if pairs is None or local is None:
        return pairs
    html, body = local[pairs.html.to(local.device)], local[pairs.body.to(local.device)]
    keep = (html >= 0) & (body >= 0)
    if not bool(keep.any()):
        return None
    return CanvasPairs(html[keep], body[keep], pairs.html_image.to(local.device)[keep])


def _propagate_decoded(pairs: CanvasPairs, bg_rgba: Tensor, eff: Tensor) -> None:
    """In place, once html and body are decoded: where html paints nothing, it shows body's
    background (:func:`colorgen.metrics.contrast.propagate_canvas`), and body paints none; body's
    effective background (its colour over the white canvas) is then html's too."""
    move = canvas_moves(bg_rgba[:, 3], pairs)
    bg_rgba.copy_(propagate_canvas(bg_rgba, pairs))
    eff[pairs.html.to(eff.device)[move]] = eff[pairs.body.to(eff.device)[move]]


def _local_stacks(stacks: TextStacks | None, glob: Tensor, local: Tensor | None) -> TextStacks | None:
    """``stacks`` of the nodes ``glob`` in their local ids (``local``: batch id -> local id; None = same)."""
    if stacks is None:
        return None
    over, chain = stacks.over[glob], stacks.chain[glob]
    if local is not None:
        over = torch.where(over >= 0, local[over.clamp(min=0)], -1)
        chain = torch.where(chain >= 0, local[chain.clamp(min=0)], -1)
    if not bool((over >= 0).any()):
        return None
    return TextStacks(over, chain, None if stacks.order is None else stacks.order[glob])


def _lookahead(batch: Any, logits: Any, backdrop: tuple[Tensor, Tensor], glob: Tensor, text: Tensor, text_lum: Tensor,
               cfg: DecodingConfig, residuals: Residuals, required: Tensor, image: Tensor,
               pairs: CanvasPairs | None = None) -> tuple[Tensor, Tensor]:
    """Background classes of the nodes ``glob`` chosen by :mod:`colorgen.lookahead` (``backdrop``:
    their forest in local ids, body on a level of its own where ``pairs`` (local ids) say; ``text``:
    local ids of the text elements, ``text_lum``: their classes' luminance,
    :meth:`NodeDecoder.text_luminance`; ``required``: the ratio each text needs where no image
    shows behind it, whether one shows being decided with the picks; ``image``: the nodes that
    carry a background image, local ids)."""
    from colorgen.lookahead import lookahead_backgrounds

    device = logits[0].device
    opacity = paint_opacity(batch)
    bg_op = None if opacity is None else opacity[0].to(device)

    def bg_rgba_of(rows: Tensor, rgb: Tensor, alpha: Tensor) -> Tensor:
        rgba = rendered_rgba(rgb, alpha, residuals.rows("bg", glob[rows], alpha))
        return with_opacity(rgba, None if bg_op is None else bg_op[glob[rows]])

    canvas = torch.tensor(CANVAS, dtype=torch.float64, device=device)
    every = glob.numel() == logits[2].size(0)  # every page: no copies of the backgrounds' logits
    bg_logits = (logits[2], logits[3]) if every else (logits[2][glob], logits[3][glob])
    return lookahead_backgrounds(logits[0][glob[text]], *bg_logits, *backdrop, text, required,
                                 bg_rgba_of, text_lum, canvas, weight=cfg.contrast_lookahead, canvas_pairs=pairs,
                                 image=image, reveal=cfg.contrast_reveal)


def _one_hot(cls: Tensor, k: int) -> Tensor:
    return torch.full((cls.numel(), k), float("-inf"), device=cls.device).scatter_(1, cls[:, None], 0.0)


def enforce_contrast(batch: Any, colors: C, level: str, text_res: Tensor | None = None,
                     bg_res: Tensor | None = None) -> C:
    """Make given classes legible as they will be rendered with these residuals (e.g. the Upsampler's).

    Every element whose text already passes keeps its classes; a failing one gets the legible class
    nearest in CIELAB (after the fallbacks of the module docstring). Text over a background image
    visible through the final backgrounds is left as it is. Returns the same tuple type.
    """
    res = Residuals(text_res, bg_res)
    backdrop = backdrop_of(batch)
    nodes = _pages_failing(batch, colors, level, res, backdrop)
    if nodes is None:  # the usual case after decoding with the constraint
        return colors
    # greedy decoding from the given classes (its draws): only the text colours' logits are read
    logits = (_one_hot(colors[0], NUM_RGB_CLASSES), None, None, None)
    cfg = DecodingConfig(top_p=0.0, contrast=level, contrast_lookahead=0.0)  # the backgrounds are given
    return type(colors)(*_decode_pages(batch, logits, cfg, None, res, backdrop, nodes, colors[:4]))  # passing pages: as given


def _pages_failing(batch: Any, colors: Any, level: str, res: Residuals,
                   backdrop: tuple[Tensor, Tensor] | None = None) -> Tensor | None:
    """Nodes of the pages with a text element below its ratio as rendered (None: no such page).

    The check is :class:`NodeDecoder`'s, a hair stricter (``1e-9``), so a page it lets through is
    one that decoding would leave unchanged; pages decode independently, so only these need it.
    """
    t_rgb, t_a, b_rgb, b_a = colors[:4]
    text, bg = painted(batch, rendered_rgba(t_rgb, t_a, res.rows("text", None, t_a)),
                       rendered_rgba(b_rgb, b_a, res.rows("bg", None, b_a)))
    backdrop = tuple(t.to(t_rgb.device) for t in (backdrop_of(batch) if backdrop is None else backdrop))
    ratio, _ = tree_contrast(text, bg, *backdrop, stacks=text_stacks(batch, backdrop))
    required = required_of(batch, level, backdrop, bg[:, 3]).to(t_rgb.device)
    fails = batch.has_text.to(t_rgb.device) & (required > 0) & (ratio < required + MARGIN + 1e-9)
    if not bool(fails.any()):
        return None
    page = getattr(batch, "batch", None)
    if page is None:  # a single page
        return torch.arange(batch.num_nodes, device=t_rgb.device)
    return torch.isin(page, page[fails].unique()).nonzero().squeeze(1)


class SequenceConstraint:
    """The constraint inside AR's element-by-element loop: step ``i`` decodes element ``i`` of every page.

    Elements come in document pre-order, so a parent is final before its children; pages whose
    order is not parents-first, and texts seen on a stack that leaves the backdrop forest (the
    element under them may come later in the document), are made legible afterwards by
    :meth:`finish`.
    """

    def __init__(self, batch: Any, cfg: DecodingConfig, generator: torch.Generator | None = None,
                 residuals: Residuals | None = None):
        self.batch = batch
        self.cfg = cfg
        n = batch.num_nodes
        parent, _ = backdrop_of(batch)
        local = torch.where(parent >= 0, parent - batch.ptr[batch.batch], -1)
        self.parent, self.mask = to_dense(batch, local, fill_value=-1)
        self.has_text, _ = to_dense(batch, batch.has_text)
        self.own_image, _ = to_dense(batch, background_image(batch).to(parent.device))
        required = required_ratio(str(cfg.contrast), large_text(*font_of(batch)))
        self.required, _ = to_dense(batch, required, fill_value=0.0)
        res = residuals or Residuals()
        dense = Residuals(*(None if r is None else to_dense(batch, r)[0] for r in (res.text, res.bg)))
        self.decoder = NodeDecoder(cfg, generator, None)
        self.residuals, self.dense_res = res, dense
        opacity = paint_opacity(batch)
        self.dense_opacity = None if opacity is None else tuple(to_dense(batch, f, fill_value=1.0)[0] for f in opacity)
        bsz, length = self.mask.shape
        self.eff = _white(bsz * length, parent.device).reshape(bsz, length, 3).clone()
        self.visible = torch.zeros(bsz, length, dtype=torch.bool, device=parent.device)  # image behind the text
        self.parents_first = bool((parent < torch.arange(n, device=parent.device)).all()) and text_stacks(batch) is None
        self.canvas = self._canvas_steps(batch)

    def _canvas_steps(self, batch: Any) -> tuple[Tensor, Tensor, Tensor, set[int], set[int]] | None:
        """Per page (dense): html's and body's step (``-1``: no pair) and whether html carries an
        image; the steps at which some page decodes its html / body. A page whose body does not
        come right after its html leaves the check to :meth:`finish`."""
        pairs = canvas_pairs(batch)
        if pairs is None:
            return None
        page = batch.batch[pairs.html.to(batch.batch.device)]
        first = batch.ptr[page]
        bsz = self.mask.size(0)
        html = torch.full((bsz,), -1, dtype=torch.long, device=page.device)
        body, image = html.clone(), torch.zeros(bsz, dtype=torch.bool, device=page.device)
        html[page], body[page], image[page] = pairs.html.to(page.device) - first, pairs.body.to(page.device) - first, pairs.html_image.to(page.device)
        self.parents_first &= bool((body[page] == html[page] + 1).all())
        self.html_alpha = torch.ones(bsz, dtype=torch.float64, device=page.device)
        return html, body, image, set(html[page].tolist()), set(body[page].tolist())

    def step(self, i: int, logits: Any) -> Classes:
        """Classes ``[B]`` x 4 for element ``i`` of every page from logits ``[B, K]``."""
        bsz = self.mask.size(0)
        par = self.parent[:, i]
        b = torch.arange(bsz, device=par.device)
        below = torch.where((par >= 0)[:, None], self.eff[b, par.clamp(min=0)], _white(bsz, par.device))
        behind = (par >= 0) & self.visible[b, par.clamp(min=0)]
        self.decoder.residuals = Residuals(*(None if r is None else r[:, i] for r in (self.dense_res.text, self.dense_res.bg)))
        if self.dense_opacity is not None:
            self.decoder.opacity = (self.dense_opacity[0][:, i], self.dense_opacity[1][:, i])
        classes, self.eff[:, i], self.visible[:, i] = self.decoder(
            tuple(logits), below, self.has_text[:, i], self.required[:, i], None, self.own_image[:, i], behind
        )
        if self.canvas is not None:
            self._canvas_step(i, classes)
        return classes

    def _canvas_step(self, i: int, classes: Classes) -> None:
        """Keep each html's painted alpha; once its body is decoded, where html paints nothing the
        canvas shows body's colour (:func:`colorgen.metrics.contrast.propagate_canvas`)."""
        html, body, image, html_steps, body_steps = self.canvas  # type: ignore[misc]
        if i in html_steps:
            b = (html == i).nonzero().squeeze(1)
            rgba = rendered_rgba(classes[2][b], classes[3][b], self.decoder.residuals.rows("bg", b, classes[3][b]))
            self.html_alpha[b] = with_opacity(rgba, self.decoder._opacity(0, b))[:, 3]
        if i in body_steps:
            b = ((body == i) & (self.html_alpha == 0) & ~image).nonzero().squeeze(1)
            self.eff[b, html[b]] = self.eff[b, i]

    def finish(self, colors: C) -> C:
        """Node-aligned final colours; re-checked in tree order unless every parent came first (and no
        text is seen on another stack than the forest's)."""
        if self.parents_first:
            return colors
        return enforce_contrast(self.batch, colors, str(self.cfg.contrast), self.residuals.text, self.residuals.bg)
