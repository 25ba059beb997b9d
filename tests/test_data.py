"""The data layer against files written in exactly the official layout."""

import os

import h5py
import numpy as np
import pytest
import torch

from colorgen.data import (
    DataValidationError,
    RawElement,
    RawPage,
    encode_color,
    load_split,
    make_loader,
    page_to_data,
    read_pages,
    to_dense,
    write_split,
    write_webcolor,
)
from colorgen.data import dataset as dataset_mod
from colorgen.data.stats import dataset_stats
from colorgen.data.tags import tag_index
from webcolor_fixtures import write_fixture_dataset


@pytest.fixture
def fixture_data(tmp_path):
    cfg = write_fixture_dataset(tmp_path, n_pages=24, seed=3)
    pages = {p.page_id: p for p in cfg.pop("pages")}
    return cfg, pages


def test_official_layout_on_disk(fixture_data):
    cfg, pages = fixture_data
    with h5py.File(os.path.join(cfg["root"], cfg["hdf5"])) as f:
        page = next(iter(pages.values()))
        g = f[page.page_id]
        assert sorted(g.keys(), key=int) == [str(i) for i in range(len(page.elements))]
        assert int(g["0"][()]) == -1 and g["0"].shape == ()
        assert "sibling_order" in g["0"].attrs and "background_color" in g["0"].attrs


def test_graphs_match_written_pages(fixture_data):
    cfg, pages = fixture_data
    for split in ("train", "val", "test"):
        for data in load_split(cfg, split):
            raw = pages[data.page_id]
            n = len(raw.elements)
            assert data.num_nodes == n
            parents = torch.full((n,), -1)
            parents[data.edge_index[0]] = data.edge_index[1]
            assert parents.tolist() == [e.parent for e in raw.elements]
            for i, e in enumerate(raw.elements):
                assert data.order[i] == e.sibling_order
                assert data.tag[i] == tag_index(e.html_tag)
                bg = encode_color(e.background_color)
                assert (data.bg_rgb[i], data.bg_alpha[i]) == (bg.rgb, bg.alpha)
                assert np.allclose(data.bg_res[i].numpy(), bg.residual)
                assert bool(data.has_text[i]) == (e.text_color is not None)
                if e.text_color:
                    t = encode_color(e.text_color)
                    assert (data.text_rgb[i], data.text_alpha[i]) == (t.rgb, t.alpha)
                    assert np.allclose(data.text_feat[i].numpy(), e.text_feat)
                else:
                    assert data.text_feat[i].abs().sum() == 0
                if e.bgimg_feat is not None:
                    got = data.bgimg_feat[i].numpy()
                    assert np.allclose(got[: len(e.bgimg_feat)], e.bgimg_feat) and (len(e.bgimg_feat) == 13 or got[12] == 0)
                if e.img_feat is None:
                    assert data.img_feat[i].abs().sum() == 0
            # depth bookkeeping: each child is one level below its parent
            c, p = data.edge_index
            assert torch.equal(data.depth[c], data.depth[p] + 1) and data.depth[parents == -1].item() == 0


def test_test_split_is_test1_then_test2(fixture_data):
    cfg, _ = fixture_data
    t1, t2, test = (load_split(cfg, s) for s in ("test1", "test2", "test"))
    assert test.page_ids == t1.page_ids + t2.page_ids
    flags = [bool(d.is_test2) for d in test]
    assert flags == [False] * len(t1) + [True] * len(t2)


