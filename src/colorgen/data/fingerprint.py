"""What data a run saw: content digests of a WebColor-format file, per page and in all.

Why: 1,500-step runs are sensitive to one page, and a few real pages extract differently from one
load to the next (a progress bar still up, an image late). The HDF5 file's bytes depend on the
order pages were written in and on the program that wrote them (the official files come from
another), so the digest is of the content: each page's elements in id order with
their parent and every attribute, keys sorted, arrays by dtype, shape and bytes. Two files
with equal digests hold the same pages; where they differ, :func:`compare` names the pages and
the first attributes that differ.

    python -m colorgen.data.fingerprint data/webpages/webcolor_webpages.hdf5            # the digest
    python -m colorgen.data.fingerprint A.hdf5 B.hdf5                                 # what differs
    python -m colorgen.data.fingerprint data/webpages/webcolor_webpages.hdf5 --pages p.json  # per page
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from colorgen.io import write_json


def _value_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return b"b" + value
    if isinstance(value, str):
        return b"s" + value.encode()
    arr = np.asarray(value)
    return f"{arr.dtype.str}{arr.shape}".encode() + np.ascontiguousarray(arr).tobytes()


def _elements(group: h5py.Group) -> list[tuple[str, int, dict[str, object]]]:
    """``(element id, parent, attributes)`` in id order (ids are dense decimal strings)."""
    ids = sorted(group.keys(), key=lambda k: (len(k), k))
    return [(k, int(group[k][()]), dict(group[k].attrs)) for k in ids]


def page_digest(group: h5py.Group) -> str:
    """sha256 of one page group's content (elements in id order, attributes by sorted key)."""
    h = hashlib.sha256()
    for eid, parent, attrs in _elements(group):
        h.update(f"\x00{eid}:{parent}".encode())
        for key in sorted(attrs):
            h.update(b"\x01" + key.encode() + b"=" + _value_bytes(attrs[key]))
    return h.hexdigest()


def page_digests(hdf5: str | os.PathLike) -> dict[str, str]:
    """``{page id: digest}`` of every page of a WebColor-format file, in sorted page order."""
    with h5py.File(hdf5, "r") as f:
        return {pid: page_digest(f[pid]) for pid in sorted(f.keys())}


def data_digest(digests: Mapping[str, str]) -> str:
    """One digest for a whole file: of its ``(page id, page digest)`` pairs in sorted order."""
    h = hashlib.sha256()
    for pid in sorted(digests):
        h.update(f"{pid}\x00{digests[pid]}\n".encode())
    return h.hexdigest()


def recorded_digest(data_root: str | os.PathLike) -> str | None:
    """The content digest the extraction wrote to ``<data_root>/report.json``; None where there is
    none (the official files, data built before the digest). Read, not recomputed: a whole file
    takes as long to digest as to load (~30 s for 1,204 pages here)."""
    report = Path(data_root) / "report.json"
    try:
        value = json.loads(report.read_text()).get("data_digest")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _first_differences(a: h5py.Group, b: h5py.Group, most: int = 3) -> list[str]:
    ea, eb = _elements(a), _elements(b)
    if len(ea) != len(eb):
        return [f"{len(ea)} elements against {len(eb)}"]
    out: list[str] = []
    for (eid, pa, aa), (_, pb, ab) in zip(ea, eb, strict=True):
        if pa != pb:
            out.append(f"element {eid}: parent {pa} against {pb}")
        for key in sorted(set(aa) | set(ab)):
            va, vb = aa.get(key), ab.get(key)
            if va is None or vb is None or _value_bytes(va) != _value_bytes(vb):
                out.append(f"element {eid}: {key} {va!r} against {vb!r}")
        if len(out) >= most:
            break
    return out[:most]


def compare(hdf5_a: str | os.PathLike, hdf5_b: str | os.PathLike) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Pages both files hold whose content differs (-> what differs), then the pages only ``a``
    holds and those only ``b`` holds (e.g. a re-extraction of a sample against the whole corpus)."""
    with h5py.File(hdf5_a, "r") as fa, h5py.File(hdf5_b, "r") as fb:
        diff = {pid: _first_differences(fa[pid], fb[pid]) for pid in sorted(set(fa) & set(fb))
                if page_digest(fa[pid]) != page_digest(fb[pid])}
        return diff, sorted(set(fa) - set(fb)), sorted(set(fb) - set(fa))


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m colorgen.data.fingerprint", description=__doc__.split("\n\n")[0])
    ap.add_argument("hdf5", nargs="+", help="one file: its digest; two files: the pages that differ")
    ap.add_argument("--pages", help="with one file: write {page id: digest} here as JSON")
    args = ap.parse_args(argv)
    if len(args.hdf5) == 1:
        digests = page_digests(args.hdf5[0])
        print(f"{data_digest(digests)}  {args.hdf5[0]} ({len(digests)} pages)")
        if args.pages:
            write_json(args.pages, digests, indent=0, sort_keys=True)
        return
    if len(args.hdf5) != 2:
        ap.error("give one file (its digest) or two (what differs)")
    diff, only_a, only_b = compare(*args.hdf5)
    for pid, what in diff.items():
        print(f"{pid}: " + "; ".join(what))
    print(f"{len(diff)} of the pages both hold differ; {len(only_a)} only in the first, {len(only_b)} only in the second")
    raise SystemExit(1 if diff else 0)


if __name__ == "__main__":
    main()
