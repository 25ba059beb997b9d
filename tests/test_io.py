"""The atomic-write helper: complete files or none, nothing left behind on failure."""

from __future__ import annotations

import json

import pytest
import torch

from colorgen.io import torch_save_atomic, write_atomic, write_json


def test_writes_bytes_text_json_and_tensors(tmp_path):
    assert write_atomic(tmp_path / "a" / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert write_atomic(tmp_path / "t.txt", "é\r\n").read_bytes() == "é\r\n".encode()
    assert json.loads(write_json(tmp_path / "m.json", {"x": 1}).read_text()) == {"x": 1}
    torch_save_atomic({"w": torch.arange(3)}, tmp_path / "c.pt")
    assert torch.equal(torch.load(tmp_path / "c.pt")["w"], torch.arange(3))
    assert not list(tmp_path.rglob("*.tmp"))


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    path = write_atomic(tmp_path / "m.json", "old")
    with pytest.raises(TypeError):
        write_json(path, {"x": object()})
    assert path.read_text() == "old"
    assert not list(tmp_path.glob("*.tmp"))


def test_replacing_dir_swaps_in_a_finished_folder_and_never_a_half_built_one(tmp_path):
    from colorgen.io import replacing_dir

    out = tmp_path / "site"
    out.mkdir()
    (out / "old.html").write_text("old")
    with pytest.raises(RuntimeError), replacing_dir(out) as tmp:
        (tmp / "new.html").write_text("half")
        raise RuntimeError("killed mid-build")
    assert [p.name for p in tmp_path.iterdir()] == ["site"] and (out / "old.html").read_text() == "old"
    with replacing_dir(out) as tmp:
        (tmp / "new.html").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["site"]
