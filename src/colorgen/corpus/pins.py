"""The pinned package list (``registry.toml``) as typed data.

Why data, not code: versions, hashes and page globs change together when a package is re-pinned,
and a reviewer should see them in one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from .fetch import Pin, npm_pin

DEFAULT_REGISTRY = Path(__file__).with_name("registry.toml")


@dataclass(frozen=True)
class SiteSpec:
    """One template package laid out as one site (= one design)."""

    id: str
    spec: str
    pages: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    web_root: str | None = None  # folder that root-absolute links (/js/x.js) mean; rewritten relative
    variant_class: str | None = None  # body class the designer's skins replace (e.g. skin-blue)
    variants: tuple[str, ...] = ()  # the other skins' classes


@dataclass(frozen=True)
class ExamplesSpec:
    deb: str
    examples_dir: str
    bootstrap: str
    bootswatch: str
    skip: tuple[str, ...] = ()
    rtl_in_themes: bool = False
    pages_per_theme: int | None = None


@dataclass
class Registry:
    pins: dict[str, Pin]
    sites: list[SiteSpec]
    examples: ExamplesSpec | None = None
    shim_specs: list[str] = field(default_factory=list)

    def pin(self, spec: str) -> Pin:
        try:
            return self.pins[spec]
        except KeyError:
            raise KeyError(f"{spec} is not pinned in the registry lock") from None


def load_registry(path: Path | None = None) -> Registry:
    path = Path(path or DEFAULT_REGISTRY)
    with path.open("rb") as f:
        raw = tomllib.load(f)
    pins = {spec: npm_pin(spec, integrity) for spec, integrity in raw.get("lock", {}).items()}
    for spec, d in raw.get("deb", {}).items():
        pins[spec] = Pin(spec, "deb", str(d["sha256"]), str(d["file"]))
    sites = [SiteSpec(str(s["id"]), str(s["spec"]), tuple(s["pages"]), tuple(s.get("exclude", ())),
                      s.get("web_root"), s.get("variant_class"), tuple(s.get("variants", ()))) for s in raw.get("site", [])]
    ids = [s.id for s in sites]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate site ids")
    for s in sites:
        if s.spec not in pins:
            raise ValueError(f"{path}: site {s.id} uses {s.spec}, which [lock] does not pin")
    ex = raw.get("bootstrap_examples")
    examples = None
    if ex:
        examples = ExamplesSpec(str(ex["deb"]), str(ex["examples_dir"]), str(ex["bootstrap"]), str(ex["bootswatch"]),
                                tuple(ex.get("skip", ())), bool(ex.get("rtl_in_themes", False)),
                                ex.get("pages_per_theme"))
    page_specs = {s.spec for s in sites} | ({examples.deb, examples.bootstrap, examples.bootswatch} if examples else set())
    shim = sorted(s for s in pins if s not in page_specs)
    return Registry(pins, sites, examples, shim)
