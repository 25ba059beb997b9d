"""Metrics against scikit-learn / direct SciPy references on seeded random inputs."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import linalg
from sklearn.metrics import accuracy_score, f1_score

from colorgen.metrics import fcd as fcd_module
from colorgen.metrics.classification import (
    accuracy,
    classification_scores,
    concat_text_bg,
    macro_f1,
    macro_f1_present,
)
from colorgen.metrics.fcd import (
    FCD_REPORT_SCALE,
    fcd_score,
    frechet_distance,
    frechet_from_stats,
    page_histograms,
    text_bg_histograms,
)
from colorgen.metrics.pixels import load_pixel_histogram, pixel_fcd, pixel_histogram


def _skewed_labels(rng: np.random.Generator, n: int, k: int, used: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets and noisy predictions drawn from a subset of the classes (so many are absent)."""
    classes = rng.choice(k, size=used, replace=False)
    target = rng.choice(classes, size=n)
    pred = np.where(rng.random(n) < 0.6, target, rng.choice(classes, size=n))
    return pred, target


@pytest.mark.parametrize("k,used", [(512, 40), (512, 300), (8, 5), (8, 8)])
def test_accuracy_and_f1_match_sklearn(k: int, used: int) -> None:
    rng = np.random.default_rng(k + used)
    pred, target = _skewed_labels(rng, 5000, k, used)
    assert accuracy(pred, target) == pytest.approx(accuracy_score(target, pred))
    ref_all = f1_score(target, pred, labels=list(range(k)), average="macro", zero_division=0)
    assert macro_f1(pred, target, k) == pytest.approx(ref_all, abs=1e-12)
    present = np.union1d(target, pred)
    ref_present = f1_score(target, pred, labels=present, average="macro", zero_division=0)
    assert macro_f1_present(pred, target, k) == pytest.approx(ref_present, abs=1e-12)
    if len(present) < k:  # absent classes must pull the published variant down
        assert macro_f1(pred, target, k) < macro_f1_present(pred, target, k)


def test_f1_counts_class_only_predicted() -> None:
    # class 2 is predicted but never a target: F1 0, and it counts in both variants
    target = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])
    ref = f1_score(target, pred, labels=[0, 1, 2], average="macro", zero_division=0)
    assert macro_f1_present(pred, target, 8) == pytest.approx(ref)
    assert macro_f1(pred, target, 8) == pytest.approx(ref * 3 / 8)


def test_classification_scores_accept_torch_and_check_range() -> None:
    rng = np.random.default_rng(1)
    pr, tr = _skewed_labels(rng, 2000, 512, 100)
    pa, ta = _skewed_labels(rng, 2000, 8, 6)
    scores = classification_scores(torch.from_numpy(pr), torch.from_numpy(tr), torch.from_numpy(pa), ta)
    assert set(scores) == {"acc_rgb", "acc_alpha", "f1_rgb", "f1_alpha", "f1_rgb_present", "f1_alpha_present"}
    assert scores["f1_rgb"] == pytest.approx(macro_f1(pr, tr, 512))
    assert scores["acc_alpha"] == pytest.approx(np.mean(pa == ta))
    with pytest.raises(ValueError, match="outside"):
        macro_f1(np.array([0, 8]), np.array([0, 1]), 8)


def test_concat_text_bg_keeps_text_of_text_elements_then_all_bg() -> None:
    text = torch.tensor([5, 6, 7, 8])
    bg = torch.tensor([1, 2, 3, 4])
    has_text = torch.tensor([True, False, True, False])
    assert concat_text_bg(text, bg, has_text).tolist() == [5, 7, 1, 2, 3, 4]


def _loop_histograms(classes, pages, num_pages, mask=None):
    out = np.zeros((num_pages, 512))
    for i, (c, b) in enumerate(zip(classes, pages, strict=True)):
        if mask is None or mask[i]:
            out[b, c] += 1
    s = out.sum(1, keepdims=True)
    return np.divide(out, s, out=np.zeros_like(out), where=s > 0)


