"""`python -m colorgen.contrast_residue RUN_DIR...`: where axe-core's remaining contrast violations are.

Why: with ``decoding.contrast=aa`` axe-core still fails most rendered test pages, and a page-level
count cannot say whether the constraint is broken or the violations lie where no model colour
reaches. Each test page is rendered as the visual pass renders it (same browser profile, the
stylesheet of the run's classes + Upsampler residuals; ``--real``: the ground-truth colouring),
axe-core's ``color-contrast`` runs, every violating node is mapped back to a tree element by
element identity (:func:`colorgen.contrast_audit.axe_by_element`) and put in one class:

- ``a``: a tree text element the in-Python model judges (:func:`colorgen.contrast_audit.model_verdict`);
  the model failing too means the colour chosen is illegible, the model passing is a disagreement;
- ``b``: a tree element the model cannot judge (no text of its own in the data, under a
  background image, opacity < 1 on it or an ancestor);
- ``c``: no tree element (below the first screen, which extraction never keeps; beyond the
  200-element cap; shadow DOM / frames; form controls; anything else extraction dropped).

Each violation gets a reason string. Per colouring a JSON and a markdown summary are written
atomically; per page and colouring the audit is cached, so a killed run resumes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from playwright.async_api import Page

from colorgen.browser import BrowserConfig, Chromium, StaticServer
from colorgen.contrast_audit import axe_by_element, page_contrast
from colorgen.data.colors import decode_to_values
from colorgen.data.graph import page_to_data
from colorgen.data.webcolor_format import MAX_ELEMENTS, RawPage, read_pages
from colorgen.evaluation.generate import Generated
from colorgen.evaluation.runs import page_files
from colorgen.io import write_atomic, write_json
from colorgen.metrics.contrast import composite, failing
from colorgen.render.contrast import FIRST_SCREEN_JS, axe_version
from colorgen.render.recolor import PageColors, default_residuals, page_css, render_key, split_pages
from colorgen.render.screenshots import set_colors_css

log = logging.getLogger(__name__)

RESIDUE_VERSION = 1  # bump when the cached per-page audits change shape
FORM_TAGS = frozenset({"input", "select", "textarea", "option", "button"})
CLASS_NAMES = {"a": "tree text element judged by the Python model",
               "b": "tree element the Python model cannot judge",
               "c": "not a tree element"}
OUTSIDE = "outside the first screen"
COLOR_TOLERANCE = 2  # channels (0-255) within which axe's and the model's colours count as equal

# details of the violating nodes that axe's result does not carry: whether they lie in the first
# screen as extraction saw it (scrolled to the top, the visual viewport), their nearest ancestor
# in the tree, the opacity and background images above them
_DESCRIBE_JS = """({selectors, targets}) => {
  const index = new Map();
  selectors.forEach((s, i) => { try { const e = s && document.querySelector(s); if (e) index.set(e, i); } catch (_) {} });""" + FIRST_SCREEN_JS + """
  const nodes = targets.map((t) => {
    const el = axeElement(t);
    if (!el) return {found: false, nested: t.length > 1};
    const r = el.getBoundingClientRect();
    const inView = inFirstScreen(el);
    let ancestor = -1, opacity = 1, image = false;
    for (let a = el; a && a.nodeType === 1; a = a.parentElement) {
      const cs = getComputedStyle(a);
      opacity *= parseFloat(cs.opacity);
      if (cs.backgroundImage && cs.backgroundImage !== 'none') image = true;
      if (ancestor < 0 && a !== el && index.has(a)) ancestor = index.get(a);
    }
    const cs = getComputedStyle(el);
    const text = (el.innerText || el.value || el.getAttribute('placeholder') || '').replace(/\\s+/g, ' ').trim();
    return {found: true, tag: el.localName, in_view: inView, tree_ancestor: ancestor, opacity,
            background_image: image, color: cs.color, text: text.slice(0, 40),
            top: Math.round(r.top), font_size: parseFloat(cs.fontSize) || 0};
  });
  return {resolved: index.size, nodes};
}"""


@dataclass(frozen=True)
class PageVerdict:
    """The Python model's reading of one coloured page (node-aligned numpy arrays)."""

    has_text: np.ndarray  # [N] bool
    ratio: np.ndarray  # [N] contrast ratio of the text
    fails: np.ndarray  # [N] bool
    required: np.ndarray  # [N] minimum ratio; 0 = not judged (text under a background image)
    fg: np.ndarray  # [N, 3] text colour composited over its effective background (0-255)
    bg: np.ndarray  # [N, 3] effective background

    def __len__(self) -> int:
        return len(self.has_text)


