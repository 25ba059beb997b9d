"""CDN shim: answer a page's font / icon / library requests from pinned npm packages, offline.

Why: most registry pages pull Google Fonts, Font Awesome or Bootstrap's JS from a CDN. Without
them, fonts fall back (layout changes) and icon-ligature fonts show as words ("person",
"weekend") that pollute the text elements. Every answer comes from a package fetched and
hash-checked by ``colorgen.corpus`` (``<cache>/packages/<name>@<version>``); anything not
mapped returns None and the browser blocks it as before. The rules follow the survey
(../shared/corpus_registry.md, section 4).

Use: ``CdnShim(cache).resolve(url)`` -> :class:`ShimResponse` or None; the browser's request
router calls it for every request off the served origin (``browser.cdn_shim=<cache>``).
"""

from __future__ import annotations

import logging
import mimetypes
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

FONTSOURCE_VERSION = "5.3.0"
MATERIAL_ICONS = "material-icons@1.13.14"
FA_KIT = "@fortawesome/fontawesome-free@6.7.2"
FONTS_HOST = "fonts.googleapis.com"
_FS_PREFIX = "/__fs/"  # fake path under fonts.googleapis.com for fontsource files
_MATERIAL_STYLES = {"": "filled", "outlined": "outlined", "round": "round", "sharp": "sharp", "two tone": "two-tone"}
_TYPES = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".otf": "font/otf", ".eot": "application/vnd.ms-fontobject",
          ".svg": "image/svg+xml", ".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript", ".map": "application/json"}


@dataclass(frozen=True)
class ShimResponse:
    body: bytes
    content_type: str
    source: str  # the package file that answered (for logs and tests)
    headers: dict = field(default_factory=dict)

    def fulfil_headers(self) -> dict[str, str]:
        """Headers for Playwright's ``route.fulfill``: CORS open, since fonts load cross-origin."""
        return {"content-type": self.content_type, "access-control-allow-origin": "*", "cache-control": "max-age=86400", **self.headers}


def _version_key(v: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.+-]", v))


