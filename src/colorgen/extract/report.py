"""The extraction report: what was kept, what failed and why, and how faithful re-rendering is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from colorgen.data.colors import encode_color
from colorgen.data.webcolor_format import RawPage


def _dist(values: Sequence[float]) -> dict:
    if not values:
        return {"n": 0}
    v = np.asarray(values, dtype=np.float64)
    q = np.quantile(v, [0.0, 0.5, 0.9, 0.95, 1.0])
    return {"n": int(v.size), "mean": float(v.mean()), "min": float(q[0]), "median": float(q[1]),
            "p90": float(q[2]), "p95": float(q[3]), "max": float(q[4])}


def color_histograms(pages: Sequence[RawPage]) -> dict:
    """RGB / alpha class counts of background and text colours (the models' targets)."""
    bg_rgb, bg_a, tx_rgb, tx_a = Counter(), Counter(), Counter(), Counter()
    for p in pages:
        for e in p.elements:
            b = encode_color(e.background_color)
            bg_rgb[b.rgb] += 1
            bg_a[b.alpha] += 1
            if e.text_color is not None:
                t = encode_color(e.text_color)
                tx_rgb[t.rgb] += 1
                tx_a[t.alpha] += 1
    return {
        "background": {"rgb": dict(sorted(bg_rgb.items())), "alpha": dict(sorted(bg_a.items()))},
        "text": {"rgb": dict(sorted(tx_rgb.items())), "alpha": dict(sorted(tx_a.items()))},
    }


def failure_kind(reason: str) -> str:
    return reason.split(":", 1)[0].strip() if ":" in reason else reason


def build_report(metas: Sequence[dict], failures: Sequence[dict], histograms: dict, run: dict,
                 splits: dict, threshold: float, requested: int) -> dict:
    counts = [m["counts"] for m in metas]
    fids = [(m["page_id"], m["fidelity"]["changed"]) for m in metas if m.get("fidelity")]
    flagged = sorted(((pid, c) for pid, c in fids if c > threshold), key=lambda t: -t[1])
    hosts: Counter = Counter()
    for m in metas:
        hosts.update(m.get("blocked_hosts", {}))
    return {
        "pages": {
            "requested": requested,
            "kept": len(metas),
            "failed": len(failures),
            "cut_at_200": sum(1 for c in counts if c["cut"] > 0),
            "failure_kinds": dict(Counter(failure_kind(f["reason"]) for f in failures)),
        },
        "splits": splits,
        "elements_per_page": _dist([c["elements"] for c in counts]),
        "candidates_per_page": _dist([c["candidates"] for c in counts]),
        "text_elements_per_page": _dist([c["text_elements"] for c in counts]),
        "totals": {
            "elements": sum(c["elements"] for c in counts),
            "text_elements": sum(c["text_elements"] for c in counts),
            "img_feat": sum(c["img_feats"] for c in counts),
            "bgimg_feat": sum(c["bgimg_feats"] for c in counts),
            "background_images": sum(c["background_images"] for c in counts),
            "color_fallbacks": sum(c["color_fallbacks"] for c in counts),
            "excluded_opacity0_subtrees": sum(c["dom"]["transparent"] for c in counts),
        },
        "blocked_requests": {
            "total": sum(m["blocked_requests"] for m in metas),
            "pages_with_blocked": sum(1 for m in metas if m["blocked_requests"] > 0),
            "per_page": _dist([m["blocked_requests"] for m in metas]),
            "top_hosts": dict(hosts.most_common(10)),
        },
        "fidelity": {
            "threshold": threshold,
            "changed_share": _dist([c for _, c in fids]),
            "changed_share_any": _dist([m["fidelity"].get("changed_any", m["fidelity"]["changed"]) for m in metas if m.get("fidelity")]),
            "pages_exact": sum(1 for m in metas if m.get("fidelity") and m["fidelity"].get("changed_any", m["fidelity"]["changed"]) == 0.0),
            "pages_within_tolerance": sum(1 for _, c in fids if c == 0.0),
            "flagged": [{"page_id": p, "changed": c} for p, c in flagged],
        },
        "seconds_per_page": {
            "extract": _dist([m["seconds"]["extract"] for m in metas]),
            "fidelity": _dist([m["seconds"]["fidelity"] for m in metas if m.get("fidelity")]),
        },
        "run": run,
        "color_classes": histograms,
        "failures": [dict(f) for f in failures],
    }


def _fmt_dist(d: dict, pct: bool = False) -> str:
    if not d.get("n"):
        return "n/a"
    f = (lambda x: f"{100 * x:.2f} %") if pct else (lambda x: f"{x:.1f}")
    return f"mean {f(d['mean'])}, median {f(d['median'])}, p90 {f(d['p90'])}, max {f(d['max'])} (min {f(d['min'])}, n={d['n']})"


def _top(hist: dict, k: int = 12) -> str:
    total = sum(hist.values()) or 1
    items = sorted(hist.items(), key=lambda t: -t[1])[:k]
    return ", ".join(f"{int(c):03o}: {100 * n / total:.1f} %" for c, n in items)


def to_markdown(r: dict) -> str:
    p, f, b = r["pages"], r["fidelity"], r["blocked_requests"]
    lines = [
        "# Extraction report",
        "",
        f"- Pages: {p['requested']} requested, **{p['kept']} kept**, {p['failed']} failed"
        f" ({', '.join(f'{k}: {v}' for k, v in p['failure_kinds'].items()) or 'none'}), {p['cut_at_200']} cut at 200 elements.",
        f"- Splits (pages): {', '.join(f'{k} {v}' for k, v in r['splits'].items())}.",
        f"- Content digest: `{r.get('data_digest', 'n/a')}` (per page in `page_digests.json`; "
        "`python -m colorgen.data.fingerprint A.hdf5 B.hdf5` names the pages two extractions differ on).",
        f"- Elements per page: {_fmt_dist(r['elements_per_page'])}; before the 200 cut: {_fmt_dist(r['candidates_per_page'])}.",
        f"- Text elements per page: {_fmt_dist(r['text_elements_per_page'])}.",
        f"- Totals: {', '.join(f'{k} {v}' for k, v in r['totals'].items())}.",
        f"- Blocked requests: {b['total']} on {b['pages_with_blocked']} pages ({_fmt_dist(b['per_page'])});"
        f" top hosts: {', '.join(f'{h} {n}' for h, n in b['top_hosts'].items()) or 'none'}.",
        "",
        "## Fidelity (re-render with the extracted colours only vs. the original screenshot)",
        "",
        f"- Share of changed pixels (a channel off by more than the tolerance): {_fmt_dist(f['changed_share'], pct=True)}.",
        f"- Share of pixels differing at all: {_fmt_dist(f['changed_share_any'], pct=True)}.",
        f"- Pages reproduced pixel-exactly: {f['pages_exact']}; within tolerance: {f['pages_within_tolerance']};"
        f" flagged above {100 * f['threshold']:.2f} %: {len(f['flagged'])}.",
    ]
    lines += [f"  - `{x['page_id']}`: {100 * x['changed']:.2f} %" for x in f["flagged"][:50]]
    run = r["run"]
    lines += [
        "",
        "## Run",
        "",
        f"- {run.get('processed', 0)} pages processed in {run.get('seconds', 0)} s with {run.get('workers')} workers"
        f" ({run.get('pages_per_second')} pages/s); {run.get('skipped_as_done', 0)} already done (resumed).",
        f"- Seconds per page (one worker): extract {_fmt_dist(r['seconds_per_page']['extract'])};"
        f" fidelity {_fmt_dist(r['seconds_per_page']['fidelity'])}.",
        "",
        "## Colour classes (octal RGB bins, share of elements)",
        "",
        f"- Background, top RGB classes: {_top(r['color_classes']['background']['rgb'])}.",
        f"- Background alpha classes: {_top(r['color_classes']['background']['alpha'], 8)}.",
        f"- Text, top RGB classes: {_top(r['color_classes']['text']['rgb'])}.",
        f"- Text alpha classes: {_top(r['color_classes']['text']['alpha'], 8)}.",
        "",
        "## Failures",
        "",
    ]
    lines += [f"- `{x['page_id']}` ({x['source']}): {x['reason']}" for x in r["failures"]] or ["- none"]
    return "\n".join(lines) + "\n"
