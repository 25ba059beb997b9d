"""`python -m colorgen.colorize page=<file.html | page id> [model=ar] [num_samples=4]`: colour one page.

Writes into its output directory: ``original.png``, ``sample_<k>.png``, ``sample_<k>.css`` and
``sample_<k>.html`` (the page with the colours inlined), ``contact_sheet.png`` (original and
samples side by side, labelled) and ``samples.json`` (every element's colours per sample), then
prints where they are. A model whose samples do not depend on the seed (greedy AR, NAR, Stats
mode) gives one sample and says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from torch_geometric.data import Batch, Data

from colorgen.browser import BrowserConfig, Chromium, StaticServer
from colorgen.config_schema import register_configs
from colorgen.data.graph import page_to_data
from colorgen.data.webcolor_format import RawPage, read_pages
from colorgen.decoding import DecodingConfig
from colorgen.evaluation.generate import generate_colors
from colorgen.evaluation.runs import (
    data_config,
    load_generator,
    load_upsampler,
    page_files,
    resolve_path,
)
from colorgen.io import write_atomic
from colorgen.render.contact_sheet import save_contact_sheet
from colorgen.render.recolor import PageColors, page_css, recolored_html
from colorgen.render.screenshots import RenderJob, Variant, render
from colorgen.training.seed import seed_everything

log = logging.getLogger("colorgen.colorize")
register_configs()  # the typed config groups (conf/browser, conf/decoding) before Hydra composes


@dataclass
class PageSource:
    """A page to colour: its graph, how to address its elements, and where to serve it from."""

    data: Data
    selectors: list[str]
    serve_root: Path  # folder the static server serves
    url_path: str  # HTML path relative to serve_root
    html_path: Path  # the HTML file itself


def find_serve_root(html: Path) -> Path:
    """Serve from the corpus root when the file lies in one (``MANIFEST.tsv`` above it, so links
    like ``../css`` resolve as at extraction), else from the file's folder."""
    for d in html.parents:
        if (d / "MANIFEST.tsv").is_file():
            return d
    return html.parent


async def _extract_file(html: Path, root: Path, browser: BrowserConfig) -> tuple[RawPage, list[str]]:
    """Extract a page that is not in the dataset, as ``colorgen.extract`` does."""
    from colorgen.extract.corpus import make_page_id
    from colorgen.extract.elements import extract_elements

    rel = html.relative_to(root).as_posix()
    page_id = make_page_id(rel.removeprefix("sites/")) if root != html.parent else f"file_{html.stem}"
    async with StaticServer(root) as server, Chromium(browser) as chrome:
        mp = await chrome.open(server.url(rel), server.origin)
        try:
            ext = await extract_elements(
                mp.page, page_id, server.origin, root, (browser.width, browser.height)
            )
        finally:
            await mp.close()
    return ext.page, ext.selectors


def load_page(cfg: DictConfig, browser: BrowserConfig) -> PageSource:
    """``page=`` an HTML file (extracted now) or an extracted page id of ``cfg.data``."""
    page = str(cfg.page)
    path = resolve_path(page).resolve()
    if page.lower().endswith((".html", ".htm")) or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"page={page}: no such HTML file ({path})")
        root = find_serve_root(path)
        raw, selectors = asyncio.run(_extract_file(path, root, browser))
        return PageSource(page_to_data(raw), selectors, root, path.relative_to(root).as_posix(), path)
    data = data_config(cfg.data)
    pages = page_files(data)
    if pages is None:
        raise ValueError(f"data={data.get('name')} has no page HTML: set data.corpus, or data.pages for official processed pages")
    bundle = pages.bundle(page)
    (raw,) = read_pages(Path(data["root"]) / str(cfg.data.hdf5), [page])
    return PageSource(page_to_data(raw), list(bundle.selectors), pages.serve_root, bundle.source,
                      pages.serve_root / bundle.source)


@torch.no_grad()
def sample_colors(
    model, upsampler, data: Data, decoding: DecodingConfig, num_samples: int, seed: int
) -> tuple[list[PageColors], bool]:
    """Draw up to ``num_samples`` colourings (seeds ``seed``, ``seed + 1``, ...).

    Returns the colourings and whether the model turned out deterministic (two different seeds
    gave the same colours), in which case only one is returned.
    """
    batch = Batch.from_data_list([data])
    has_text = data.has_text.numpy()
    out: list[PageColors] = []
    for k in range(max(1, num_samples)):
        colors, residuals = generate_colors(model, batch, decoding, torch.Generator().manual_seed(seed + k), upsampler)
        arrays = {name: getattr(colors, name).cpu().numpy() for name in colors._fields}
        if residuals is not None:
            arrays |= {"text_res": residuals[0].cpu().numpy(), "bg_res": residuals[1].cpu().numpy()}
        out.append(PageColors.from_arrays(has_text, arrays))
        if k == 1 and _same(out[0], out[1]):
            return out[:1], True
    return out, False