class CdnShim:
    """Maps CDN URLs to files of the unpacked pinned packages under ``<cache>/packages``."""

    def __init__(self, cache: str | Path):
        self.packages = Path(cache).resolve() / "packages"
        if not self.packages.is_dir():
            raise FileNotFoundError(f"CDN shim: no unpacked packages under {self.packages} (run `make corpus` first)")
        self._versions: dict[str, list[str]] = {}
        for d in self.packages.iterdir():
            if d.is_dir() and not d.name.startswith("."):
                name, _, version = d.name.replace("+", "/").rpartition("@")
                if name:
                    self._versions.setdefault(name, []).append(version)
        for vs in self._versions.values():
            vs.sort(key=_version_key, reverse=True)

    # -- package files ------------------------------------------------------------------------

    def pinned(self, name: str, wanted: str | None) -> str | None:
        """The pinned version of ``name`` that matches ``wanted`` (exact, or a prefix such as
        ``5`` / ``5.2``; None or ``latest``: the newest pinned)."""
        versions = self._versions.get(name, [])
        if not versions:
            return None
        if not wanted or wanted == "latest":
            return versions[0]
        wanted = wanted.lstrip("^~v=")
        for v in versions:
            if v == wanted or v.startswith(wanted + "."):
                return v
        return None

    def file(self, name: str, version: str | None, path: str) -> Path | None:
        v = self.pinned(name, version)
        if v is None:
            return None
        root = (self.packages / f"{name}@{v}".replace("/", "+")).resolve()
        f = (root / unquote(path).lstrip("/")).resolve()
        if root not in f.parents or not f.is_file():  # no escaping the package folder
            return None
        return f

    def _answer(self, f: Path | None) -> ShimResponse | None:
        if f is None:
            return None
        ctype = _TYPES.get(f.suffix.lower()) or mimetypes.guess_type(f.name)[0] or "application/octet-stream"
        return ShimResponse(f.read_bytes(), ctype, str(f.relative_to(self.packages)))

    # -- URL rules ----------------------------------------------------------------------------

    def resolve(self, url: str) -> ShimResponse | None:
        """The package file (or built stylesheet) that answers ``url``, else None. Never raises:
        the browser's request handler calls it, and an exception there would leave the request
        hanging (the page then times out) instead of being blocked."""
        try:
            return self._resolve(url)
        except (OSError, ValueError, UnicodeError) as err:
            log.warning("CDN shim: %s not answered: %s", url[:200], err)
            return None

    def _resolve(self, url: str) -> ShimResponse | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return None
        host, path = parts.hostname or "", parts.path
        if host == FONTS_HOST:
            return self._google_fonts(path, parts.query)
        if host in ("cdn.jsdelivr.net", "unpkg.com"):
            p = path[len("/npm"):] if host == "cdn.jsdelivr.net" and path.startswith("/npm/") else path
            name, version, rest = _split_npm_path(p)
            if name:
                return self._answer(self.file(name, version, rest or "index.js"))
            return None
        if host == "use.fontawesome.com":
            m = re.match(r"/releases/v([\d.]+)/(.+)", path)
            return self._answer(self.file("@fortawesome/fontawesome-free", m.group(1), m.group(2))) if m else None
        if host == "kit.fontawesome.com" and path.endswith(".js"):
            name, _, version = FA_KIT.rpartition("@")
            return self._answer(self.file(name, version, "js/all.min.js"))
        if host.endswith("bootstrapcdn.com"):
            m = re.match(r"/(bootstrap|font-awesome)/([\d.]+)/(.+)", path)
            if not m:
                return None
            lib, version, rest = m.groups()
            return self._answer(self.file(lib, version, f"dist/{rest}" if lib == "bootstrap" else rest))
        if host == "code.jquery.com":
            m = re.match(r"/jquery-([\d.]+)((?:\.slim)?(?:\.min)?\.js)$", path)
            return self._answer(self.file("jquery", m.group(1), f"dist/jquery{m.group(2)}")) if m else None
        if host == "cdnjs.cloudflare.com":
            m = re.match(r"/ajax/libs/([^/]+)/([^/]+)/(.+)", path)
            if not m:
                return None
            lib, version, rest = m.groups()
            return self._answer(self.file(lib, version, rest) or self.file(lib, version, f"dist/{rest}"))
        return None

    def _google_fonts(self, path: str, query: str) -> ShimResponse | None:
        if path.startswith(_FS_PREFIX):  # a font file named by a stylesheet this shim built
            slug, _, rest = path[len(_FS_PREFIX):].partition("/")
            return self._answer(self.file(f"@fontsource/{slug}", FONTSOURCE_VERSION, rest))
        if path == "/icon":
            families = parse_qs(query).get("family", [""])[0].split("|")
            css = [self._material_css(f) for f in families]
            body = "\n".join(c for c in css if c)
            return ShimResponse(body.encode(), "text/css", "material-icons") if body else None
        if re.match(r"/material-icons[\w-]*\.woff2?$", path):  # url(./x.woff2) relative to /icon
            name, _, version = MATERIAL_ICONS.rpartition("@")
            return self._answer(self.file(name, version, f"iconfont{path}"))
        if path in ("/css", "/css2"):
            body = self._fonts_css(path, query)
            return ShimResponse(body.encode(), "text/css", "fontsource") if body else None
        return None

    def _material_css(self, family: str) -> str:
        fam = family.replace("+", " ").strip().lower()
        if not fam.startswith("material icons"):
            return ""
        style = _MATERIAL_STYLES.get(fam[len("material icons"):].strip())
        if style is None:
            return ""
        name, _, version = MATERIAL_ICONS.rpartition("@")
        f = self.file(name, version, f"iconfont/{style}.css")
        return f.read_text(encoding="utf-8") if f else ""

    def _fonts_css(self, path: str, query: str) -> str:
        """Google Fonts CSS (v1 ``family=A:400,700i|B`` or v2 ``family=A:ital,wght@0,400;1,700``)
        rebuilt from @fontsource stylesheets, with font URLs pointing back at this shim."""
        q = parse_qs(query)
        families = [f for v in q.get("family", []) for f in (v.split("|") if path == "/css" else [v])]
        out = []
        for fam in families:
            name, _, spec = fam.partition(":")
            slug = re.sub(r"[^a-z0-9]+", "-", name.replace("+", " ").strip().lower()).strip("-")
            if slug.startswith("material-icons"):
                out.append(self._material_css(name))
                continue
            for weight, italic in _weights(spec):
                css = _fontsource_css(self.packages, slug, weight, italic)
                if css:
                    out.append(css.replace("url(./files/", f"url(https://{FONTS_HOST}{_FS_PREFIX}{slug}/files/"))
        return "\n".join(out)


def _split_npm_path(p: str) -> tuple[str | None, str | None, str]:
    """``/@scope/name@1.2/dist/x.css`` -> (``@scope/name``, ``1.2``, ``dist/x.css``)."""
    segs = p.lstrip("/").split("/")
    if not segs or not segs[0]:
        return None, None, ""
    n = 2 if segs[0].startswith("@") else 1
    if len(segs) < n:
        return None, None, ""
    head = "/".join(segs[:n])
    name, at, version = head.rpartition("@")
    if not at or not name or name.endswith("/"):
        name, version = head, None
    return name, version, "/".join(segs[n:])


def _weights(spec: str) -> list[tuple[int, bool]]:
    """Weights asked for by a family spec; 400 when none is given."""
    spec = spec.strip()
    if not spec:
        return [(400, False)]
    out: list[tuple[int, bool]] = []
    if "@" in spec:  # css2: axes@tuples
        axes, _, tuples = spec.partition("@")
        names = axes.split(",")
        for t in tuples.split(";"):
            vals = dict(zip(names, t.split(","), strict=False))
            w = vals.get("wght", "400")
            w = w.split("..")[0]
            if w.isdigit():
                out.append((int(w), vals.get("ital") == "1"))
    else:  # css v1: 300,400,400i,700italic
        for w in spec.split(","):
            m = re.match(r"(\d+)?(i|italic)?$", w.strip())
            if m and (m.group(1) or m.group(2)):
                out.append((int(m.group(1) or 400), bool(m.group(2))))
    return out or [(400, False)]


@lru_cache(maxsize=512)
def _fontsource_css(packages: Path, slug: str, weight: int, italic: bool) -> str:
    root = packages / f"@fontsource+{slug}@{FONTSOURCE_VERSION}"
    f = root / f"{weight}{'-italic' if italic else ''}.css"
    if not f.is_file():
        f = root / f"{weight}.css"  # a missing italic falls back to the upright face
    return f.read_text(encoding="utf-8") if f.is_file() else ""
