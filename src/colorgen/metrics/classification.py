"""Accuracy and macro F-score over colour classes, the published way.

Predictions and targets are the same concatenation as the loss:
``[text colours of text elements ; background colours of all elements]``
(see :func:`concat_text_bg`). Everything is a handful of ``np.bincount`` calls, so
millions of elements take milliseconds; no scikit-learn at run time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES


def as_numpy(x: Any) -> np.ndarray:
    """Torch tensor (any device) or array-like -> NumPy array, without copying when possible."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _labels(x: Any, num_classes: int, name: str) -> np.ndarray:
    a = as_numpy(x).reshape(-1).astype(np.int64, copy=False)
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise ValueError(f"{name} holds classes outside [0, {num_classes}): min {a.min()}, max {a.max()}")
    return a


def concat_text_bg(text: Any, bg: Any, has_text: Any) -> np.ndarray:
    """``[text[has_text] ; bg]``: the element set the loss and the metrics are defined over."""
    text, bg, mask = as_numpy(text), as_numpy(bg), as_numpy(has_text).astype(bool)
    return np.concatenate([text.reshape(-1)[mask.reshape(-1)], bg.reshape(-1)])


def accuracy(pred: Any, target: Any) -> float:
    """Micro accuracy: fraction of exact class matches (NaN for an empty input)."""
    p, t = as_numpy(pred).reshape(-1), as_numpy(target).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"pred and target differ in size: {p.size} vs {t.size}")
    return float(np.mean(p == t)) if p.size else float("nan")


def per_class_f1(pred: Any, target: Any, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class F1 (0 where a class never occurs) and a mask of classes seen in target or pred."""
    p = _labels(pred, num_classes, "pred")
    t = _labels(target, num_classes, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target differ in size: {p.size} vs {t.size}")
    tp = np.bincount(t[p == t], minlength=num_classes).astype(np.float64)
    support = np.bincount(t, minlength=num_classes) + np.bincount(p, minlength=num_classes)
    f1 = np.divide(2.0 * tp, support, out=np.zeros(num_classes), where=support > 0)
    return f1, support > 0


def macro_f1(pred: Any, target: Any, num_classes: int) -> float:
    """Macro F1 over **all** ``num_classes`` classes, absent classes counting as 0.

    The published numbers (torchmetrics 0.11) use this; it equals scikit-learn's
    ``f1_score(labels=range(K), average="macro", zero_division=0)``.
    """
    f1, _ = per_class_f1(pred, target, num_classes)
    return float(f1.mean())


def macro_f1_present(pred: Any, target: Any, num_classes: int) -> float:
    """Macro F1 over the classes that occur in targets or predictions (newer torchmetrics)."""
    f1, present = per_class_f1(pred, target, num_classes)
    return float(f1[present].mean()) if present.any() else float("nan")


def classification_scores(
    pred_rgb: Any, true_rgb: Any, pred_alpha: Any, true_alpha: Any
) -> dict[str, float]:
    """All accuracy / F-score keys of ``metrics.json`` from concatenated class arrays."""
    return {
        "acc_rgb": accuracy(pred_rgb, true_rgb),
        "acc_alpha": accuracy(pred_alpha, true_alpha),
        "f1_rgb": macro_f1(pred_rgb, true_rgb, NUM_RGB_CLASSES),
        "f1_alpha": macro_f1(pred_alpha, true_alpha, NUM_ALPHA_CLASSES),
        "f1_rgb_present": macro_f1_present(pred_rgb, true_rgb, NUM_RGB_CLASSES),
        "f1_alpha_present": macro_f1_present(pred_alpha, true_alpha, NUM_ALPHA_CLASSES),
    }
