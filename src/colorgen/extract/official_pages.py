"""Processed-page archives in the official WebColor layout: read them for rendering, write them.

Why: the official evaluation does not render pages from the crawl; it renders each test page
from ``<data_id>.zip``, which holds

* ``selectors.txt``: line i = a unique CSS selector of element i (the HDF5 node order),
  ``"\\n"``-joined with no trailing newline (the official code indexes ``split("\\n")``);
* ``user.css``: one rule per element, in element order,
  ``<selector> { background-color: <c>; color: <c>; }`` (``color`` for text elements only).
  The official ``update_css`` overwrites this file with a palette's colours before each shot;
* ``user.html``: the page, which links ``user.css``; it is opened as a file from the unpacked
  folder (``file://.../user.html``).

colorgen renders such a page like any extracted page: the unpacked folders of all archives sit
under one served root, the page is ``<folder>/user.html`` and colours go on top as colorgen's
layered stylesheet (which beats ``user.css`` and every page rule), so no file is rewritten.

Archives written from colorgen's own extracted pages follow that layout and stay
self-contained: the page's site folder is copied under ``assets/``, and ``user.html`` is the
page's HTML with ``<base href="assets/<page folder>/">`` first in its head (so its relative
CSS and images load) and the ``user.css`` link last (so it comes after the page's styles).
Plain ``user.css`` rules lose to more specific or ``!important`` page rules, so the official
``update_css`` can miss colours on such pages; colorgen's own renderer does not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from colorgen.data.webcolor_format import read_pages
from colorgen.extract.bundle import PageBundle
from colorgen.io import replacing, replacing_dir

log = logging.getLogger(__name__)

HTML, CSS, SELECTORS = "user.html", "user.css", "selectors.txt"
ARCHIVE_FILES = (HTML, CSS, SELECTORS)
ASSETS = "assets"
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed member timestamps: the same page gives the same bytes


# ---------------------------------------------------------------------------------------------
# The three files


def parse_selectors(text: str, where: str = SELECTORS) -> tuple[str, ...]:
    """``selectors.txt`` -> element-aligned selectors (one trailing newline tolerated)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError(f"{where}: no selectors")
    blank = [i for i, s in enumerate(lines) if not s.strip()]
    if blank:
        raise ValueError(f"{where}: empty selector on line {blank[0] + 1} (line i must address element i)")
    return tuple(lines)


def format_user_css(selectors: Sequence[str], background_colors: Sequence[str],
                    text_colors: Sequence[str | None]) -> str:
    """``user.css`` as the official ``update_css`` writes it: one plain rule per element, in order."""
    if not (len(selectors) == len(background_colors) == len(text_colors)):
        raise ValueError("selectors and colour lists must have the same length")
    lines = []
    for sel, bg, fg in zip(selectors, background_colors, text_colors, strict=True):
        decl = f"background-color: {bg};" + (f" color: {fg};" if fg is not None else "")
        lines.append(f"{sel} {{ {decl} }}\n")
    return "".join(lines)


