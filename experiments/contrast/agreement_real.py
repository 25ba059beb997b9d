"""Issue 15: the in-Python contrast model against axe-core on the real test pages, element by element,
and what axe says of the right text colours that `decoding.contrast=aa` gives up.

Needs the per-page axe audits of the real colouring that `python -m colorgen.contrast_residue <run>
--real --out AUDITS` caches (AUDITS/contrast_residue_cache). Usage:

    PYTHONPATH=src python experiments/contrast/agreement_real.py AUDITS outputs/webpages/table-runs nar cvae
"""
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from colorgen import contrast_residue as cr

audits, runs, rows = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
g0, meta = cr.Generated.load(runs / "nar_aa" / "generated.npz")  # any run of the test pages: the truth
data = meta["data"]
files = cr.page_files(data)
browser = cr.BrowserConfig.from_cfg((meta.get("visual") or {}).get("browser") or {})
n = len(g0.page_ids)
real = cr.split_pages(g0.page, g0.has_text, g0.true, n)
raw = {p.page_id: p for p in cr.read_pages(Path(data["root"]) / data["hdf5"], g0.page_ids)}
salt = f"{browser!r}|axe-core@{cr.axe_version()}|residue{cr.RESIDUE_VERSION}"

table, category = Counter(), {}
for k, pid in enumerate(g0.page_ids):
    bundle = files.bundle(pid)
    css = cr.page_css(bundle.selectors, real[k], pid)
    audit = json.loads((audits / "contrast_residue_cache" / f"{pid}.{cr.render_key(bundle.source, css, salt)}.json").read_text())
    v = cr.page_verdict(raw[pid], real[k], "aa")
    axe = {nd["element"]: (nd["kind"], nd["reason"]) for nd in audit["nodes"] if nd["element"] >= 0}
    for i in np.flatnonzero(v.has_text):
        kind, reason = axe.get(int(i), ("unreported", None))
        model = "fails" if v.fails[i] else "passes" if v.required[i] > 0 else "not judged"
        table[(model, kind)] += 1
        category[(k, int(i))] = (model, kind if kind != "incomplete" else f"incomplete: {reason}")

print("| model on the real colours | axe violation | axe pass | axe incomplete | axe does not report |")
print("|---|---|---|---|---|")
for model in ("fails", "passes", "not judged"):
    print(f"| {model} | " + " | ".join(str(table[(model, kind)]) for kind in ("violation", "pass", "incomplete", "unreported")) + " |")
both = sum(table[(m, k)] for m in ("fails", "passes") for k in ("violation", "pass"))
agree = table[("fails", "violation")] + table[("passes", "pass")]
print(f"\nagreement where both judge: {agree} of {both} ({agree / both:.1%})")

for row in rows:
    a, _ = cr.Generated.load(runs / row / "generated.npz")
    b, _ = cr.Generated.load(runs / f"{row}_aa" / "generated.npz")
    local = np.zeros(len(a.page), dtype=int)
    for k in range(n):
        idx = np.flatnonzero(a.page == k)
        local[idx] = np.arange(len(idx))
    right = a.has_text & (a.pred["text_rgb"] == a.true["text_rgb"])
    lost = right & (b.pred["text_rgb"] != b.true["text_rgb"])
    c = Counter(category[(int(a.page[j]), int(local[j]))] for j in np.flatnonzero(lost))
    print(f"\n{row}: {int(lost.sum())} right text colours given up")
    for (model, kind), count in c.most_common(8):
        print(f"- model {model} on the real page, axe {kind}: {count}")
