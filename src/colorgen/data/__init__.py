"""Data layer: colour codec, tag vocabulary, the official file format, page graphs, batching."""

from .batching import make_loader, to_dense
from .colors import ColorFormatError, decode_color, encode_color
from .dataset import DataFiles, GraphList, load_split
from .graph import page_to_data
from .webcolor_format import (
    MAX_ELEMENTS,
    DataValidationError,
    RawElement,
    RawPage,
    read_pages,
    read_split,
    write_split,
    write_webcolor,
)

__all__ = [
    "MAX_ELEMENTS", "ColorFormatError", "DataFiles", "DataValidationError", "GraphList", "RawElement",
    "RawPage", "decode_color", "encode_color", "load_split", "make_loader", "page_to_data", "read_pages",
    "read_split", "to_dense", "write_split", "write_webcolor",
]
