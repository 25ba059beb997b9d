"""RawPage -> torch_geometric Data (fields in docs/CONTRACTS.md), validating as it goes.

Bookkeeping for the tree encoder is computed here once (cached with the dataset): per-node
depth, so each level of the bottom-up / top-down pass is a single batched scatter.
``font_size`` (CSS px) / ``font_weight`` carry the optional extraction extras; official files
lack them and get 0 (unknown), i.e. every text counts as normal size for the contrast model.
``box`` ([left, top, width, height] CSS px, :data:`UNKNOWN_BOX` where absent) and ``behind`` (the
page-local id of the element painted right below it at its centre, -1 where absent) tell the
contrast model what lies behind an element on screen; ``bg_layer`` (False where absent) that it
paints a background image or gradient over its colour; ``stack`` (``[N, STACK_DEPTH]`` page-local
ids, -1 padded) the top of the stack painted below a text element at its first line's centre: its ancestors
there, then the first element that is not one (:func:`_stack_top`); ``opacity`` / ``text_opacity``
(1 where absent) the CSS opacity its background and its text are painted with (:func:`_opacity`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from .colors import ColorFormatError, encode_color
from .tags import tag_index
from .webcolor_format import IMG_FEAT_DIM, MAX_ELEMENTS, TEXT_FEAT_DIM, DataValidationError, RawPage

PROCESSING_VERSION = 7  # bump when this conversion changes: caches are rebuilt (2: font size/weight, 3-4: box, behind, 5: bg_layer, 6: stack, 7: opacity)
STACK_DEPTH = 16  # entries of ``stack`` kept per element (the top of the stack: where a text's backdrop is decided)
UNKNOWN_BOX = (-1.0, -1.0, -1.0, -1.0)  # ``box`` row of an element without one (official files): width < 0


def _opacity(page_id: str, i: int, name: str, value: float | None) -> float:
    """An opacity attribute, 1 (opaque, what official files imply) where absent; outside [0, 1] is an error."""
    if value is None:
        return 1.0
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise DataValidationError(f"page {page_id!r} element {i}: {name} {value!r} outside [0, 1]")
    return float(value)


def _feature(page_id: str, i: int, name: str, value, dim: int, pad_from: int | None = None) -> np.ndarray:
    if value is None:
        return np.zeros(dim, dtype=np.float32)
    arr = np.asarray(value, dtype=np.float32).reshape(-1)
    if pad_from is not None and arr.size == pad_from:
        arr = np.concatenate([arr, np.zeros(dim - pad_from, dtype=np.float32)])
    if arr.size != dim:
        raise DataValidationError(f"page {page_id!r} element {i}: {name} has length {arr.size}, expected {dim}")
    if not np.isfinite(arr).all():
        raise DataValidationError(f"page {page_id!r} element {i}: {name} holds non-finite values")
    return arr


def _stack_top(page_id: str, i: int, stack, parents: np.ndarray) -> np.ndarray:
    """Row ``i`` of the graph's ``stack``: the text's ancestors at the top of its stack, then the
    first element below them that is not one (where it may lie on another element than its
    ancestors say), ``STACK_DEPTH`` wide, -1 padded; all -1 where the stack holds no such element
    or starts with it (the backdrop forest then has the text right).

    Done here, once per page, so the contrast model needs no ancestor search per batch.
    """
    ids = np.asarray(stack, dtype=np.int64).reshape(-1)
    n = parents.size
    if ((ids < 0) | (ids >= n) | (ids == i)).any():
        raise DataValidationError(f"page {page_id!r} element {i}: a 'stack' entry names no other element of the page")
    # an element met twice (a ::before / ::after box painted above other elements is hit as its
    # element) paints its own background where it is met last, the lowest place
    ids = ids[np.sort(ids.size - 1 - np.unique(ids[::-1], return_index=True)[1])]
    ancestors, up = set(), parents[i]
    while up >= 0:
        ancestors.add(int(up))
        up = parents[up]
    k = next((j for j, v in enumerate(ids.tolist()) if v not in ancestors), ids.size)
    row = np.full(STACK_DEPTH, -1, dtype=np.int64)
    if 1 <= k < ids.size and k < STACK_DEPTH:
        row[: k + 1] = ids[: k + 1]
    return row


def tree_depths(page_id: str, parents: np.ndarray) -> np.ndarray:
    """Depth of every node; raises unless the parents form exactly one tree."""
    n = len(parents)
    roots = np.flatnonzero(parents == -1)
    if len(roots) != 1:
        raise DataValidationError(f"page {page_id!r}: parent ids do not form one tree ({len(roots)} roots)")
    bad = np.flatnonzero((parents < -1) | (parents >= n) | (parents == np.arange(n)))
    if len(bad):
        raise DataValidationError(f"page {page_id!r} element {int(bad[0])}: invalid parent id {int(parents[bad[0]])}")
    depth = np.full(n, -1, dtype=np.int64)
    depth[roots[0]] = 0
    # n <= 200: walk up to a node of known depth, detecting cycles on the way
    for i in range(n):
        if depth[i] >= 0:
            continue
        path, seen, j = [], set(), i
        while depth[j] < 0:
            if j in seen:
                raise DataValidationError(f"page {page_id!r}: parent ids form a cycle through element {j}")
            path.append(j)
            seen.add(j)
            j = int(parents[j])
        d = depth[j]
        for k in reversed(path):
            d += 1
            depth[k] = d
    return depth


def page_to_data(page: RawPage, is_test2: bool = False) -> Data:
    """Convert and validate one page."""
    pid, els = page.page_id, page.elements
    n = len(els)
    if n == 0:
        raise DataValidationError(f"page {pid!r} has no elements")
    if n > MAX_ELEMENTS:
        raise DataValidationError(f"page {pid!r} has {n} elements; at most {MAX_ELEMENTS} are allowed")
    parents = np.array([e.parent for e in els], dtype=np.int64)
    depth = tree_depths(pid, parents)
    order = np.array([e.sibling_order for e in els], dtype=np.int64)
    if (order < 0).any() or (order >= MAX_ELEMENTS).any():
        i = int(np.flatnonzero((order < 0) | (order >= MAX_ELEMENTS))[0])
        raise DataValidationError(f"page {pid!r} element {i}: sibling_order {order[i]} outside 0..{MAX_ELEMENTS - 1}")

    text_rgb = np.zeros(n, np.int64)
    text_alpha = np.zeros(n, np.int64)
    text_res = np.zeros((n, 4), np.float32)
    bg_rgb = np.zeros(n, np.int64)
    bg_alpha = np.zeros(n, np.int64)
    bg_res = np.zeros((n, 4), np.float32)
    has_text = np.zeros(n, bool)
    for i, e in enumerate(els):
        try:
            c = encode_color(e.background_color)
            bg_rgb[i], bg_alpha[i], bg_res[i] = c.rgb, c.alpha, c.residual
            if e.text_color is not None:
                c = encode_color(e.text_color)
                text_rgb[i], text_alpha[i], text_res[i] = c.rgb, c.alpha, c.residual
                has_text[i] = True
        except ColorFormatError as err:
            raise DataValidationError(f"page {pid!r} element {i}: {err}") from err

    text_feat = np.stack([_feature(pid, i, "text_feat", e.text_feat, TEXT_FEAT_DIM) for i, e in enumerate(els)])
    img_feat = np.stack([_feature(pid, i, "img_feat", e.img_feat, IMG_FEAT_DIM) for i, e in enumerate(els)])
    bgimg_feat = np.stack(
        [_feature(pid, i, "bgimg_feat", e.bgimg_feat, IMG_FEAT_DIM, pad_from=IMG_FEAT_DIM - 1) for i, e in enumerate(els)]
    )
    # optional extras (our extraction only): 0 = unknown, which the contrast model reads as
    # normal-size, normal-weight text (the stricter WCAG threshold), as for every official file
    font_size = np.array([e.font_size or 0.0 for e in els], dtype=np.float32)
    font_weight = np.array([e.font_weight or 0 for e in els], dtype=np.int64)
    box = np.array([UNKNOWN_BOX if e.box is None else e.box for e in els], dtype=np.float32).reshape(n, 4)
    behind = np.array([-1 if e.behind is None else e.behind for e in els], dtype=np.int64)
    bg_layer = np.array([bool(e.bg_layer) for e in els], dtype=bool)
    if ((behind < -1) | (behind >= n) | (behind == np.arange(n))).any():
        raise DataValidationError(f"page {pid!r}: a 'behind' attribute names no other element of the page")
    opacity = np.array([_opacity(pid, i, "opacity", e.opacity) for i, e in enumerate(els)], dtype=np.float32)
    text_opacity = np.array([_opacity(pid, i, "text_opacity", e.text_opacity) for i, e in enumerate(els)], dtype=np.float32)
    stack = np.full((n, STACK_DEPTH), -1, dtype=np.int64)
    for i, e in enumerate(els):
        if e.stack is not None:
            stack[i] = _stack_top(pid, i, e.stack, parents)
    child = np.flatnonzero(parents >= 0)
    return Data(
        num_nodes=n,
        order=torch.from_numpy(order),
        tag=torch.tensor([tag_index(e.html_tag) for e in els], dtype=torch.long),
        text_feat=torch.from_numpy(text_feat),
        img_feat=torch.from_numpy(img_feat),
        bgimg_feat=torch.from_numpy(bgimg_feat),
        has_text=torch.from_numpy(has_text),
        text_rgb=torch.from_numpy(text_rgb),
        text_alpha=torch.from_numpy(text_alpha),
        text_res=torch.from_numpy(text_res),
        bg_rgb=torch.from_numpy(bg_rgb),
        bg_alpha=torch.from_numpy(bg_alpha),
        bg_res=torch.from_numpy(bg_res),
        edge_index=torch.from_numpy(np.stack([child, parents[child]])),
        depth=torch.from_numpy(depth),
        font_size=torch.from_numpy(font_size),
        font_weight=torch.from_numpy(font_weight),
        box=torch.from_numpy(box),
        behind=torch.from_numpy(behind),
        bg_layer=torch.from_numpy(bg_layer),
        stack=torch.from_numpy(stack),
        opacity=torch.from_numpy(opacity),
        text_opacity=torch.from_numpy(text_opacity),
        is_test2=torch.tensor([is_test2]),
        page_id=pid,
    )
