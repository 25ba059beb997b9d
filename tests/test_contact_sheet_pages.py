"""Contact sheets show pages of different designs, the same ones for every model."""

from colorgen.evaluation.visual import sheet_pages


def test_one_page_per_site_spread_over_the_sites():
    ids = [f"{site}__p{k}" for site in ("a", "b", "c", "d", "e", "f", "g", "h") for k in range(5)]
    picked = sheet_pages(reversed(ids), 4)
    assert picked == ["a__p0", "c__p0", "e__p0", "g__p0"]
    assert len({p.split("__")[0] for p in picked}) == 4


def test_fewer_sites_than_slots_and_no_pages():
    assert sheet_pages(["x__1", "x__2", "y__1"], 4) == ["x__1", "y__1"]
    assert sheet_pages([], 4) == []
    assert sheet_pages(["x__1"], 0) == []