def rendered_rgba(colors: PageColors) -> tuple[np.ndarray, np.ndarray]:
    """(text, background) RGBA ``[N, 4]`` (alpha in [0, 1]) exactly as the stylesheet writes them."""
    def values(rgb, alpha, res):
        v = decode_to_values(rgb, alpha, default_residuals(alpha) if res is None else res).astype(np.float64)
        v[:, 3] = np.minimum(v[:, 3], 255) / 255.0
        return v
    return (values(colors.text_rgb, colors.text_alpha, colors.text_res),
            values(colors.bg_rgb, colors.bg_alpha, colors.bg_res))


def page_verdict(page: RawPage, colors: PageColors, level: str = "aa") -> PageVerdict:
    """The model's verdict on ``page`` coloured with ``colors`` (font sizes, images from the data)."""
    data = page_to_data(page)
    if data.num_nodes != len(colors):
        raise ValueError(f"page {page.page_id!r}: {data.num_nodes} elements in the data, {len(colors)} coloured")
    text, bg = rendered_rgba(colors)
    data.raw_colors = torch.from_numpy(np.stack([text, bg], 1))
    text, eff, ratio, required = page_contrast(data, level)
    fails = failing(ratio, required, data.has_text)
    fg = composite(text, eff)
    return PageVerdict(data.has_text.numpy(), ratio.numpy(), fails.numpy(), required.numpy(),
                       fg.round().numpy(), eff.round().numpy())


