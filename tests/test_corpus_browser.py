"""colorgen.corpus with the real browser: the CDN shim offline, and registry pages end to end."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from rich.console import Console

from colorgen.browser import BrowserConfig, Chromium, StaticServer
from colorgen.corpus.build import build_corpus
from colorgen.corpus.pins import Registry, load_registry
from colorgen.data.dataset import load_split
from colorgen.data.webcolor_format import read_split
from colorgen.extract.__main__ import run as run_extract

pytestmark = pytest.mark.browser

FIX = Path(__file__).parent / "fixtures" / "corpus"
CONF = Path(__file__).parent.parent / "conf"
SPECS = ["startbootstrap-bare@5.0.9", "startbootstrap-blog-home@5.0.9", "startbootstrap-simple-sidebar@6.0.6"]

PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Roboto:wght@400&display=swap">
<link rel="stylesheet" href="https://fonts.googleapis.com/icon?family=Material+Icons">
</head><body><p id="t" style="font-family: Roboto, monospace">Hello shim</p><i id="i" class="material-icons">home</i></body></html>"""

PROBE = """async () => {
  await document.fonts.ready;
  const i = getComputedStyle(document.getElementById('i'));
  return {faces: [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family),
          icon_family: i.fontFamily, icon_liga: i.fontFeatureSettings};
}"""


def _probe(tmp_path: Path, cdn_shim: str | None) -> tuple[dict, int]:
    (tmp_path / "p.html").write_text(PAGE)

    async def go():
        with StaticServer(tmp_path) as server:
            async with Chromium(BrowserConfig(cdn_shim=cdn_shim, load_timeout_ms=10000)) as chrome:
                mp = await chrome.open(server.url("p.html"), server.origin)
                try:
                    return await mp.page.evaluate(PROBE), mp.blocked
                finally:
                    await mp.close()

    return asyncio.run(go())


def test_shim_serves_a_font_and_an_icon_stylesheet_offline(tmp_path):
    got, _ = _probe(tmp_path, str(FIX))
    assert "Roboto" in [f.strip("\"'") for f in got["faces"]]  # loaded: the woff2 came from @fontsource
    assert "Material Icons" in got["icon_family"] and "liga" in got["icon_liga"]  # the icon stylesheet applied
    # without the shim the same page gets neither (the requests are blocked, nothing reaches the network)
    plain, blocked_plain = _probe(tmp_path, None)
    assert plain["faces"] == [] and "Material Icons" not in plain["icon_family"]
    assert blocked_plain >= 2  # with the shim only the icon woff2, absent from the fixture, is refused


def test_registry_pages_extract_end_to_end(tmp_path):
    """The committed pinned tarballs -> verify -> unpack -> sites -> colorgen.extract -> dataset."""
    reg = load_registry()
    mini = Registry({s: reg.pins[s] for s in SPECS}, [s for s in reg.sites if s.spec in SPECS], None, [])
    cache, corpus, out = tmp_path / "cache", tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(FIX / "archives", cache / "archives")
    built = build_corpus(mini, corpus, cache)
    assert built.pages == 3 and built.downloaded == 0
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("extract", overrides=["data=registry", f"corpus={corpus}", f"out={out}", "fidelity.enabled=false",
                                            f"browser.cdn_shim={FIX}", "workers=1"])
    report = run_extract(cfg, console=Console(file=io.StringIO()))
    assert report["pages"]["kept"] == 3, report["failures"]
    splits = read_split(out / "webcolor_split_registry.json")
    assert sum(len(v) for v in splits.values()) == 3
    data_cfg = {"root": str(out), "hdf5": "webcolor_registry.hdf5", "split_file": "webcolor_split_registry.json",
                "name": "registry", "cache_dir": str(out / "cache")}
    graphs = [g for s, ids in splits.items() if ids for g in load_split(data_cfg, s)]
    assert len(graphs) == 3 and all(int(g.has_text.sum()) > 0 for g in graphs)
