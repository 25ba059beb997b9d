"""Unpacked packages -> ``<out>/sites/<site>/...`` + ``<out>/MANIFEST.tsv``, the webpages corpus format.

One site is one design, so extraction's split by site (column 1) keeps a design and its
re-skins together: a template package is one site, and a Bootswatch theme applied to the
Bootstrap examples is one site (its stylesheet *is* the colour design; see README of the corpus).

Files are hard-linked from the package cache (no copy of ~0.7 GB); only the HTML pages the
manifest lists are kept, as in ``../shared/webpages``. Each site is built in a temp folder and
renamed into place; a stamp records the recipe, so a re-run rebuilds only changed sites, and
MANIFEST.tsv is removed before and written (atomically) after any rebuild: a corpus with a
manifest is always complete.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from colorgen.io import replacing_dir, write_atomic

from . import bs_examples
from .pins import ExamplesSpec, SiteSpec

LAYOUT_VERSION = 3  # bump when the layout code changes what a site holds
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class ManifestRow:
    """One MANIFEST.tsv line (same 6 columns as ../shared/webpages/MANIFEST.tsv)."""

    site: str
    path: str  # relative to sites/, starts with the site folder
    source: str  # registry + pinned spec, e.g. npm:startbootstrap-agency@7.0.12
    source_path: str  # path of the page inside that package
    licence: str
    size: int

    def line(self) -> str:
        cols = [self.site, self.path, self.source, self.source_path, self.licence, str(self.size)]
        for c in cols:
            if "\t" in c or "\n" in c:
                raise ValueError(f"manifest field {c!r} holds a tab or newline")
        return "\t".join(cols)


def spread(items: list[str], k: int) -> list[str]:
    """``k`` items spread evenly over the sorted list (deterministic, keeps first and varied pages)."""
    items = sorted(items)
    if k >= len(items):
        return items
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def match_pages(root: Path, globs: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Package-relative POSIX paths of the HTML files matching any glob and no exclude."""
    found: set[str] = set()
    for g in globs:
        for p in root.glob(g):
            if p.is_file() and p.suffix.lower() in HTML_SUFFIXES:
                found.add(p.relative_to(root).as_posix())
    return sorted(f for f in found if not any(fnmatch.fnmatch(f, x) for x in exclude))


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


def link_tree(src: Path, dst: Path, keep_html: set[str]) -> None:
    """Mirror ``src`` into ``dst`` by hard links, leaving out HTML files not in ``keep_html``."""
    for dirpath, _dirs, files in os.walk(src):
        d = Path(dirpath)
        for name in files:
            f = d / name
            rel = f.relative_to(src).as_posix()
            if f.suffix.lower() in HTML_SUFFIXES and rel not in keep_html:
                continue
            if f.is_symlink() or not f.is_file():
                continue
            _link(f, dst / rel)


def package_licence(pkg_dir: Path) -> str:
    try:
        meta = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unknown"
    lic = meta.get("license") or meta.get("licence")
    if isinstance(lic, dict):
        lic = lic.get("type")
    return str(lic).strip() if lic else "unknown"


_ROOT_ABS = re.compile(r"""((?:href|src|action)\s*=\s*["'])/(?!/)""", re.I)


def rewrite_root_absolute(page: Path, web_root: str, rel: str) -> int:
    """Make ``href="/x"`` links relative to ``web_root``: the corpus server's root is the corpus,
    not the package's web root. The page file is a hard link into the cache, so it is replaced,
    never written through. Returns the number of links rewritten."""
    depth = len(Path(rel).relative_to(web_root).parts) - 1
    prefix = "../" * depth or "./"
    text = page.read_text(encoding="utf-8")
    new, n = _ROOT_ABS.subn(lambda m: m.group(1) + prefix, text)
    if n:
        page.unlink()
        page.write_text(new, encoding="utf-8")
    return n


# ---------------------------------------------------------------------------------------------
# Site builders: each returns its rows, writing only into the given (temp) folder


VARIANT_SHARE = 3  # with designer variants, 1/3 of a design's cap goes to re-skinned pages (weighted lower)


def _body_with_class(text: str, old: str) -> re.Match | None:
    return re.search(r"<body\b[^>]*\bclass\s*=\s*([\"'])([^\"']*)\1", text, re.I) if old else None


