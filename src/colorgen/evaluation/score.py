"""Score generated colours without a browser: accuracy, macro F, FCD (and its real-data floor)."""

from __future__ import annotations

from colorgen.metrics.classification import classification_scores, concat_text_bg
from colorgen.metrics.fcd import fcd_score, text_bg_histograms

from .generate import Generated


def score(g: Generated) -> dict[str, float]:
    """Accuracy / F-scores over the whole split, FCD test1-real vs test2-generated, and the real floor."""
    flat = {
        f"{src}_{part}": concat_text_bg(d[f"text_{part}"], d[f"bg_{part}"], g.has_text)
        for src, d in (("pred", g.pred), ("true", g.true)) for part in ("rgb", "alpha")
    }
    metrics = classification_scores(flat["pred_rgb"], flat["true_rgb"], flat["pred_alpha"], flat["true_alpha"])
    n = len(g.page_ids)
    real_text, real_bg = text_bg_histograms(g.true["text_rgb"], g.true["bg_rgb"], g.has_text, g.page, n)
    fake_text, fake_bg = text_bg_histograms(g.pred["text_rgb"], g.pred["bg_rgb"], g.has_text, g.page, n)
    t1, t2 = ~g.is_test2, g.is_test2
    if t1.sum() >= 2 and t2.sum() >= 2:
        metrics |= {
            "fcd_bg": fcd_score(real_bg[t1], fake_bg[t2]),
            "fcd_text": fcd_score(real_text[t1], fake_text[t2]),
            "fcd_bg_real": fcd_score(real_bg[t1], real_bg[t2]),
            "fcd_text_real": fcd_score(real_text[t1], real_text[t2]),
        }
    metrics |= {"pages": n, "elements": int(len(g.page)), "text_elements": int(g.has_text.sum())}
    return metrics
