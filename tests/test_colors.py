import numpy as np
import pytest

from colorgen.data.colors import (
    ColorFormatError,
    decode_color,
    decode_to_values,
    encode_color,
    encode_rgba,
    parse_color,
)


@pytest.mark.parametrize(
    "v,bin_,res", [(0, 0, 0.0), (31, 0, 1.0), (32, 1, 0.0), (63, 1, 1.0), (128, 4, 0.0), (255, 7, 1.0)]
)
def test_channel_edges(v, bin_, res):
    c = encode_color(f"rgb({v}, 0, 0)")
    assert c.rgb == 64 * bin_
    assert c.residual[0] == pytest.approx(res)


@pytest.mark.parametrize("a,cls", [(0, 0), (0.5, 4), (1, 7), (0.1, 0), (0.13, 1)])
def test_alpha_edges(a, cls):
    assert encode_color(f"rgba(1, 2, 3, {a})").alpha == cls


def test_rgb_class_is_octal_and_rgb_means_opaque():
    c = encode_color("rgb(200, 100, 40)")
    assert c.rgb == 64 * 6 + 8 * 3 + 1
    assert c.alpha == 7 and c.residual[3] == 1.0


def test_every_class_round_trips():
    for rgb in range(512):
        for alpha in range(8):
            s = decode_color(rgb, alpha, (0.25, 0.5, 0.75, 0.5))
            c = encode_color(s)
            assert (c.rgb, c.alpha) == (rgb, alpha), s


def test_values_round_trip_exactly():
    rng = np.random.default_rng(0)
    for r, g, b in rng.integers(0, 256, size=(500, 3)):
        for a255 in (0, 77, 128, 255):
            c = encode_rgba(int(r), int(g), int(b), a255 / 255)
            vals = decode_to_values(np.array(c.rgb), np.array(c.alpha), np.array(c.residual))
            assert list(vals) == [r, g, b, a255]


def test_parse_accepts_browser_forms():
    assert parse_color("rgba(0, 0, 0, 0)") == (0, 0, 0, 0.0)
    assert parse_color(" rgb(1,2,3) ") == (1, 2, 3, 1.0)


@pytest.mark.parametrize(
    "bad",
    ["", "red", "#fff", "transparent", "rgb(256, 0, 0)", "rgb(-1, 0, 0)", "rgba(0, 0, 0, 1.5)",
     "rgb(1, 2)", "color(srgb 1 0 0)", "rgb(1.5, 2, 3)", "oklch(0.5 0.1 30)"],
)
def test_malformed_strings_name_the_string(bad):
    with pytest.raises(ColorFormatError) as err:
        encode_color(bad)
    assert repr(bad) in str(err.value)


def test_non_string_rejected():
    with pytest.raises(ColorFormatError):
        parse_color(None)  # type: ignore[arg-type]
