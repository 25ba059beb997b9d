"""The published tag vocabulary: a tag's index is its line in html_tags.txt; others map to UNKNOWN."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def tag_vocabulary() -> tuple[str, ...]:
    text = files("colorgen.data").joinpath("html_tags.txt").read_text()
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@cache
def _index() -> dict[str, int]:
    return {t: i for i, t in enumerate(tag_vocabulary())}


NUM_TAGS = 114  # 113 published tags + unknown


def unknown_tag_index() -> int:
    return len(tag_vocabulary())


def tag_index(tag: str) -> int:
    """Index of a lower-case tag name; unknown tags share the last index."""
    return _index().get(tag.lower(), unknown_tag_index())