def variant_html(text: str, old: str, new: str) -> str | None:
    """The page with body class ``old`` swapped for ``new`` (None if its body lacks ``old``)."""
    m = _body_with_class(text, old)
    if m is None or old not in m.group(2).split():
        return None
    classes = " ".join(new if c == old else c for c in m.group(2).split())
    return text[:m.start(2)] + classes + text[m.end(2):]


def build_package_site(site: SiteSpec, site_dir: str, pkg_dir: Path, dest: Path, cap: int) -> list[ManifestRow]:
    """A package as one site; with designer variants, skinned copies sit beside their page
    (``index__skin-red.html``: same folder, so every relative link still resolves)."""
    pages = match_pages(pkg_dir, site.pages, site.exclude)
    if not pages:
        raise FileNotFoundError(f"site {site.id}: no page of {site.spec} matches {list(site.pages)}")
    variant_budget = cap // VARIANT_SHARE if site.variants else 0
    kept = spread(pages, cap - variant_budget)
    link_tree(pkg_dir, dest, set(kept))
    if site.web_root:
        for p in kept:
            rewrite_root_absolute(dest / p, site.web_root, p)
    lic = package_licence(pkg_dir)
    rows = [ManifestRow(site_dir, f"{site_dir}/{p}", f"npm:{site.spec}", p, lic, (dest / p).stat().st_size) for p in kept]
    if variant_budget:
        eligible = [p for p in kept if variant_html((dest / p).read_text(encoding="utf-8"), site.variant_class or "", "x")]
        pairs = [(v, p) for v in site.variants for p in eligible]  # skin-major: picks spread over skins and pages
        k = min(variant_budget, len(pairs))
        for v, p in (pairs[int(i * len(pairs) / k)] for i in range(k)):
            text = variant_html((dest / p).read_text(encoding="utf-8"), site.variant_class or "", v)
            stem, suffix = p.rsplit(".", 1)
            out = dest / f"{stem}__{v}.{suffix}"
            out.write_text(text, encoding="utf-8")
            rows.append(ManifestRow(site_dir, f"{site_dir}/{stem}__{v}.{suffix}", f"npm:{site.spec}",
                                    f"{p}?body-class={v}", lic, out.stat().st_size))
    return rows


def build_examples_site(spec: ExamplesSpec, site_dir: str, examples_dir: Path, css_file: Path, rtl_css: Path | None,
                        js_file: Path, dest: Path, theme: str | None, cap: int, rotate: int = 0) -> list[ManifestRow]:
    """The Bootstrap examples with ``css_file`` as their Bootstrap CSS (``theme`` None: Bootstrap's own)."""
    examples = bs_examples.list_examples(examples_dir, spec.skip)
    if theme is not None and not spec.rtl_in_themes:
        examples = [e for e in examples if not e.rtl]
    if theme is not None and rtl_css is None:
        examples = [e for e in examples if not e.rtl]
    names = sorted(e.name for e in examples)
    if theme is not None and spec.pages_per_theme and spec.pages_per_theme < len(names):
        # a window of layouts starting at ``rotate``: over the themes every layout gets re-skinned
        k = min(spec.pages_per_theme, cap)
        chosen = {names[(rotate * k + i) % len(names)] for i in range(k)}
    else:
        chosen = set(spread(names, cap))
    _link(css_file, dest / "assets/dist/css/bootstrap.min.css")
    if rtl_css is not None:
        _link(rtl_css, dest / "assets/dist/css/bootstrap.rtl.min.css")
    _link(js_file, dest / "assets/dist/js/bootstrap.bundle.min.js")
    rows = []
    source = f"deb:{spec.deb}+npm:{spec.bootstrap}" + (f"+npm:{spec.bootswatch}/dist/{theme}" if theme else "")
    for ex in examples:
        if ex.name not in chosen:
            continue
        for f in (examples_dir / ex.name).iterdir():  # the example's own css/js, at the same relative place
            if f.is_file() and f.suffix.lower() not in HTML_SUFFIXES:
                _link(f, dest / ex.name / f.name)
        css = "../assets/dist/css/bootstrap.rtl.min.css" if ex.rtl else "../assets/dist/css/bootstrap.min.css"
        page = bs_examples.build_page(ex, css, "../assets/dist/js/bootstrap.bundle.min.js")
        out = dest / ex.name / "index.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
        rows.append(ManifestRow(site_dir, f"{site_dir}/{ex.name}/index.html", source,
                                f"{spec.examples_dir}/{ex.name}/index.html", "MIT", out.stat().st_size))
    return rows


