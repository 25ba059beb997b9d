"""Atomic writes: the one place that knows temp-file-then-rename.

Why: a killed run (extraction, training, evaluation) must leave either the old file or the new
one, never half of one; every resumable step trusts that a file that exists is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on a clean exit it replaces ``path``, else it is removed.

    For writers that need a file name of their own (h5py, torch.save)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def replacing_dir(path: str | os.PathLike, prefix: str | None = None) -> Iterator[Path]:
    """Yield an empty temp folder beside ``path``; on a clean exit it replaces ``path`` (an old
    folder there is removed first), else it is removed: never a half-built folder in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix or f".{path.name}."))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_via_temp(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    with replacing(path) as tmp:
        write(tmp)
    return Path(path)


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write bytes (or UTF-8 text, newlines kept as given) atomically; returns the path."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return _replace_via_temp(path, lambda tmp: tmp.write_bytes(raw))


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2, **kwargs: Any) -> Path:
    """``json.dumps(obj)`` written atomically."""
    return write_atomic(path, json.dumps(obj, indent=indent, **kwargs))


def torch_save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically (checkpoints, dataset caches)."""
    import torch  # only callers that save tensors pay for the import

    return _replace_via_temp(path, lambda tmp: torch.save(obj, tmp))