def _same(a: PageColors, b: PageColors) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha"))


def _read_html(path: Path) -> tuple[str, str]:
    """The page's text and the codec that writes it back byte-for-byte (latin-1 if not UTF-8)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _violations(path: Path) -> int | None:
    return json.loads(path.read_text())["violations"] if path.is_file() else None


def colorize(cfg: DictConfig, out_dir: Path) -> dict:
    """Extract/load the page, sample colourings, render and audit them; returns what was written."""
    seed_everything(cfg.seed)
    browser = BrowserConfig.from_cfg(OmegaConf.to_container(cfg.browser, resolve=True) if cfg.browser else None)
    src = load_page(cfg, browser)
    model, _, _ = load_generator(cfg)
    upsampler = load_upsampler(cfg) if cfg.upsampler else None
    decoding = DecodingConfig.from_cfg(cfg.decoding)
    samples, deterministic = sample_colors(model, upsampler, src.data, decoding, cfg.num_samples, cfg.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    html, codec = _read_html(src.html_path)
    base = src.html_path.parent.as_uri() + "/"
    names = ["original"] + [f"sample_{k}" for k in range(len(samples))]
    variants, record = [Variant(None, out_dir / "original.png", out_dir / "original.axe.json")], []
    for k, colors in enumerate(samples):
        css = page_css(src.selectors, colors, src.data.page_id)
        write_atomic(out_dir / f"sample_{k}.css", css.encode())
        write_atomic(out_dir / f"sample_{k}.html", recolored_html(html, css, base, decoding.rest_level).encode(codec, errors="replace"))
        variants.append(Variant(css, out_dir / f"sample_{k}.png", out_dir / f"sample_{k}.axe.json", decoding.rest_level))
        text, bg = colors.css_values()
        record.append([{"selector": s, "background_color": b, "text_color": t}
                       for s, b, t in zip(src.selectors, bg, text, strict=True)])
    for v in variants:  # a reused output folder must not serve an older run's pictures
        for p in v.outputs():
            p.unlink(missing_ok=True)
    report = render([RenderJob(src.data.page_id, src.url_path, tuple(variants))], src.serve_root, browser, workers=1)
    if report.failed:
        raise RuntimeError(f"could not render {src.html_path}: {report.failed}")
    fails = {n: _violations(out_dir / f"{n}.axe.json") for n in names}
    label = cfg.model.name + ("" if deterministic else f" ({cfg.decoding.name})")
    cells = [
        (f"{'original' if n == 'original' else f'{label} #{i}'}\n{fails[n]} contrast failures", out_dir / f"{n}.png")
        for i, n in enumerate(names)
    ]
    sheet = save_contact_sheet(out_dir / "contact_sheet.png", [cells], title=f"{src.data.page_id} ({src.url_path})")
    info = {
        "page_id": src.data.page_id,
        "html": str(src.html_path),
        "model": cfg.model.name,
        "decoding": OmegaConf.to_container(cfg.decoding, resolve=True),
        "deterministic": deterministic,
        "upsampler": upsampler is not None,
        "contrast_violations": fails,
        "samples": record,
    }
    write_atomic(out_dir / "samples.json", json.dumps(info, indent=1).encode())
    return {"out_dir": out_dir, "contact_sheet": sheet, "samples": len(samples), "deterministic": deterministic}


@hydra.main(config_path="../../conf", config_name="colorize", version_base="1.3")
def main(cfg: DictConfig) -> None:
    out_dir = resolve_path(cfg.out) if cfg.out else Path(HydraConfig.get().runtime.output_dir)
    result = colorize(cfg, out_dir)
    console = Console()
    if result["deterministic"]:
        console.print(f"[yellow]{cfg.model.name} is deterministic with these settings: one sample[/yellow]")
    console.print(f"{result['samples']} sample(s) of {cfg.page} written to {result['out_dir']}")
    console.print(f"contact sheet: {result['contact_sheet']}")


if __name__ == "__main__":
    main()
