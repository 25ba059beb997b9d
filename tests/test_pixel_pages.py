"""Pixel-FCD traced to pages (colorgen.pixel_pages) on synthetic screenshots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from colorgen.metrics.pixels import load_pixel_histogram, pixel_fcd
from colorgen.pixel_pages import main, page_effects


def _shot(path, rng, dark: float) -> str:
    """A 20 x 20 screenshot: white with a share ``dark`` of navy pixels, and some noise pixels."""
    img = np.full((20, 20, 3), 255, np.uint8)
    img[: int(20 * dark)] = (10, 20, 90)
    noise = rng.random((20, 20)) < 0.1
    img[noise] = rng.integers(0, 256, (int(noise.sum()), 3))
    Image.fromarray(img).save(path)
    return str(path)


@pytest.fixture
def two_runs(tmp_path):
    """Runs a and b of 8 test1 and 8 test2 pages; b turns test2 pages 0 and 1 dark, the rest equal."""
    rng = np.random.default_rng(0)
    a, b = {}, {}
    for i in range(16):
        pid, test2 = f"site{i % 5}__p{i}", i >= 8
        truth = _shot(tmp_path / f"{pid}.truth.png", rng, dark=0.2 * (i % 3))
        gen = _shot(tmp_path / f"{pid}.a.png", rng, dark=0.1 * (i % 4))
        other = _shot(tmp_path / f"{pid}.b.png", rng, dark=0.9) if i in (8, 9) else gen
        a[pid] = {"test2": test2, "truth": truth, "generated": gen}
        b[pid] = {"test2": test2, "truth": truth, "generated": other}
    return a, b


def test_effects_name_the_pages_that_differ_and_add_up_to_b(two_runs) -> None:
    a, b = two_runs
    e = page_effects(a, b, top=(1, 2))
    t1 = [p for p in sorted(a) if not a[p]["test2"]]
    t2 = [p for p in sorted(a) if a[p]["test2"]]
    real = [load_pixel_histogram(a[p]["truth"]) for p in t1]
    assert e.fcd_a == pytest.approx(pixel_fcd(real, [load_pixel_histogram(a[p]["generated"]) for p in t2]))
    assert e.fcd_b == pytest.approx(pixel_fcd(real, [load_pixel_histogram(b[p]["generated"]) for p in t2]))
    assert e.fcd_b != pytest.approx(e.fcd_a)
    assert sorted(p for p, _ in e.effects) == ["site3__p8", "site4__p9"]  # only the pages b changed
    assert e.without_top[-1] == (2, pytest.approx(e.fcd_a))  # both put back: a again
    assert abs(e.effects[0][1]) >= abs(e.effects[1][1])


def test_runs_of_other_pages_are_refused(two_runs) -> None:
    a, b = two_runs
    b.pop(next(iter(b)))
    with pytest.raises(ValueError, match="other pages"):
        page_effects(a, b)


def test_cli_reads_renders_json_and_says_what_is_missing(two_runs, tmp_path, capsys) -> None:
    a, b = two_runs
    for name, renders in (("a", a), ("b", b)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "renders.json").write_text(json.dumps(renders))
    main([str(tmp_path / "a"), str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert "2 test2 pages differ" in out and "site3__p8" in out
    (tmp_path / "c").mkdir()
    with pytest.raises(FileNotFoundError, match="visual pass"):
        main([str(tmp_path / "a"), str(tmp_path / "c")])
