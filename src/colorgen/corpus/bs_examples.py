"""Bootstrap 5 example sources (Hugo content from Debian's libjs-bootstrap5-doc) -> standalone pages.

Why build them: Debian ships the examples as Hugo page bodies with YAML front matter, not as
HTML. Wrapping each body the way Bootstrap's own ``examples`` layout does gives the same pages
getbootstrap.com serves, and because every page links one separate ``bootstrap.min.css``, any
Bootswatch theme re-skins all of them by swapping that one file.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DOCS_VERSION = "5.2"
YEAR = "2022"  # the year the pinned 5.2.3 sources were released; a constant keeps builds identical

_HELPER_CSS = """
    .bd-placeholder-img { font-size: 1.125rem; text-anchor: middle; -webkit-user-select: none; user-select: none; }
    @media (min-width: 768px) { .bd-placeholder-img-lg { font-size: 3.5rem; } }
    .b-example-divider { height: 3rem; background-color: rgba(0, 0, 0, .1); border: solid rgba(0, 0, 0, .15);
      border-width: 1px 0; box-shadow: inset 0 .5em 1.5em rgba(0, 0, 0, .1), inset 0 .125em .5em rgba(0, 0, 0, .15); }
    .b-example-vr { flex-shrink: 0; width: 1.5rem; height: 100vh; }
    .bi { vertical-align: -.125em; fill: currentColor; }
    .nav-scroller { position: relative; z-index: 2; height: 2.75rem; overflow-y: hidden; }
    .nav-scroller .nav { display: flex; flex-wrap: nowrap; padding-bottom: 1rem; margin-top: -1px; overflow-x: auto;
      text-align: center; white-space: nowrap; -webkit-overflow-scrolling: touch; }
"""

_SHORTCODE = re.compile(r"\{\{<\s*(/?)([\w.]+)(.*?)>\}\}", re.S)
_ARG = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Example:
    name: str
    front: dict
    body: str

    @property
    def rtl(self) -> bool:
        return str(self.front.get("direction", "")).lower() == "rtl"


def read_example(path: Path) -> Example:
    """``<name>/index.html`` = ``---`` YAML front matter ``---`` + Hugo body."""
    text = path.read_text(encoding="utf-8")
    m = re.match(r"^---\s*\n(.*?)\n---\s*\n(.*)$", text, re.S)
    if not m:
        raise ValueError(f"{path}: no Hugo front matter")
    front = yaml.safe_load(m.group(1)) or {}
    return Example(path.parent.name, front, m.group(2))


def placeholder_svg(args: dict[str, str]) -> str:
    """Bootstrap's ``placeholder`` shortcode: an SVG box with an optional caption."""
    width, height = args.get("width", "100%"), args.get("height", "180")
    title = args.get("title", "Placeholder")
    text = args.get("text", f"{width}x{height}")
    show_title, show_text = title != "false", text != "false"
    cls = ("bd-placeholder-img " + args.get("class", "")).strip()
    label = ""
    if show_title or show_text:
        parts = (title if show_title else "") + (": " if show_title and show_text else "") + (text if show_text else "")
        label = f' role="img" aria-label="{html.escape(parts)}"'
    else:
        label = ' aria-hidden="true"'
    inner = f"<title>{html.escape(title)}</title>" if show_title else ""
    inner += f'<rect width="100%" height="100%" fill="{args.get("background", "#868e96")}"/>'
    if show_text:
        inner += f'<text x="50%" y="50%" fill="{args.get("color", "#dee2e6")}" dy=".3em">{html.escape(text)}</text>'
    return (f'<svg class="{cls}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"{label} '
            f'preserveAspectRatio="xMidYMid slice" focusable="false">{inner}</svg>')


def expand_shortcodes(body: str) -> str:
    def repl(m: re.Match) -> str:
        closing, name, rest = m.group(1), m.group(2), m.group(3)
        if closing:
            return ""
        args = dict(_ARG.findall(rest))
        if name == "placeholder":
            return placeholder_svg(args)
        if name == "year":
            return YEAR
        if name == "param" and "docs_version" in rest:
            return DOCS_VERSION
        if name == "docsref":
            path = rest.strip().strip('"').strip("/")
            return f"https://getbootstrap.com/docs/{DOCS_VERSION}/{path}/"
        return ""  # other shortcodes (example wrappers, inline snippets) only frame content

    body = _SHORTCODE.sub(repl, body)
    return re.sub(r"\{\{.*?\}\}", "", body, flags=re.S)  # any plain Hugo expression left


def build_page(ex: Example, css_href: str, js_href: str) -> str:
    """Standalone HTML of one example; ``css_href`` is the (possibly re-skinned) Bootstrap CSS."""
    f = ex.front
    html_attrs = ' lang="ar" dir="rtl"' if ex.rtl else ' lang="en"'
    if f.get("html_class"):
        html_attrs += f' class="{f["html_class"]}"'
    links = "".join(f'\n    <link href="{href}" rel="stylesheet">' for href in f.get("extra_css") or [])
    body_attr = f' class="{f["body_class"]}"' if f.get("body_class") else ""
    scripts = ""
    if f.get("include_js", True) is not False:
        scripts += f'\n    <script src="{js_href}"></script>'
    for js in f.get("extra_js") or []:
        src = js["src"] if isinstance(js, dict) else str(js)
        is_async = " async" if isinstance(js, dict) and js.get("async") else ""
        scripts += f'\n    <script{is_async} src="{src}"></script>'
    title = html.escape(str(f.get("title", ex.name)))
    return (
        f"<!doctype html>\n<html{html_attrs}>\n  <head>\n    <meta charset=\"utf-8\">\n"
        f"    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"    <title>{title} · Bootstrap v{DOCS_VERSION}</title>\n"
        f"    <link href=\"{css_href}\" rel=\"stylesheet\">\n    <style>{_HELPER_CSS}    </style>{links}\n  </head>\n"
        f"  <body{body_attr}>\n{expand_shortcodes(ex.body)}{scripts}\n  </body>\n</html>\n"
    )


def list_examples(examples_dir: Path, skip: tuple[str, ...] = ()) -> list[Example]:
    out = []
    for index in sorted(Path(examples_dir).glob("*/index.html")):
        if index.parent.name in skip:
            continue
        out.append(read_example(index))
    if not out:
        raise FileNotFoundError(f"no Bootstrap examples under {examples_dir}")
    return out
