"""The whole corpus build: fetch -> verify -> unpack -> sites + MANIFEST.tsv (library entry point).

Order matters for "nothing half-written is used": every archive is fetched and verified before
anything is unpacked, and the manifest (what extraction reads) is written last, atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import layout
from .fetch import Pin, fetch_many
from .pins import Registry
from .unpack import package_dir, unpack

Progress = Callable[[str, str], None]  # (stage, item) after each item of a stage


@dataclass
class BuildResult:
    pages: int
    sites: int
    seconds: dict[str, float]
    downloaded: int
    site_pages: dict[str, int] = field(default_factory=dict)
    removed_sites: list[str] = field(default_factory=list)


def bootswatch_themes(bootswatch_dir: Path) -> list[str]:
    """Theme names shipped by the pinned Bootswatch (folders of dist/ with a bootstrap.min.css)."""
    return sorted(d.name for d in (bootswatch_dir / "dist").iterdir() if (d / "bootstrap.min.css").is_file())


def plan_size(reg: Registry) -> int:
    return len(reg.pins)


def build_corpus(reg: Registry, out: Path, cache: Path, cap: int = 30, bootswatch: bool = True, batch: int = 25,
                 progress: Progress | None = None) -> BuildResult:
    out, cache = Path(out), Path(cache)
    note = progress or (lambda stage, item: None)
    t0 = time.perf_counter()
    pins: list[Pin] = list(reg.pins.values())
    fetched = fetch_many(pins, cache, batch=batch, on_done=lambda pin, _d: note("fetch", pin.spec))
    t1 = time.perf_counter()
    for pin, archive, _ in fetched:
        unpack(pin, archive, cache)
        note("unpack", pin.spec)
    t2 = time.perf_counter()

    rows: list[layout.ManifestRow] = []
    site_dirs: list[str] = []
    for site in reg.sites:
        site_dir = f"npm__{site.id}"
        pkg = package_dir(cache, site.spec)
        recipe = {"kind": "package", "site": site.id, "spec": site.spec, "integrity": reg.pin(site.spec).integrity,
                  "web_root": site.web_root, "variant_class": site.variant_class, "variants": list(site.variants),
                  "pages": list(site.pages), "exclude": list(site.exclude), "cap": cap}
        got, _ = layout.build_site(out, site_dir, recipe,
                                   lambda tmp, site=site, site_dir=site_dir, pkg=pkg: layout.build_package_site(site, site_dir, pkg, tmp, cap))
        rows += got
        site_dirs.append(site_dir)
        note("layout", site_dir)
    ex = reg.examples
    if ex is not None:
        deb = package_dir(cache, ex.deb)
        examples_dir = deb / ex.examples_dir
        bs = package_dir(cache, ex.bootstrap)
        themes: list[str | None] = [None]
        bw = package_dir(cache, ex.bootswatch)
        if bootswatch:
            themes += bootswatch_themes(bw)
        for rotate, theme in enumerate(themes):
            site_dir = f"bootstrap-examples__{theme or 'default'}"
            if theme is None:
                css, rtl, js = bs / "dist/css/bootstrap.min.css", bs / "dist/css/bootstrap.rtl.min.css", bs / "dist/js/bootstrap.bundle.min.js"
                integrity = reg.pin(ex.bootstrap).integrity
            else:
                css, rtl, js = bw / "dist" / theme / "bootstrap.min.css", bw / "dist" / theme / "bootstrap.rtl.min.css", bs / "dist/js/bootstrap.bundle.min.js"
                integrity = reg.pin(ex.bootswatch).integrity
            rtl_file = rtl if rtl.is_file() else None
            recipe = {"kind": "examples", "theme": theme, "deb": reg.pin(ex.deb).integrity, "css": integrity,
                      "skip": list(ex.skip), "rtl_in_themes": ex.rtl_in_themes, "cap": cap,
                      "per_theme": ex.pages_per_theme, "rotate": rotate}
            got, _ = layout.build_site(
                out, site_dir, recipe,
                lambda tmp, site_dir=site_dir, css=css, rtl_file=rtl_file, js=js, theme=theme, rotate=rotate: layout.build_examples_site(
                    ex, site_dir, examples_dir, css, rtl_file, js, tmp, theme, cap, rotate))
            rows += got
            site_dirs.append(site_dir)
            note("layout", site_dir)
    removed = layout.remove_other_sites(out, set(site_dirs))
    layout.write_readme(out)
    layout.write_manifest(out, rows)
    t3 = time.perf_counter()
    per_site: dict[str, int] = {}
    for r in rows:
        per_site[r.site] = per_site.get(r.site, 0) + 1
    return BuildResult(len(rows), len(site_dirs), {"fetch": round(t1 - t0, 1), "unpack": round(t2 - t1, 1), "layout": round(t3 - t2, 1)},
                       sum(d for _, _, d in fetched), per_site, removed)