def hex_rgb(value: str | None) -> np.ndarray | None:
    """axe's ``#rrggbb`` -> RGB array (None when absent or unreadable)."""
    if not value or not value.startswith("#") or len(value) < 7:
        return None
    try:
        return np.array([int(value[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    except ValueError:
        return None


def to_hex(rgb: np.ndarray) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


def _unmapped_reason(d: dict, n_elements: int) -> str:
    if not d.get("found"):
        return "target in shadow DOM or a frame" if d.get("nested") else "axe target not found again"
    if not d.get("in_view"):
        return OUTSIDE + " (extraction keeps the first screen only)"
    if n_elements >= MAX_ELEMENTS:
        return "first screen, page cut at the 200-element cap"
    if d.get("tag") in FORM_TAGS:
        return f"form control <{d.get('tag')}> not in the tree"
    return "first screen, not extracted (hidden or empty at extraction, or shown later)"


def _disagreement_reason(node: dict, v: PageVerdict, i: int) -> str:
    expected = node.get("expected")
    if expected is not None and expected > float(v.required[i]) + 1e-6:
        return f"threshold: axe needs {expected:g}, model {float(v.required[i]):g} (font size/weight differ)"
    bg, fg = hex_rgb(node.get("bg")), hex_rgb(node.get("fg"))
    if bg is not None and np.abs(bg - v.bg[i]).max() > COLOR_TOLERANCE:
        return "axe sees another background (overlap, positioning, or a non-tree element between)"
    if fg is not None and np.abs(fg - v.fg[i]).max() > COLOR_TOLERANCE:
        return "axe sees another text colour (the stylesheet did not win, or text-shadow)"
    return "same colours, ratios differ at the threshold (rounding)"


def classify(nodes: Sequence[dict], details: Sequence[dict], verdict: PageVerdict) -> list[dict]:
    """One record per axe *violation*: class ``a`` / ``b`` / ``c`` and a reason.

    ``nodes``: :func:`axe_by_element`'s output; ``details``: :data:`_DESCRIBE_JS`'s node details,
    aligned with the violations in ``nodes`` order.
    """
    violations = [n for n in nodes if n["kind"] == "violation"]
    if len(details) != len(violations):
        raise ValueError(f"{len(details)} node details for {len(violations)} violations")
    out = []
    for n, d in zip(violations, details, strict=True):
        i = int(n["element"])
        rec = {"element": i, "target": " ".join(n.get("target") or []), "axe_ratio": n.get("ratio"),
               "expected": n.get("expected"), "axe_fg": n.get("fg"), "axe_bg": n.get("bg"),
               "tag": d.get("tag"), "text": d.get("text")}
        if i < 0 or i >= len(verdict):
            anc = int(d.get("tree_ancestor", -1))
            bg = hex_rgb(n.get("bg"))
            rec |= {"class": "c", "reason": _unmapped_reason(d, len(verdict)), "tree_ancestor": anc,
                    # axe's background is the one the model gave the nearest tree ancestor
                    "on_tree_background": bool(0 <= anc < len(verdict) and bg is not None
                                               and np.abs(bg - verdict.bg[anc]).max() <= COLOR_TOLERANCE)}
        elif not verdict.has_text[i]:
            rec |= {"class": "b", "reason": "tree element without text of its own in the data (colour not chosen)"}
        elif verdict.required[i] <= 0:
            rec |= {"class": "b", "reason": "under a background image (the data marks it)"}
        elif d.get("opacity", 1.0) < 1.0:
            rec |= {"class": "b", "reason": "opacity < 1 on the element or an ancestor"}
        else:
            ratio = round(float(verdict.ratio[i]), 2)
            rec |= {"class": "a", "model_ratio": ratio, "model_required": float(verdict.required[i]),
                    "model_fails": bool(verdict.fails[i]),
                    "model_fg": to_hex(verdict.fg[i]),
                    "model_bg": to_hex(verdict.bg[i])}
            if verdict.fails[i]:
                rec["reason"] = "model agrees: the colour chosen fails"
            else:
                rec["reason"] = "disagreement: " + _disagreement_reason(n, verdict, i)
        out.append(rec)
    return out


def mark_same_in_real(pages: dict[str, list[dict]], real: dict[str, list[dict]]) -> None:
    """Flag each violation that the real colouring of its page has too: same node and colours
    (``same_in_real``), or the same node failing at all (``node_fails_in_real``)."""
    for pid, recs in pages.items():
        seen = {(r["target"], r["axe_fg"], r["axe_bg"]) for r in real.get(pid, [])}
        nodes = {r["target"] for r in real.get(pid, [])}
        for r in recs:
            r["same_in_real"] = (r["target"], r["axe_fg"], r["axe_bg"]) in seen
            r["node_fails_in_real"] = r["target"] in nodes  # with whatever colours the real page gives it


def summarize(pages: dict[str, list[dict]], label: str, top: int = 12, examples: int = 3) -> dict:
    """Counts per class and reason over ``pages`` (page id -> its classified violations)."""
    n = len(pages)
    marked = any("same_in_real" in r for recs in pages.values() for r in recs)
    per_class = Counter(r["class"] for recs in pages.values() for r in recs)
    reasons = Counter((r["class"], r["reason"]) for recs in pages.values() for r in recs)
    def pct(pred) -> float:
        return round(100.0 * sum(1 for recs in pages.values() if any(pred(r) for r in recs)) / n, 1) if n else float("nan")
    out = {
        "label": label,
        "pages": n,
        "violations": sum(per_class.values()),
        "per_class": {k: per_class.get(k, 0) for k in CLASS_NAMES},
        "unmapped": per_class.get("c", 0),
        "pages_failing_pct": pct(lambda r: True),
        "pages_failing_without_a_pct": pct(lambda r: r["class"] != "a"),
        "pages_with_c_pct": pct(lambda r: r["class"] == "c"),
        "pages_with_a_pct": pct(lambda r: r["class"] == "a"),
        # what an audit of the first screen (the part extraction keeps) would report
        "pages_failing_first_screen_pct": pct(lambda r: not r["reason"].startswith(OUTSIDE)),
        "c_on_tree_background": sum(1 for recs in pages.values() for r in recs if r.get("on_tree_background")),
        # the same node with the same colours fails on the real page: not the colouring's doing
        "same_in_real": (sum(1 for recs in pages.values() for r in recs if r["same_in_real"]) if marked else None),
        "pages_failing_without_same_in_real_pct": pct(lambda r: not r.get("same_in_real", False)),
        "node_fails_in_real": (sum(1 for recs in pages.values() for r in recs if r["node_fails_in_real"])
                               if marked else None),
        "pages_failing_on_nodes_passing_in_real_pct": pct(lambda r: not r.get("node_fails_in_real", False)),
        "reasons": [],
        "disagreements": [dict(r, page_id=pid) for pid, recs in pages.items() for r in recs
                          if r["class"] == "a" and not r["model_fails"]],
    }
    for (cls, reason), count in reasons.most_common(top):
        ex = [dict(r, page_id=pid) for pid, recs in pages.items() for r in recs
              if r["class"] == cls and r["reason"] == reason][:examples]
        pages_hit = sum(1 for recs in pages.values() if any(r["class"] == cls and r["reason"] == reason for r in recs))
        out["reasons"].append({"class": cls, "reason": reason, "count": count, "pages": pages_hit, "examples": ex})
    return out


def _example(e: dict) -> str:
    ratio = f"{e['axe_ratio']}" + (f" (model {e['model_ratio']})" if "model_ratio" in e else "")
    return f"`{e['page_id']}` `{e['target'][:70]}` {e['axe_fg']} on {e['axe_bg']}, {ratio}:1 < {e['expected']}"


def to_markdown(s: dict, command: str = "") -> str:
    """The summary as a short markdown report."""
    lines = [f"## {s['label']}: {s['violations']} axe violations on {s['pages']} pages", ""]
    if command:
        lines += [f"`{command}`", ""]
    lines += ["| class | what | violations |", "|---|---|---|"]
    lines += [f"| {k} | {CLASS_NAMES[k]} | {s['per_class'][k]} |" for k in CLASS_NAMES]
    lines += ["",
              f"- pages with a violation: {s['pages_failing_pct']} %",
              f"- pages still failing if class a were fixed: {s['pages_failing_without_a_pct']} %",
              f"- pages with a class-c violation: {s['pages_with_c_pct']} %",
              f"- pages with a class-a violation: {s['pages_with_a_pct']} %",
              f"- violations not mapped to a tree element: {s['unmapped']}",
              f"- class-c violations on the background the colouring gave their nearest tree ancestor: {s['c_on_tree_background']}",
              f"- pages failing on the first screen alone (the part extraction keeps): {s['pages_failing_first_screen_pct']} %"]
    if s["same_in_real"] is not None:
        lines += [f"- violations identical (node, text and background colour) on the real page: {s['same_in_real']}; "
                  f"pages failing without them: {s['pages_failing_without_same_in_real_pct']} %",
                  f"- violations on nodes that fail on the real page too (any colours): {s['node_fails_in_real']}; "
                  f"pages failing without them: {s['pages_failing_on_nodes_passing_in_real_pct']} %"]
    lines += ["",
              "| class | reason | violations | pages | example |", "|---|---|---|---|---|"]
    for r in s["reasons"]:
        lines.append(f"| {r['class']} | {r['reason']} | {r['count']} | {r['pages']} | {_example(r['examples'][0])} |")
    if s["disagreements"]:
        lines += ["", f"Disagreements (axe fails, the model passes): {len(s['disagreements'])}", ""]
        lines += [f"- {_example(e)}; model {e['model_fg']} on {e['model_bg']} needs {e['model_required']:g}: {e['reason']}"
                  for e in s["disagreements"][:20]]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# rendering and auditing


@dataclass(frozen=True)
class Colouring:
    """One colouring to audit on every page: a label, its colours, where its summary goes."""

    label: str
    pages: list[PageColors]  # aligned with the run's page ids
    out_dir: Path


async def audit_page(page: Page, selectors: Sequence[str]) -> dict:
    """axe's color-contrast nodes mapped to elements, plus details of each violating node."""
    nodes = await axe_by_element(page, selectors)
    targets = [n.get("target") or [] for n in nodes if n["kind"] == "violation"]
    described = await page.evaluate(_DESCRIBE_JS, {"selectors": list(selectors), "targets": targets})
    return {"nodes": nodes, "details": described["nodes"], "selectors_resolved": described["resolved"]}


async def _audit_all(jobs: list[tuple[str, str, list[tuple[str, Path]]]], serve_root: Path,
                     browser: BrowserConfig, selectors: dict[str, tuple[str, ...]], workers: int,
                     timeout_s: float) -> dict[str, str]:
    """Open each page once, audit each of its colourings (css, cache path); returns failures."""
    queue: asyncio.Queue = asyncio.Queue()
    for j in jobs:
        if not all(cache.is_file() for _, cache in j[2]):  # resumed: audited before
            queue.put_nowait(j)
    failed: dict[str, str] = {}
    if queue.empty():
        return failed
    async with StaticServer(serve_root) as server, Chromium(browser) as chrome:
        async def one(pid: str, source: str, variants: list[tuple[str, Path]]) -> None:
            mp = await chrome.open(server.url(source), server.origin)
            try:
                for css, cache in variants:
                    if cache.is_file():
                        continue
                    await set_colors_css(mp.page, css)
                    write_json(cache, await audit_page(mp.page, selectors[pid]), indent=None)
            finally:
                await mp.close()

        async def worker() -> None:
            while not queue.empty():
                pid, source, variants = queue.get_nowait()
                try:
                    await asyncio.wait_for(one(pid, source, variants), timeout_s)
                except Exception as err:  # a broken page must not stop the batch
                    failed[pid] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                    log.warning("could not audit %s: %s", pid, failed[pid])
                    if not chrome.alive:
                        await chrome.restart()
                log.info("audited %s (%d left)", pid, queue.qsize())

        await asyncio.gather(*(worker() for _ in range(max(1, min(workers, queue.qsize())))))
    return failed


def residue(run_dirs: Sequence[Path], real: bool = False, pages: int | None = None, workers: int = 1,
            out: Path | None = None, level: str = "aa", command: str = "") -> list[dict]:
    """Audit and classify the violations of every run's colouring (and the real one); one summary each.

    The runs must colour the same data; each page is opened once for all colourings, the truth
    first as in the visual pass. Summaries go to ``<run>/contrast_residue{,_real}.{json,md}`` or,
    with ``out``, to ``<out>/<label>/contrast_residue.{json,md}``.
    """
    loaded = [(Path(d), *Generated.load(Path(d) / "generated.npz")) for d in run_dirs]
    if not loaded:
        raise ValueError("no run directories given")
    first_dir, g0, meta = loaded[0]
    data = meta.get("data") or {}
    for d, g, m in loaded[1:]:
        if (m.get("data") or {}).get("root") != data.get("root") or g.page_ids != g0.page_ids:
            raise ValueError(f"{d} colours other pages than {first_dir}; audit them separately")
    files = page_files(data)
    if files is None:
        raise ValueError(f"{first_dir}: its data ({data.get('name')}) has no page HTML to render")
    browser = BrowserConfig.from_cfg((meta.get("visual") or {}).get("browser") or {})
    timeout_s = float((meta.get("visual") or {}).get("timeout_s", 90))
    ids = g0.page_ids[: pages or None]
    n = len(g0.page_ids)
    colourings: list[Colouring] = []
    if real:
        colourings.append(Colouring("real", split_pages(g0.page, g0.has_text, g0.true, n),
                                    (out / "real") if out else first_dir))
    for d, g, m in loaded:
        label = m.get("label") or d.name
        colourings.append(Colouring(label, split_pages(g.page, g.has_text, g.pred, n), (out / label) if out else d))
    h5 = Path(data["root"]) / data["hdf5"]
    raw = {p.page_id: p for p in read_pages(h5, ids)}
    cache = (out or first_dir) / "contrast_residue_cache"
    salt = f"{browser!r}|axe-core@{axe_version()}|residue{RESIDUE_VERSION}"
    jobs, selectors, cached = [], {}, {}
    for k, pid in enumerate(ids):
        try:
            bundle = files.bundle(pid)
        except FileNotFoundError as err:
            log.warning("skipping %s: %s", pid, err)
            continue
        selectors[pid] = bundle.selectors
        variants = []
        for c in colourings:
            css = page_css(bundle.selectors, c.pages[k], pid)
            path = cache / f"{pid}.{render_key(bundle.source, css, salt)}.json"
            cached[(c.label, pid)] = path
            variants.append((css, path))
        jobs.append((pid, bundle.source, variants))
    failed = asyncio.run(_audit_all(jobs, files.serve_root, browser, selectors, workers, timeout_s))
    classified: dict[str, dict[str, list[dict]]] = {}
    resolved: Counter = Counter()
    for c in colourings:
        classified[c.label] = {}
        for k, pid in enumerate(ids):
            path = cached.get((c.label, pid))
            if path is None or not path.is_file():
                continue
            audit = json.loads(path.read_text())
            verdict = page_verdict(raw[pid], c.pages[k], level)
            classified[c.label][pid] = classify(audit["nodes"], audit["details"], verdict)
            resolved[c.label] += int(audit["selectors_resolved"] == len(selectors[pid]))
    summaries = []
    for c in colourings:
        per_page = classified[c.label]
        if real and c.label != "real":
            mark_same_in_real(per_page, classified["real"])
        s = summarize(per_page, c.label) | {"level": level, "pages_failed_to_render": failed,
                                             "pages_all_selectors_resolved": resolved[c.label], "command": command}
        name = "contrast_residue" + ("_real" if c.label == "real" and not out else "")
        write_json(c.out_dir / f"{name}.json", s | {"by_page": per_page})
        write_atomic(c.out_dir / f"{name}.md", to_markdown(s, command))
        log.info("%s: %s", c.label, {k: s[k] for k in ("pages", "violations", "per_class", "pages_failing_without_a_pct")})
        summaries.append(s)
    return summaries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m colorgen.contrast_residue", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="eval run directories (with generated.npz)")
    parser.add_argument("--real", action="store_true", help="also audit the ground-truth colouring of the same pages")
    parser.add_argument("--pages", type=int, default=None, help="only the first N test pages")
    parser.add_argument("--workers", type=int, default=1, help="browser pages at once")
    parser.add_argument("--out", type=Path, default=None, help="write summaries under OUT/<label>/ instead of the run dirs")
    parser.add_argument("--level", default="aa", choices=("aa", "aaa"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    command = "python -m colorgen.contrast_residue " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    for s in residue(args.runs, args.real, args.pages, args.workers, args.out, args.level, command):
        log.info("%s", to_markdown(s))


if __name__ == "__main__":
    main()
