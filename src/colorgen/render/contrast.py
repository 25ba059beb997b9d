"""The accessibility contrast audit: axe-core's ``color-contrast`` rule run inside the page.

Why axe-core: the published system scores colourings with Lighthouse's contrast audit, which
is this rule (WCAG AA: 4.5:1 for normal text, 3:1 for large text). The pinned npm package
(``package.json`` at the repo root, ``npm ci``) is injected into the rendered page, so the
audit sees exactly the re-coloured page that was screenshot. A violation count is the number
of failing elements, as Lighthouse reports it; "incomplete" checks (text over images,
gradients) are not violations. One kind of incomplete is counted apart, as ``invisible``: text
whose colour equals its background (ratio 1:1, axe's ``equalRatio``). axe and Lighthouse do not
call it a violation, so a colouring that hides text entirely can score better than one that
makes it faint; ``colorgen.evaluation.visual`` reports both readings.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from playwright.async_api import Page

AXE_ENV = "COLORGEN_AXE_JS"
_RULE = "color-contrast"

# The page's clock is Playwright's fake one (frozen after settling), so axe's setTimeout(0) hops
# would never fire. During the audit, short timeouts run as real macrotasks on a MessageChannel
# (not faked); long ones (axe's frame/preload guards) stay on the frozen clock and never fire.
_RUN_AXE_FN = """
  async function runAxe(options) {
    const nativeSet = window.setTimeout, nativeClear = window.clearTimeout;
    const channel = new MessageChannel(), pending = new Map();
    let next = 0;
    channel.port1.onmessage = (e) => { const f = pending.get(e.data); if (f) { pending.delete(e.data); f(); } };
    window.setTimeout = function (fn, ms, ...args) {
      if (typeof fn !== 'function' || Number(ms) > 1000) return nativeSet.apply(window, arguments);
      const id = -(++next);
      pending.set(id, () => fn(...args));
      channel.port2.postMessage(id);
      return id;
    };
    window.clearTimeout = function (id) {
      if (typeof id === 'number' && id < 0) pending.delete(id); else nativeClear.apply(window, arguments);
    };
    window.axe.configure({noHtml: true});  // no HTML source per node: nothing reads it (experiments/speed/axe_nohtml.md)
    try {
      return await window.axe.run(document, options);
    } finally {
      window.axe.configure({noHtml: false});
      window.setTimeout = nativeSet;
      window.clearTimeout = nativeClear;
      channel.port1.close();
    }
  }
"""


def axe_script(body: str) -> str:
    """``async (arg) => { body }`` for ``page.evaluate``, with ``runAxe(options)`` in scope: the
    one copy of the frozen-clock shim every axe caller uses."""
    return "async (arg) => {" + _RUN_AXE_FN + body + "}"


# JS helpers: the first screen as extraction sees it (scrolled to the top, the visual viewport),
# and the element of an axe target (none inside frames / shadow roots)
FIRST_SCREEN_JS = """
  window.scrollTo(0, 0);
  const _vv = window.visualViewport;
  const view = _vv ? {left: _vv.offsetLeft, top: _vv.offsetTop, width: _vv.width, height: _vv.height}
                   : {left: 0, top: 0, width: window.innerWidth, height: window.innerHeight};
  const inFirstScreen = (el) => {
    if (!el) return false;
    const b = el.getBoundingClientRect();
    return b.width > 0 && b.height > 0 && b.right > view.left && b.bottom > view.top &&
      b.left < view.left + view.width && b.top < view.top + view.height;
  };
  const axeElement = (target) => {
    try { return target.length === 1 ? document.querySelector(target[0]) : null; } catch (_) { return null; }
  };
"""

_RUN_JS = axe_script(FIRST_SCREEN_JS + """
  const r = await runAxe({runOnly: {type: 'rule', values: [arg]}, resultTypes: ['violations', 'incomplete'],
                          iframes: false, preload: false});
  const inView = (n) => inFirstScreen(axeElement(n.target));
  const nodes = [];
  for (const v of r.violations) {
    for (const n of v.nodes) {
      const d = (n.any && n.any[0] && n.any[0].data) || {};
      nodes.push({target: n.target.map(String).join(' '), fg: d.fgColor || null, bg: d.bgColor || null,
                  ratio: d.contrastRatio || null, first_screen: inView(n),
                  expected: d.expectedContrastRatio ? parseFloat(d.expectedContrastRatio) : null});
    }
  }
  const incomplete = (r.incomplete || []).flatMap(v => v.nodes);
  const invisible = incomplete.filter(n => ((n.any && n.any[0] && n.any[0].data) || {}).messageKey === 'equalRatio');
  return {version: window.axe.version, violations: nodes.length, incomplete: incomplete.length,
          violations_first_screen: nodes.filter(n => n.first_screen).length,
          invisible: invisible.length, invisible_first_screen: invisible.filter(inView).length,
          invisible_targets: invisible.map(n => n.target.map(String).join(' ')), nodes};
""")


_AXE_IN_NODE_MODULES = Path("node_modules") / "axe-core" / "axe.min.js"


def axe_path() -> Path:
    """``$COLORGEN_AXE_JS``, else ``node_modules/axe-core/axe.min.js`` in the working directory or
    the nearest folder above it that has one (``npm ci`` in the checkout root), else the checkout of
    an editable install; a clear error if none. Why the working directory first: an installed
    (non-editable) package does not live in the checkout."""
    env = os.environ.get(AXE_ENV)
    if env:
        path = Path(env)
    else:
        cwd = Path.cwd().resolve()
        checkout = Path(__file__).resolve().parents[3]  # an editable install's checkout, tried last
        found = [d / _AXE_IN_NODE_MODULES for d in (cwd, *cwd.parents, checkout) if (d / _AXE_IN_NODE_MODULES).is_file()]
        path = found[0] if found else cwd / _AXE_IN_NODE_MODULES
    if not path.is_file():
        raise FileNotFoundError(
            f"axe-core not found at {path}; run `npm ci` in the repo root (make setup) or set ${AXE_ENV}"
        )
    return path


@functools.lru_cache(maxsize=2)
def _axe_source(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


AUDIT_FORMAT = 2  # 2: first-screen counts; part of the render cache key, so older audits are redone


def axe_version() -> str:
    """The installed axe-core version (from its package.json; ``unknown`` for a bare file)."""
    meta = axe_path().parent / "package.json"
    try:
        return str(json.loads(meta.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def axe_source() -> str:
    return _axe_source(str(axe_path()))


async def inject_axe(page: Page) -> str:
    """Load axe-core into the page (once); returns its version."""
    version = await page.evaluate("() => (window.axe && window.axe.version) || null")
    if version:
        return version
    # axe's bundle sets window.axe whenever getComputedStyle exists, even on AMD pages
    version = await page.evaluate(axe_source() + "\n;(window.axe && window.axe.version) || null")
    if not version:
        raise RuntimeError("axe-core did not initialise in the page")
    return version


async def audit_contrast(page: Page) -> dict:
    """Run the colour-contrast rule on the page as it is now.

    Returns ``{"version", "violations": failing elements, "incomplete", "invisible": 1:1 text
    elements, "invisible_targets", "nodes": [{target, fg, bg, ratio, expected, first_screen}],
    "violations_first_screen", "invisible_first_screen"}``: the first screen (the part of the
    page extraction keeps, so the part a model colours) counted apart from the whole document
    that axe-core / Lighthouse audit.
    """
    await inject_axe(page)
    return await page.evaluate(_RUN_JS, _RULE)