def parse_user_css(text: str, selectors: Sequence[str], where: str = CSS) -> list[tuple[str, str | None]]:
    """``user.css`` -> per element (background colour, text colour or ``None``).

    Rule i must address ``selectors[i]``: a file out of step with ``selectors.txt`` would colour
    the wrong elements, so it is an error naming the first line that differs.
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) != len(selectors):
        raise ValueError(f"{where}: {len(lines)} rules but {len(selectors)} selectors")
    colors = []
    for i, (line, sel) in enumerate(zip(lines, selectors, strict=True)):
        head = f"{sel} {{"
        body = line.strip()
        if not body.startswith(head) or not body.endswith("}"):
            raise ValueError(f"{where}: rule {i + 1} does not address selector {sel!r}: {line[:120]!r}")
        decls = {}
        for decl in body[len(head):-1].split(";"):
            if decl.strip():
                name, sep, value = decl.partition(":")
                if not sep:
                    raise ValueError(f"{where}: rule {i + 1}: malformed declaration {decl.strip()!r}")
                decls[name.strip().lower()] = value.strip()
        if "background-color" not in decls:
            raise ValueError(f"{where}: rule {i + 1} ({sel!r}) sets no background-color")
        colors.append((decls["background-color"], decls.get("color")))
    return colors


# ---------------------------------------------------------------------------------------------
# Reading: archives -> pages colorgen renders


@dataclass(frozen=True)
class OfficialPage:
    """One unpacked processed page, addressed relative to the folder a static server serves."""

    data_id: str
    dir: Path  # the unpacked folder (holds the three files)
    serve_root: Path  # serve this; the page is ``source`` under it
    selectors: tuple[str, ...]

    @property
    def source(self) -> str:
        """Path of ``user.html`` relative to :attr:`serve_root` (what render jobs load)."""
        return self.dir.relative_to(self.serve_root).joinpath(HTML).as_posix()

    def colors(self) -> list[tuple[str, str | None]]:
        """The colours ``user.css`` holds now (background, text or ``None``), element-aligned."""
        return parse_user_css((self.dir / CSS).read_text(encoding="utf-8"), self.selectors, str(self.dir / CSS))

    def bundle(self) -> PageBundle:
        """The page as a :class:`colorgen.render.recolor.PageBundle` (what render/ recolours)."""
        return PageBundle(page_id=self.data_id, dir=self.dir, source=self.source, selectors=self.selectors)


def _check_folder(folder: Path, what: str) -> None:
    missing = [name for name in ARCHIVE_FILES if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{what} is not a processed page: {', '.join(missing)} missing")


def _safe_members(zf: zipfile.ZipFile, archive: Path) -> list[zipfile.ZipInfo]:
    """Members, refusing any that would land outside the target folder."""
    members = zf.infolist()
    for m in members:
        p = PurePosixPath(m.filename)
        if p.is_absolute() or ".." in p.parts or "\\" in m.filename:
            raise ValueError(f"{archive}: member {m.filename!r} would unpack outside its folder")
    return members


def _archive_root(names: Sequence[str]) -> str:
    """The folder inside a zip holding the three files: '' or one wrapping folder (``<id>/``)."""
    if HTML in names:
        return ""
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(tops) == 1:
        top = tops.pop()
        if f"{top}/{HTML}" in names:
            return top + "/"
    return ""


def unpack(archive: Path, cache_root: Path) -> Path:
    """``<data_id>.zip`` -> ``<cache_root>/<data_id>-<content digest>/`` (unpacked once, atomically).

    The digest of the zip's bytes names the folder, so a changed archive is unpacked afresh
    and never mixed with an older copy.
    """
    archive = Path(archive)
    digest = hashlib.sha1(archive.read_bytes()).hexdigest()[:12]
    target = Path(cache_root) / f"{archive.stem}-{digest}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{archive}: not a zip archive ({err})") from err
    with zf, tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as tmp:
        members = _safe_members(zf, archive)
        root = _archive_root([m.filename for m in members])
        zf.extractall(tmp, members)
        folder = Path(tmp) / root
        _check_folder(folder, str(archive))
        try:
            os.replace(folder, target)
        except OSError:  # another process unpacked it first
            if not target.is_dir():
                raise
    return target


class OfficialPages:
    """A directory of processed pages (``<data_id>.zip`` and/or unpacked ``<data_id>/`` folders).

    Zips are unpacked under ``cache_dir``; unpacked folders are linked there, so that one
    static server (rooted at :attr:`serve_root`) serves every page.
    """

    def __init__(self, pages_dir: str | os.PathLike, cache_dir: str | os.PathLike):
        self.pages_dir = Path(pages_dir)
        if not self.pages_dir.is_dir():
            raise FileNotFoundError(f"processed pages directory {self.pages_dir} does not exist")
        self.serve_root = Path(cache_dir)
        self.serve_root.mkdir(parents=True, exist_ok=True)

    def ids(self) -> list[str]:
        """Data ids present (zips and folders), sorted."""
        found = {p.stem for p in self.pages_dir.glob("*.zip")}
        found |= {p.name for p in self.pages_dir.iterdir() if p.is_dir() and (p / HTML).is_file()}
        return sorted(found)

    def _folder(self, data_id: str) -> Path:
        folder, archive = self.pages_dir / data_id, self.pages_dir / f"{data_id}.zip"
        if folder.is_dir():
            _check_folder(folder, str(folder))
            link = self.serve_root / data_id
            if not link.exists():
                tmp = self.serve_root / f".{data_id}.{os.getpid()}.link"
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(folder.resolve(), target_is_directory=True)
                os.replace(tmp, link)
            return link
        if archive.is_file():
            return unpack(archive, self.serve_root)
        raise FileNotFoundError(f"page {data_id!r} has no processed page in {self.pages_dir} "
                                f"({data_id}.zip or {data_id}/ with {', '.join(ARCHIVE_FILES)})")

    def page(self, data_id: str) -> OfficialPage:
        folder = self._folder(data_id)
        selectors = parse_selectors((folder / SELECTORS).read_text(encoding="utf-8"), str(folder / SELECTORS))
        return OfficialPage(data_id=data_id, dir=folder, serve_root=self.serve_root, selectors=selectors)

    def bundle(self, data_id: str) -> PageBundle:
        """Drop-in for ``render.recolor.load_bundle(root, page_id)``: FileNotFoundError when absent."""
        return self.page(data_id).bundle()


# ---------------------------------------------------------------------------------------------
# Writing: colorgen's extracted pages -> archives in the official layout

_HEAD_RE = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_HEAD_END_RE = re.compile(r"</head\s*>", re.IGNORECASE)
_BASE_RE = re.compile(r"<base\s[^>]*href", re.IGNORECASE)


def user_html(html: str, page_dir: PurePosixPath) -> str:
    """The page's HTML as ``user.html``: a base into ``assets/<page_dir>/`` first, the ``user.css``
    link last in the head (its href is resolved against that base, hence the ``../``)."""
    if _BASE_RE.search(html):
        log.warning("page has its own <base href>; the archive's base comes first and wins")
    base_path = PurePosixPath(ASSETS, page_dir)
    base = f'<base href="{base_path.as_posix()}/">\n'
    link = f'<link rel="stylesheet" href="{"../" * len(base_path.parts)}{CSS}">\n'
    m = _HEAD_RE.search(html)
    if m is None:  # no <head>: the browser makes one from what comes first
        return base + link + html
    end = _HEAD_END_RE.search(html, m.end())
    if end is None:
        return html[: m.end()] + "\n" + base + link + html[m.end():]
    return html[: m.end()] + "\n" + base + html[m.end(): end.start()] + link + html[end.start():]


def _archive_files(html: bytes, selectors: Sequence[str], background_colors: Sequence[str],
                   text_colors: Sequence[str | None], site_dir: Path | None, page_in_site: PurePosixPath,
                   ) -> dict[str, bytes | Path]:
    if not selectors:
        raise ValueError("a processed page needs at least one element")
    bad = [s for s in selectors if not s.strip() or "\n" in s]
    if bad:
        raise ValueError(f"selectors must be non-empty single lines, got {bad[0]!r}")
    files: dict[str, bytes | Path] = {
        # latin-1 maps bytes 1:1, so the page's own bytes (whatever its charset) pass unchanged
        HTML: user_html(html.decode("latin-1"), page_in_site.parent).encode("latin-1"),
        CSS: format_user_css(selectors, background_colors, text_colors).encode("utf-8"),
        SELECTORS: "\n".join(selectors).encode("utf-8"),
    }
    if site_dir is not None:
        for p in sorted(site_dir.rglob("*")):
            if p.is_file():
                files[PurePosixPath(ASSETS, p.relative_to(site_dir).as_posix()).as_posix()] = p
    return files


def write_archive(out: str | os.PathLike, html: str | bytes, selectors: Sequence[str], background_colors: Sequence[str],
                  text_colors: Sequence[str | None], site_dir: str | os.PathLike | None = None,
                  page_in_site: str = "index.html") -> Path:
    """Write one processed page: ``out`` ending in ``.zip`` gives an archive, else a folder.

    ``site_dir`` (optional) is copied under ``assets/``; ``page_in_site`` is the page's path in
    it, which sets the base its relative URLs resolve against. Written atomically.
    """
    out = Path(out)
    files = _archive_files(html.encode("utf-8") if isinstance(html, str) else html, selectors, background_colors, text_colors,
                           None if site_dir is None else Path(site_dir), PurePosixPath(page_in_site))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".zip":
        with replacing(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in files.items():
                data = content.read_bytes() if isinstance(content, Path) else content
                zf.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data, zipfile.ZIP_DEFLATED)
        return out
    with replacing_dir(out) as tmp_dir:
        for name, content in files.items():
            dest = tmp_dir / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, dest)
            else:
                dest.write_bytes(content)
    return out


def _site_of(corpus: Path, source: str) -> tuple[Path, PurePosixPath]:
    """(site folder, page path inside it) for a corpus-relative source ``sites/<site>/<path>``."""
    parts = PurePosixPath(source).parts
    if len(parts) >= 3 and parts[0] == "sites":
        return corpus / parts[0] / parts[1], PurePosixPath(*parts[2:])
    return (corpus / source).parent, PurePosixPath(parts[-1])


def archive_from_extracted(data_root: str | os.PathLike, corpus: str | os.PathLike, page_id: str,
                           out_dir: str | os.PathLike, hdf5: str = "webcolor_webpages.hdf5",
                           unpacked: bool = False) -> Path:
    """``<out_dir>/<page_id>.zip`` (or folder) from colorgen's extraction of ``page_id``.

    Colours are the page's HDF5 values (the ground truth), selectors its bundle's; the site
    folder of its source page in ``corpus`` becomes ``assets/``.
    """
    data_root, corpus = Path(data_root), Path(corpus)
    d = data_root / "pages" / page_id
    meta_path, sel_path = d / "page.json", d / SELECTORS
    if not meta_path.is_file() or not sel_path.is_file():
        raise FileNotFoundError(f"page {page_id!r} has no extracted bundle under {d} (page.json + selectors.txt)")
    source = json.loads(meta_path.read_text(encoding="utf-8")).get("source")
    if not source:
        raise ValueError(f"{meta_path} names no source page")
    html_path = corpus / source
    if not html_path.is_file():
        raise FileNotFoundError(f"source page {html_path} of {page_id!r} not found in corpus {corpus}")
    selectors = parse_selectors(sel_path.read_text(encoding="utf-8"), str(sel_path))
    pages = list(read_pages(data_root / hdf5, [page_id]))
    if not pages:
        raise KeyError(f"page {page_id!r} not in {data_root / hdf5}")
    elements = pages[0].elements
    if len(elements) != len(selectors):
        raise ValueError(f"page {page_id!r}: {len(selectors)} selectors but {len(elements)} elements in {hdf5}")
    site_dir, page_in_site = _site_of(corpus, source)
    html = html_path.read_bytes()
    out = Path(out_dir) / (page_id if unpacked else f"{page_id}.zip")
    return write_archive(out, html, selectors, [e.background_color for e in elements],
                         [e.text_color for e in elements], site_dir, page_in_site.as_posix())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m colorgen.extract.official_pages <data root> <corpus> <out dir> [--split test2] [--pages id ...]``"""
    import argparse

    from colorgen.data.webcolor_format import read_split

    ap = argparse.ArgumentParser(description="Write official processed-page archives (<id>.zip) of extracted pages.")
    ap.add_argument("data_root", type=Path, help="colorgen.extract output (webcolor_<name>.hdf5, pages/)")
    ap.add_argument("corpus", type=Path, help="the corpus the pages were extracted from")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--name", default="webpages", help="data set name: webcolor_<name>.hdf5 / webcolor_split_<name>.json")
    ap.add_argument("--split", nargs="*", default=["test1", "test2"], help="pages of these splits (default: test1 test2)")
    ap.add_argument("--pages", nargs="*", help="these page ids instead of splits")
    ap.add_argument("--unpacked", action="store_true", help="folders instead of zips")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.pages:
        ids = list(args.pages)
    else:
        splits = read_split(args.data_root / f"webcolor_split_{args.name}.json")
        unknown = set(args.split) - set(splits)
        if unknown:
            raise SystemExit(f"unknown splits {sorted(unknown)}; the split file has {sorted(splits)}")
        ids = [pid for s in args.split for pid in splits[s]]
    for pid in ids:
        archive_from_extracted(args.data_root, args.corpus, pid, args.out_dir, f"webcolor_{args.name}.hdf5", args.unpacked)
    log.info("wrote %d processed pages to %s", len(ids), args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