# ---------------------------------------------------------------------------------------------
# Atomic, resumable site building and the manifest


def recipe_hash(recipe: dict) -> str:
    return hashlib.sha256(json.dumps({"v": LAYOUT_VERSION, **recipe}, sort_keys=True).encode()).hexdigest()[:16]


def build_site(out: Path, site_dir: str, recipe: dict, builder: Callable[[Path], list[ManifestRow]]) -> tuple[list[ManifestRow], bool]:
    """Build ``<out>/sites/<site_dir>`` with ``builder(temp_dir)`` unless a stamp with the same
    recipe says it is there already. Returns (rows, built_now)."""
    sites, stamps = out / "sites", out / ".build"
    sites.mkdir(parents=True, exist_ok=True)
    stamps.mkdir(parents=True, exist_ok=True)
    stamp = stamps / f"{site_dir}.json"
    key = recipe_hash(recipe)
    final = sites / site_dir
    if stamp.is_file() and final.is_dir():
        saved = json.loads(stamp.read_text())
        if saved.get("recipe") == key:
            return [ManifestRow(**r) for r in saved["rows"]], False
    (out / "MANIFEST.tsv").unlink(missing_ok=True)  # the corpus is in flux until the manifest is rewritten
    for stale in sites.glob(f".tmp-{site_dir}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    with replacing_dir(final, prefix=f".tmp-{site_dir}-") as tmp:
        rows = builder(tmp)
    write_atomic(stamp, json.dumps({"recipe": key, "rows": [asdict(r) for r in rows]}, indent=0))
    return rows, True


def remove_other_sites(out: Path, keep: set[str]) -> list[str]:
    """Drop site folders (and stamps) no longer in the recipe, so the corpus equals the lock."""
    removed = []
    for d in sorted((out / "sites").iterdir()) if (out / "sites").is_dir() else []:
        if d.is_dir() and not d.name.startswith(".") and d.name not in keep:
            shutil.rmtree(d)
            (out / ".build" / f"{d.name}.json").unlink(missing_ok=True)
            removed.append(d.name)
    return removed


def write_manifest(out: Path, rows: list[ManifestRow]) -> Path:
    seen: set[str] = set()
    for r in rows:
        if r.path in seen:
            raise ValueError(f"page {r.path} listed twice")
        seen.add(r.path)
    path = out / "MANIFEST.tsv"
    write_atomic(path, "".join(r.line() + "\n" for r in rows))
    return path


CORPUS_README = """# registry corpus (built by `make corpus` / `python -m colorgen.corpus`; do not edit)

Same format as ../shared/webpages: `MANIFEST.tsv` (6 tab-separated columns: site, page path
relative to `sites/`, source, path in the source, licence, HTML size) and `sites/<site>/...` with
every file the pages load at its relative path. Only the listed HTML pages exist.

* Source = pinned registry packages (src/colorgen/corpus/registry.toml), every archive
  hash-checked: `npm:<name>@<version>`, or `deb:<pkg>=<version>+npm:...` for the Bootstrap
  examples built from Debian's libjs-bootstrap5-doc.
* One site = one design, so a split by site keeps a design and its re-skins together:
  `npm__<template>` (designer skins such as AdminLTE 2 `skin-*` / AdminBSB `theme-*` are extra
  pages `<page>__<skin>.html` beside their page; source path `<page>?body-class=<skin>`), and
  `bootstrap-examples__<theme>` (the Bootstrap examples with one Bootswatch theme, or `default`).
  The example layouts are shared between themes (like a CSS framework); the colours are the theme's.
* Pages are byte-identical to the package except: the Bootstrap examples (built from Hugo
  sources), skin variants (one body class swapped), and gentelella (root-absolute links made relative).
* Render with the CDN shim (`browser.cdn_shim=<corpus cache>`): fonts, icon fonts and CDN
  libraries are then answered from pinned packages; nothing else leaves the machine.
"""


def write_readme(out: Path) -> None:
    write_atomic(out / "README.md", CORPUS_README)
