"""Where a `+ AA` row loses right text colours whose real pair passes AA (issue 15).

For each text colour the plain run gets right and its `+ AA` run gets wrong, while the real page's
own colours pass: the first element down the text's backdrop chain whose background the plain
prediction gets wrong (model opaque / truth clear, the other way round, or both painted in other
colours; "(own)" when it is the text's element itself), whether a background image lies in the
chain, and whether the constraint moved a background of the chain.

    PYTHONPATH=src python experiments/contrast/lost_text.py outputs/webpages/table-runs cvae [page id]

With a page id, also each lost text's chain: tag, image, opacity, true / plain / AA background.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

from colorgen.bench.checkout import data_config
from colorgen.data.dataset import load_split
from colorgen.evaluation.generate import Generated
from colorgen.metrics.contrast import backdrop_of, background_image

sys.path.insert(0, str(Path(__file__).parent))
from oracle_cost import real_text_fails  # noqa: E402

KEYS = ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")


def chain_of(up: np.ndarray, j: int) -> list[int]:
    out = []
    while j >= 0:
        out.append(j)
        j = int(up[j])
    return out


def kind_of(chain: list[int], true: dict, plain: dict, aa: dict, img: np.ndarray) -> str:
    """How the plain prediction first goes wrong down ``chain`` (the text's element first)."""
    kind = "chain as the truth"
    for c in chain:
        tv, pv = true["bg_alpha"][c] > 0, plain["bg_alpha"][c] > 0
        if tv != pv or (tv and true["bg_rgb"][c] != plain["bg_rgb"][c]):
            kind = ("model opaque, truth clear" if pv and not tv else "model clear, truth painted" if tv and not pv
                    else "both painted, other colour") + (" (own)" if c == chain[0] else "")
            break
    if any(img[c] for c in chain):
        kind += " | image in chain"
    if any((aa["bg_rgb"][c], aa["bg_alpha"][c]) != (plain["bg_rgb"][c], plain["bg_alpha"][c]) for c in chain):
        kind += " | AA moved a background of the chain"
    return kind


def main(runs: Path, row: str, show: str | None = None) -> None:
    ds = load_split(data_config(), "test")
    plain_run, _ = Generated.load(runs / row / "generated.npz")
    aa_run, _ = Generated.load(runs / f"{row}_aa" / "generated.npz")
    kinds: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    for pi, page in enumerate(ds):
        if plain_run.page_ids[pi] != page.page_id:
            raise ValueError("the run's pages are not the test split's, in order")
        sel = np.flatnonzero(plain_run.page == pi)
        plain = {k: plain_run.pred[k][sel] for k in KEYS}
        aa = {k: aa_run.pred[k][sel] for k in KEYS}
        true = {k: page[k].numpy() for k in KEYS}
        fails = real_text_fails(page).numpy()
        up = backdrop_of(page)[0].numpy()
        img = background_image(page).numpy()
        for j in np.flatnonzero(page.has_text.numpy()):
            right, still = plain["text_rgb"][j] == true["text_rgb"][j], aa["text_rgb"][j] == true["text_rgb"][j]
            if not right or still or fails[j]:
                continue
            chain = chain_of(up, int(j))
            kind = kind_of(chain, true, plain, aa, img)
            kinds[kind] += 1
            pages[page.page_id] += 1
            if page.page_id == show:
                print(f"text {j}: {kind}")
                for c in chain:
                    print(f"   node {c} tag {int(page.tag[c])} image {bool(img[c])} opacity {float(page.opacity[c]):.2f} "
                          f"bg true {true['bg_rgb'][c]}/{true['bg_alpha'][c]} plain {plain['bg_rgb'][c]}/{plain['bg_alpha'][c]} "
                          f"AA {aa['bg_rgb'][c]}/{aa['bg_alpha'][c]}")
    print(f"| {row}: right text colours lost where the real pair passes ({sum(kinds.values())}) | count |")
    print("|---|---|")
    for k, v in kinds.most_common():
        print(f"| {k} | {v} |")
    print("pages:", ", ".join(f"{p} {n}" for p, n in pages.most_common(8)))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(Path(a[0]), a[1], a[2] if len(a) > 2 else None)