def test_page_histograms_match_loop_and_empty_text_page_is_zero() -> None:
    rng = np.random.default_rng(2)
    pages = np.sort(rng.integers(0, 6, size=300))
    text, bg = rng.integers(0, 512, 300), rng.integers(0, 512, 300)
    has_text = rng.random(300) < 0.5
    has_text[pages == 3] = False  # page 3 has no text
    th, bh = text_bg_histograms(torch.from_numpy(text), bg, has_text, torch.from_numpy(pages), 7)
    np.testing.assert_allclose(th, _loop_histograms(text, pages, 7, has_text))
    np.testing.assert_allclose(bh, _loop_histograms(bg, pages, 7))
    assert th[3].sum() == 0 and th[6].sum() == 0 and bh[6].sum() == 0  # page 6 has no elements
    np.testing.assert_allclose(bh[:6].sum(1), 1.0)
    with pytest.raises(ValueError, match="page_index"):
        page_histograms(text, pages, 3)


def _direct_fd(x: np.ndarray, y: np.ndarray) -> float:
    """Textbook FID formula, written independently: Tr(S1 S2)^½ via eigenvalues of √S1 S2 √S1."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    w, v = np.linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    ev = np.linalg.eigvalsh(r @ s2 @ r)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(ev, 0, None)).sum())


def test_frechet_matches_direct_implementation_on_histograms() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    pages = np.sort(rng.integers(0, 200, n))
    a = page_histograms(rng.choice(512, n, p=rng.dirichlet(np.full(512, 0.1))), pages, 200)
    b = page_histograms(rng.choice(512, n, p=rng.dirichlet(np.full(512, 0.1))), pages, 200)
    fd = frechet_distance(a, b)
    assert fd > 0.01
    assert fd == pytest.approx(_direct_fd(a, b), rel=1e-6)
    assert fcd_score(a, b) == pytest.approx(fd * FCD_REPORT_SCALE)
    assert abs(fcd_score(a, a)) < 1e-6  # a set against itself, despite singular covariances


def test_frechet_closed_form_for_diagonal_gaussians() -> None:
    rng = np.random.default_rng(4)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    v1, v2 = rng.uniform(0.1, 2, 16), rng.uniform(0.1, 2, 16)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    got = frechet_from_stats(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-9)


def test_singular_product_falls_back_to_eps_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def flaky_sqrtm(m):
        calls.append(m)
        return np.full_like(m, np.nan) if len(calls) == 1 else linalg.sqrtm(m)

    fake = types.SimpleNamespace(sqrtm=flaky_sqrtm, LinAlgWarning=linalg.LinAlgWarning)
    monkeypatch.setattr(fcd_module, "linalg", fake)
    s = np.diag([1.0, 0.0])
    got = frechet_from_stats(np.zeros(2), s, np.zeros(2), s, eps=1e-2)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (s + 1e-2 * np.eye(2)) @ (s + 1e-2 * np.eye(2)))
    assert got == pytest.approx(2 * np.trace(s) - 2 * np.trace(s + 1e-2 * np.eye(2)))


def test_pixel_histogram_of_known_image(tmp_path) -> None:
    px = np.array(
        [[[0, 0, 0, 255], [255, 255, 255, 0], [32, 0, 0, 10]],
         [[31, 63, 64, 255], [0, 0, 0, 255], [255, 255, 255, 255]]],
        dtype=np.uint8,
    )
    h = pixel_histogram(px)
    expected = np.zeros(512)
    expected[[0, 511, 64, 10]] = [2, 2, 1, 1]  # (31,63,64) -> bins (0,1,2) -> 8 + 2
    np.testing.assert_allclose(h, expected / 6)
    np.testing.assert_allclose(pixel_histogram(px[..., :3]), h)  # alpha is ignored
    Image.fromarray(px[..., :3]).save(tmp_path / "shot.png")
    np.testing.assert_allclose(load_pixel_histogram(tmp_path / "shot.png"), h)
    with pytest.raises(ValueError, match="uint8"):
        pixel_histogram(px.astype(np.float32))


def test_pixel_fcd_reuses_fcd() -> None:
    rng = np.random.default_rng(5)
    real = [pixel_histogram(rng.integers(0, 256, (20, 10, 3), dtype=np.uint8)) for _ in range(30)]
    fake = [pixel_histogram((rng.integers(0, 128, (20, 10, 3))).astype(np.uint8)) for _ in range(30)]
    assert pixel_fcd(real, fake) == pytest.approx(fcd_score(np.stack(real), np.stack(fake)))
    assert pixel_fcd(real, fake) > pixel_fcd(real, real) + 1.0
