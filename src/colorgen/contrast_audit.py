"""Checks the Python contrast model against axe-core, element by element, on a rendered page.

Why: constrained decoding trusts :mod:`colorgen.metrics.contrast`; this measures how often its
verdict (fails AA or not) equals axe-core's ``color-contrast`` verdict for the elements both
judge, and sorts the rest by axe's reason (background image, gradient, overlap, pseudo-element
content, 1:1 text...). axe's own CSS selectors are mapped back to the extracted element ids in
the page (element identity), so no selector syntax has to agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from playwright.async_api import Page
from torch_geometric.data import Data

from colorgen.constrained import required_of
from colorgen.data.colors import parse_color
from colorgen.data.graph import page_to_data
from colorgen.data.webcolor_format import RawPage
from colorgen.metrics.contrast import backdrop_of, failing, painted, text_stacks, tree_contrast
from colorgen.render.contrast import axe_script, inject_axe

# results of every type (violations, passes, incomplete) mapped back to element ids; axe runs
# through the frozen-clock shim of colorgen.render.contrast
_AXE_BY_ELEMENT_JS = axe_script("""
  const selectors = arg;
  const r = await runAxe({runOnly: {type: 'rule', values: ['color-contrast']}, iframes: false, preload: false});
  const index = new Map();
  selectors.forEach((s, i) => { try { const e = s && document.querySelector(s); if (e) index.set(e, i); } catch (_) {} });
  const out = [];
  for (const [kind, list] of [['violation', r.violations], ['pass', r.passes], ['incomplete', r.incomplete]]) {
    for (const v of list) for (const n of v.nodes) {
      let el = null;
      try { el = n.target.length === 1 ? document.querySelector(n.target[0]) : null; } catch (_) {}
      const d = (n.any && n.any[0] && n.any[0].data) || {};
      out.push({kind, element: el && index.has(el) ? index.get(el) : -1, ratio: d.contrastRatio || null,
                reason: d.messageKey || null, fg: d.fgColor || null, bg: d.bgColor || null,
                expected: d.expectedContrastRatio ? parseFloat(d.expectedContrastRatio) : null,
                target: n.target.map(String)});
    }
  }
  return out;
""")


@dataclass
class Agreement:
    """Element-level agreement of the model's failing set with axe-core's violations."""

    both_judge: int = 0
    agree: int = 0
    model_only: list[dict] = field(default_factory=list)  # model fails, axe passes
    axe_only: list[dict] = field(default_factory=list)  # axe fails, model passes
    axe_incomplete: Counter = field(default_factory=Counter)  # reason -> count (model text elements)
    model_text_unjudged: int = 0  # model text elements axe did not report at all

    @property
    def rate(self) -> float:
        return self.agree / self.both_judge if self.both_judge else float("nan")

    def add(self, other: Agreement) -> None:
        self.both_judge += other.both_judge
        self.agree += other.agree
        self.model_only += other.model_only
        self.axe_only += other.axe_only
        self.axe_incomplete.update(other.axe_incomplete)
        self.model_text_unjudged += other.model_text_unjudged


def page_contrast(data: Data, level: str = "aa") -> tuple[torch.Tensor, ...]:
    """A page's own colours (``data.raw_colors``) under the model: (text RGBA as painted ``[N, 4]``,
    what each text is seen on ``[N, 3]``, contrast ratio ``[N]``, required ratio ``[N]``)."""
    text, bg = painted(data, data.raw_colors[:, 0], data.raw_colors[:, 1])  # RGBA, alpha in [0, 1]
    backdrop = backdrop_of(data)
    ratio, seen = tree_contrast(text, bg, *backdrop, stacks=text_stacks(data, backdrop))
    # an opaque background hides the images above it, as in decoding (colorgen.constrained)
    return text, seen, ratio, required_of(data, level, backdrop, bg_alpha=bg[:, 3])


def model_verdict(data: Data, level: str = "aa") -> tuple[torch.Tensor, torch.Tensor]:
    """(contrast ratio ``[N]``, failing ``[N]`` bool) of a page's own colours under the model."""
    _, _, ratio, required = page_contrast(data, level)
    return ratio, failing(ratio, required, data.has_text)


def page_data(page: RawPage) -> Data:
    """A page's graph plus its exact stored colours (``raw_colors``), not the binned classes."""
    data = page_to_data(page)
    rows = []
    for e in page.elements:
        text = parse_color(e.text_color) if e.text_color else (0, 0, 0, 0.0)
        rows.append([list(text), list(parse_color(e.background_color))])
    data.raw_colors = torch.tensor(rows, dtype=torch.float64)
    return data


def compare(data: Data, axe_nodes: Sequence[dict], level: str = "aa", extras: Sequence[dict] | None = None) -> Agreement:
    """Agreement between the model's verdict on ``data`` and axe's nodes (from :func:`axe_by_element`)."""
    ratio, fails = model_verdict(data, level)
    text = data.has_text.tolist()
    out = Agreement()
    seen: set[int] = set()
    for n in axe_nodes:
        i = n["element"]
        if i < 0 or not text[i]:
            continue
        seen.add(i)
        if n["kind"] == "incomplete":
            out.axe_incomplete[n["reason"] or "unknown"] += 1
            continue
        out.both_judge += 1
        axe_fail = n["kind"] == "violation"
        if axe_fail == bool(fails[i]):
            out.agree += 1
            continue
        case = {"element": i, "model_ratio": round(float(ratio[i]), 2), "axe_ratio": n["ratio"],
                "axe_fg": n["fg"], "axe_bg": n["bg"],
                **({k: extras[i].get(k) for k in ("tag", "background_image", "text")} if extras else {})}
        (out.axe_only if axe_fail else out.model_only).append(case)
    out.model_text_unjudged = sum(1 for i, t in enumerate(text) if t and i not in seen)
    return out


async def axe_by_element(page: Page, selectors: Sequence[str]) -> list[dict]:
    """axe-core's color-contrast nodes on the page as it is now, each mapped to an element id (-1: none)."""
    await inject_axe(page)
    return await page.evaluate(_AXE_BY_ELEMENT_JS, list(selectors))