def test_cache_hit_and_invalidation(fixture_data, monkeypatch):
    cfg, _ = fixture_data
    calls = []
    real = dataset_mod.read_pages
    monkeypatch.setattr(dataset_mod, "read_pages", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = load_split(cfg, "train")
    assert len(calls) == 1
    again = load_split(cfg, "train")
    assert len(calls) == 1, "second load must come from the cache"
    assert again.page_ids == first.page_ids and torch.equal(again._data.bg_rgb, first._data.bg_rgb)
    # source change -> rebuild
    h5 = os.path.join(cfg["root"], cfg["hdf5"])
    st = os.stat(h5)
    os.utime(h5, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    load_split(cfg, "train")
    assert len(calls) == 2
    # processing version change -> rebuild
    monkeypatch.setattr(dataset_mod, "PROCESSING_VERSION", 999)
    load_split(cfg, "train")
    assert len(calls) == 3


def test_cache_write_is_atomic(fixture_data, monkeypatch):
    cfg, _ = fixture_data
    files = dataset_mod.DataFiles.from_cfg(cfg)

    def killed(*a, **k):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(dataset_mod.torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        load_split(cfg, "val")
    assert not dataset_mod.cache_path(files, "val").exists()
    assert not [p for p in files.cache_dir.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    # a corrupt cache (e.g. truncated by a crash outside our control) is rebuilt, not trusted
    path = dataset_mod.cache_path(files, "val")
    path.write_bytes(b"garbage")
    assert len(load_split(cfg, "val")) > 0


def test_hdf5_write_is_atomic(tmp_path):
    class Boom(Exception):
        pass

    def pages():
        yield RawPage("a", [RawElement(-1, "body", 0, "rgb(0, 0, 0)")])
        raise Boom

    target = tmp_path / "x.hdf5"
    with pytest.raises(Boom):
        write_webcolor(target, pages())
    assert list(tmp_path.iterdir()) == []


def _page(*elements: RawElement) -> RawPage:
    return RawPage("p1", list(elements))


def el(parent=-1, order=0, **kw):
    return RawElement(parent=parent, html_tag=kw.pop("tag", "div"), sibling_order=order,
                      background_color=kw.pop("bg", "rgb(0, 0, 0)"), **kw)


@pytest.mark.parametrize(
    "page,message",
    [
        (_page(*[el(-1)] + [el(0, i) for i in range(200)]), "201 elements"),
        (_page(el(-1), el(0, 200)), "sibling_order 200"),
        (_page(el(-1), el(-1)), "2 roots"),
        (_page(el(1), el(0)), "0 roots"),
        (_page(el(-1), el(2), el(1)), "cycle"),
        (_page(el(-1), el(5)), "invalid parent id 5"),
        (_page(el(-1, text_color="rgb(0, 0, 0)", text_feat=[0.0] * 11)), "text_feat has length 11"),
        (_page(el(-1, img_feat=[0.0] * 12)), "img_feat has length 12"),
        (_page(el(-1, bgimg_feat=[0.0] * 14)), "bgimg_feat has length 14"),
        (_page(el(-1), el(0, bg="#fff")), "element 1: malformed colour string '#fff'"),
        (_page(), "no elements"),
    ],
)
def test_validation_errors(page, message):
    with pytest.raises(DataValidationError, match=message):
        page_to_data(page)


def test_bgimg_12_is_padded():
    d = page_to_data(_page(el(-1, bgimg_feat=[1.0] * 12)))
    assert d.bgimg_feat.shape == (1, 13) and d.bgimg_feat[0, 12] == 0 and d.bgimg_feat[0, 11] == 1


def test_split_ids_missing_from_file(fixture_data):
    cfg, _ = fixture_data
    write_split(os.path.join(cfg["root"], cfg["split_file"]),
                {"train": ["nope", "page_0000"], "val": [], "test1": [], "test2": []})
    with pytest.raises(DataValidationError, match="split 'train': 1 page ids missing.*nope"):
        load_split(cfg, "train")


def test_missing_files_are_clear(tmp_path):
    cfg = {"name": "x", "root": str(tmp_path), "hdf5": "a.hdf5", "split_file": "s.json"}
    with pytest.raises(FileNotFoundError, match="a.hdf5 not found"):
        load_split(cfg, "train")


def test_loader_and_dense_views(fixture_data):
    cfg, pages = fixture_data
    ds = load_split(cfg, "train")
    batch = next(iter(make_loader(ds, batch_size=5)))
    dense, mask = to_dense(batch, batch.bg_rgb)
    sizes = [len(pages[p].elements) for p in batch.page_id]
    assert mask.sum(1).tolist() == sizes and dense.shape == (5, max(sizes))
    assert dense[0, : sizes[0]].tolist() == batch.bg_rgb[: sizes[0]].tolist()
    # shuffled order is fixed by the seed
    order = lambda s: [p for b in make_loader(ds, 4, shuffle=True, seed=s) for p in b.page_id]  # noqa: E731
    assert order(1) == order(1) and order(1) != order(2)


def test_read_pages_round_trip(fixture_data):
    cfg, pages = fixture_data
    got = {p.page_id: p for p in read_pages(os.path.join(cfg["root"], cfg["hdf5"]))}
    assert set(got) == set(pages)
    for pid, page in pages.items():
        assert [e.background_color for e in got[pid].elements] == [e.background_color for e in page.elements]


def test_stats(fixture_data):
    cfg, pages = fixture_data
    stats = dataset_stats(cfg)
    assert set(stats["splits"]) == {"train", "val", "test1", "test2"}
    train = stats["splits"]["train"]
    ids = load_split(cfg, "train").page_ids
    assert train["pages"] == len(ids)
    assert train["elements"] == sum(len(pages[i].elements) for i in ids)
    assert train["text_elements"] == sum(e.text_color is not None for i in ids for e in pages[i].elements)
    assert sum(train["tags"].values()) == train["elements"]
    top = train["top_bg_rgb"]
    assert [c for _, c in top] == sorted((c for _, c in top), reverse=True)


def test_unwritable_cache_dir_loads_uncached_with_a_warning(fixture_data, tmp_path, caplog):
    """A read-only data folder (e.g. the official fixture) still loads; nothing is written there."""
    cfg, pages = fixture_data
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")  # a file where the cache folder would go: mkdir fails even as root
    with caplog.at_level("WARNING"):
        ds = load_split({**cfg, "cache_dir": str(blocker / "cache")}, "test1")
    assert len(ds) > 0 and "cannot write the cache" in caplog.text
    assert blocker.read_text() == ""
    cached = load_split({**cfg, "cache_dir": str(tmp_path / "cache")}, "test1")
    assert ds.page_ids == cached.page_ids and torch.equal(ds._data.bg_rgb, cached._data.bg_rgb)
