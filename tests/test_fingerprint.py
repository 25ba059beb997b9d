"""Content digests of WebColor-format files: equal content, equal digest; one changed attribute is named."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from colorgen.data.fingerprint import compare, data_digest, main, page_digests, recorded_digest
from colorgen.data.webcolor_format import RawElement, RawPage, read_pages, write_webcolor

OFFICIAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "webcolor" / "official_fixture" / "data" / "webcolor_v1.1.hdf5"


def _same(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(
        x.keys() == y.keys() and all(np.array_equal(np.asarray(x[k], dtype=object), np.asarray(y[k], dtype=object))
                                     for k in x) for x, y in zip(a, b, strict=True))


def _pages() -> list[RawPage]:
    root = RawElement(parent=-1, html_tag="body", sibling_order=0, background_color="rgba(0, 0, 0, 0)")
    head = RawElement(parent=0, html_tag="h1", sibling_order=0, background_color="rgb(255, 255, 255)",
                      text_color="rgb(17, 17, 17)", text_feat=[1, 2, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0], font_size=32.0)
    img = RawElement(parent=0, html_tag="img", sibling_order=1, background_color="rgba(0, 0, 0, 0)",
                     img_feat=[0, 64, 32, 4, 2.0, .5, .4, .3, 1, .1, .1, .1, 0])
    return [RawPage("site__a", [root, head, img]), RawPage("site__b", [root, head, img])]


def test_equal_content_gives_equal_digests_whatever_the_write_order(tmp_path: Path) -> None:
    pages = _pages()
    write_webcolor(tmp_path / "a.hdf5", pages)
    write_webcolor(tmp_path / "b.hdf5", list(reversed(pages)))
    assert (tmp_path / "a.hdf5").read_bytes() != (tmp_path / "b.hdf5").read_bytes()  # the layout follows the order
    da, db = page_digests(tmp_path / "a.hdf5"), page_digests(tmp_path / "b.hdf5")
    assert da == db and len(set(da.values())) == 1  # the two pages hold the same elements
    assert data_digest(da) == data_digest(db)
    assert compare(tmp_path / "a.hdf5", tmp_path / "b.hdf5") == ({}, [], [])


def test_one_changed_attribute_changes_its_page_only_and_is_named(tmp_path: Path, capsys) -> None:
    pages = _pages()
    write_webcolor(tmp_path / "a.hdf5", pages)
    changed = [pages[0], RawPage("site__b", [pages[1].elements[0],
                                             replace(pages[1].elements[1], text_color="rgb(18, 17, 17)"),
                                             pages[1].elements[2]])]
    write_webcolor(tmp_path / "b.hdf5", changed)
    da, db = page_digests(tmp_path / "a.hdf5"), page_digests(tmp_path / "b.hdf5")
    assert da["site__a"] == db["site__a"] and da["site__b"] != db["site__b"]
    assert data_digest(da) != data_digest(db)
    diff, only_a, only_b = compare(tmp_path / "a.hdf5", tmp_path / "b.hdf5")
    assert list(diff) == ["site__b"] and not only_a and not only_b
    assert "text_color" in diff["site__b"][0] and "rgb(18, 17, 17)" in diff["site__b"][0]
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "a.hdf5"), str(tmp_path / "b.hdf5")])
    assert stop.value.code == 1 and "site__b: element 1: text_color" in capsys.readouterr().out


def test_a_page_with_another_element_count_and_one_sided_pages(tmp_path: Path) -> None:
    pages = _pages()
    write_webcolor(tmp_path / "a.hdf5", pages)
    write_webcolor(tmp_path / "b.hdf5", [RawPage("site__a", pages[0].elements[:2]), RawPage("site__c", pages[1].elements)])
    diff, only_a, only_b = compare(tmp_path / "a.hdf5", tmp_path / "b.hdf5")
    assert diff == {"site__a": ["3 elements against 2"]} and only_a == ["site__b"] and only_b == ["site__c"]


def test_the_official_file_is_fingerprinted_as_it_is(tmp_path: Path) -> None:
    if not OFFICIAL.is_file():
        pytest.skip(f"official fixture not found at {OFFICIAL}")
    digests = page_digests(OFFICIAL)
    pages = {p.page_id: p for p in read_pages(OFFICIAL)}
    assert sorted(digests) == sorted(pages)
    # equal digests exactly where the loader reads equal elements (the fixture repeats a page or two)
    by_digest: dict[str, list[str]] = {}
    for pid, d in digests.items():
        by_digest.setdefault(d, []).append(pid)
    content = {pid: [vars(e) for e in p.elements] for pid, p in pages.items()}
    for ids in by_digest.values():
        assert all(_same(content[ids[0]], content[i]) for i in ids[1:])
    distinct = [ids[0] for ids in by_digest.values()]
    assert len(distinct) > 100
    assert not any(_same(content[a], content[b]) for a, b in zip(distinct, distinct[1:], strict=False))
    main([str(OFFICIAL), "--pages", str(tmp_path / "p.json")])
    assert (tmp_path / "p.json").read_text().count('"') == 4 * len(digests)


def test_the_recorded_digest_is_read_from_the_extraction_report(tmp_path: Path) -> None:
    assert recorded_digest(tmp_path) is None  # no report: the official files
    (tmp_path / "report.json").write_text("{not json")
    assert recorded_digest(tmp_path) is None
    (tmp_path / "report.json").write_text('{"pages": {}, "data_digest": "abc"}')
    assert recorded_digest(tmp_path) == "abc"
