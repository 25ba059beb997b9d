"""Computed CSS colours in any syntax Chromium may return -> the codec's ``rgb()``/``rgba()`` string.

Chromium serialises colours given in CSS Color 4 syntaxes as they were written (``color(srgb
...)``, ``oklch(...)``, ``lab(...)``...), but the WebColor format only holds ``rgb()``/``rgba()``.
The conversion follows the CSS Color 4 reference math (matrices from its sample code) to sRGB;
colours outside the sRGB gamut are clipped per channel (what Chromium does when it paints into
an sRGB surface). The result is validated by the one codec, :mod:`colorgen.data.colors`.
"""

from __future__ import annotations

import math
import re

import numpy as np

from colorgen.data.colors import parse_color


class ColorConversionError(ValueError):
    """A colour string in a syntax this module does not understand (the caller may fall back)."""


# --- CSS Color 4 matrices -------------------------------------------------------------------
_XYZ_TO_LIN_SRGB = np.array([
    [3.2409699419045226, -1.537383177570094, -0.4986107602930034],
    [-0.9692436362808796, 1.8759675015077202, 0.04155505740717559],
    [0.05563007969699366, -0.20397695888897652, 1.0569715142428786],
])
_LIN_P3_TO_XYZ = np.array([
    [0.4865709486482162, 0.26566769316909306, 0.1982172852343625],
    [0.2289745640697488, 0.6917385218365064, 0.079286914093745],
    [0.0, 0.04511338185890264, 1.043944368900976],
])
_LIN_A98_TO_XYZ = np.array([
    [0.5766690429101305, 0.1855582379065463, 0.1882286462349947],
    [0.29734497525053605, 0.6273635662554661, 0.07529145849399788],
    [0.02703136138641234, 0.07068885253582723, 0.9913375368376388],
])
_LIN_PROPHOTO_TO_XYZ_D50 = np.array([
    [0.7977666449006423, 0.13518129740053308, 0.0313477341283922],
    [0.2880748288194013, 0.711835234241873, 0.00008993693872564],
    [0.0, 0.0, 0.8251046025104602],
])
_LIN_REC2020_TO_XYZ = np.array([
    [0.6369580483012914, 0.14461690358620832, 0.1688809751641721],
    [0.2627002120112671, 0.6779980715188708, 0.05930171646986196],
    [0.0, 0.028072693049087428, 1.060985057710791],
])
_D50_TO_D65 = np.array([
    [0.955473421488075, -0.02309845494876471, 0.06325924320057072],
    [-0.0283697093338637, 1.0099953980813041, 0.021041441191917323],
    [0.012314014864481998, -0.020507649298898964, 1.330365926242124],
])
_OKLAB_TO_LMS = np.array([
    [1.0, 0.3963377773761749, 0.2158037573099136],
    [1.0, -0.1055613458156586, -0.0638541728258133],
    [1.0, -0.0894841775298119, -1.2914855480194092],
])
_LMS_TO_XYZ = np.array([
    [1.2268798758459243, -0.5578149944602171, 0.2813910456659647],
    [-0.0405757452148008, 1.1122868032803170, -0.0717110580655164],
    [-0.0763729366746601, -0.4214933324022432, 1.5869240198367816],
])
_D50_WHITE = np.array([0.3457 / 0.3585, 1.0, (1.0 - 0.3457 - 0.3585) / 0.3585])
_KAPPA, _EPS = 24389 / 27, 216 / 24389


# --- transfer functions (signed, as in the spec) ---------------------------------------------
def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    a = np.abs(v)
    return np.where(a <= 0.04045, v / 12.92, np.sign(v) * ((a + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(v: np.ndarray) -> np.ndarray:
    a = np.abs(v)
    return np.where(a > 0.0031308, np.sign(v) * (1.055 * a ** (1 / 2.4) - 0.055), 12.92 * v)


def _a98_to_linear(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.abs(v) ** (563 / 256)


def _prophoto_to_linear(v: np.ndarray) -> np.ndarray:
    a = np.abs(v)
    return np.where(a <= 16 / 512, v / 16, np.sign(v) * a**1.8)


def _rec2020_to_linear(v: np.ndarray) -> np.ndarray:
    alpha, beta = 1.09929682680944, 0.018053968510807
    a = np.abs(v)
    return np.where(a < beta * 4.5, v / 4.5, np.sign(v) * ((a + alpha - 1) / alpha) ** (1 / 0.45))


def _lab_to_xyz_d50(lab: np.ndarray) -> np.ndarray:
    L, a, b = lab
    f1 = (L + 16) / 116
    f0 = a / 500 + f1
    f2 = f1 - b / 200
    x = f0**3 if f0**3 > _EPS else (116 * f0 - 16) / _KAPPA
    y = ((L + 16) / 116) ** 3 if L > _KAPPA * _EPS else L / _KAPPA
    z = f2**3 if f2**3 > _EPS else (116 * f2 - 16) / _KAPPA
    return np.array([x, y, z]) * _D50_WHITE


def _oklab_to_xyz(lab: np.ndarray) -> np.ndarray:
    return _LMS_TO_XYZ @ ((_OKLAB_TO_LMS @ lab) ** 3)


def _polar(l_: float, c: float, h: float) -> np.ndarray:
    rad = math.radians(h)
    return np.array([l_, c * math.cos(rad), c * math.sin(rad)])


# Each maps the three components to linear-light sRGB.
_PREDEFINED = {
    "srgb": lambda v: _srgb_to_linear(v),
    "srgb-linear": lambda v: v,
    "display-p3": lambda v: _XYZ_TO_LIN_SRGB @ (_LIN_P3_TO_XYZ @ _srgb_to_linear(v)),
    "a98-rgb": lambda v: _XYZ_TO_LIN_SRGB @ (_LIN_A98_TO_XYZ @ _a98_to_linear(v)),
    "prophoto-rgb": lambda v: _XYZ_TO_LIN_SRGB @ (_D50_TO_D65 @ (_LIN_PROPHOTO_TO_XYZ_D50 @ _prophoto_to_linear(v))),
    "rec2020": lambda v: _XYZ_TO_LIN_SRGB @ (_LIN_REC2020_TO_XYZ @ _rec2020_to_linear(v)),
    "xyz": lambda v: _XYZ_TO_LIN_SRGB @ v,
    "xyz-d65": lambda v: _XYZ_TO_LIN_SRGB @ v,
    "xyz-d50": lambda v: _XYZ_TO_LIN_SRGB @ (_D50_TO_D65 @ v),
}

# Percent reference ranges per function and component (CSS Color 4 / 5).
_PERCENT = {
    "lab": (100.0, 125.0, 125.0),
    "lch": (100.0, 150.0, None),
    "oklab": (1.0, 0.4, 0.4),
    "oklch": (1.0, 0.4, None),
}

_FUNC_RE = re.compile(r"^\s*([a-z-]+)\(\s*(.*?)\s*\)\s*$", re.IGNORECASE | re.DOTALL)
_NUMBER_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(%|deg|rad|grad|turn)?$", re.IGNORECASE)


def _component(token: str, percent_ref: float | None) -> float:
    """One component; ``none`` is 0, percentages scale by the reference, angles become degrees."""
    t = token.strip().lower()
    if t == "none":
        return 0.0
    m = _NUMBER_RE.match(t)
    if not m:
        raise ColorConversionError(f"bad colour component {token!r}")
    v, unit = float(m.group(1)), (m.group(2) or "")
    if unit == "%":
        if percent_ref is None:
            raise ColorConversionError(f"percentage not allowed in component {token!r}")
        return v / 100.0 * percent_ref
    return v * {"": 1.0, "deg": 1.0, "rad": 180 / math.pi, "grad": 0.9, "turn": 360.0}[unit]


def _split_alpha(body: str) -> tuple[list[str], float]:
    if "/" in body:
        main, alpha_tok = body.rsplit("/", 1)
        alpha = _component(alpha_tok, 1.0)
    else:
        main, alpha = body, 1.0
    return main.replace(",", " ").split(), min(max(alpha, 0.0), 1.0)


def _to_255(v: float) -> int:
    """Clip to [0, 1] and round half up, as browsers serialise 8-bit channels."""
    return int(math.floor(min(max(v, 0.0), 1.0) * 255 + 0.5))


def _format(rgb: tuple[int, int, int], alpha: float) -> str:
    r, g, b = rgb
    if alpha >= 1.0:
        return f"rgb({r}, {g}, {b})"
    a = f"{round(alpha, 6):.6f}".rstrip("0").rstrip(".")
    return f"rgba({r}, {g}, {b}, {a or '0'})"


def _legacy(func: str, body: str) -> str:
    parts = [p for p in re.split(r"[\s,/]+", body.strip()) if p]
    if len(parts) not in (3, 4):
        raise ColorConversionError(f"{func}() needs 3 or 4 components")
    chans = []
    for p in parts[:3]:
        v = _component(p, 255.0)
        chans.append(int(math.floor(min(max(v, 0.0), 255.0) + 0.5)))
    alpha = 1.0 if len(parts) == 3 else min(max(_component(parts[3], 1.0), 0.0), 1.0)
    return _format(tuple(chans), alpha)


def to_rgb_string(text: str) -> str:
    """Any computed colour (legacy or CSS Color 4) -> ``rgb(R, G, B)`` / ``rgba(R, G, B, A)``.

    Raises :class:`ColorConversionError` for syntaxes it does not know (e.g. an unresolved
    ``color-mix()``); the output always parses with the codec.
    """
    if not isinstance(text, str):
        raise ColorConversionError(f"colour must be a string, got {text!r}")
    m = _FUNC_RE.match(text)
    if not m:
        if text.strip().lower() == "transparent":
            return "rgba(0, 0, 0, 0)"
        raise ColorConversionError(f"unsupported colour {text!r}")
    func, body = m.group(1).lower(), m.group(2)
    try:
        if func in ("rgb", "rgba"):
            out = _legacy(func, body)
        elif func == "color":
            tokens, alpha = _split_alpha(body)
            if len(tokens) != 4:
                raise ColorConversionError("color() needs a colour space and 3 components")
            space = tokens[0].lower()
            if space not in _PREDEFINED:
                raise ColorConversionError(f"unknown colour space {space!r}")
            comps = np.array([_component(t, 1.0) for t in tokens[1:]])
            out = _from_linear_srgb(_PREDEFINED[space](comps), alpha)
        elif func in _PERCENT:
            tokens, alpha = _split_alpha(body)
            if len(tokens) != 3:
                raise ColorConversionError(f"{func}() needs 3 components")
            refs = _PERCENT[func]
            c = [_component(t, r) for t, r in zip(tokens, refs, strict=True)]
            lab = _polar(*c) if func.endswith("ch") else np.array(c)
            if func.startswith("ok"):
                lin = _XYZ_TO_LIN_SRGB @ _oklab_to_xyz(lab)
            else:
                lin = _XYZ_TO_LIN_SRGB @ (_D50_TO_D65 @ _lab_to_xyz_d50(lab))
            out = _from_linear_srgb(lin, alpha)
        else:
            raise ColorConversionError(f"unsupported colour function {func}()")
    except ColorConversionError as err:
        raise ColorConversionError(f"cannot convert colour {text!r}: {err}") from err
    parse_color(out)  # the codec is the judge of the final string
    return out


def _from_linear_srgb(lin: np.ndarray, alpha: float) -> str:
    srgb = _linear_to_srgb(np.asarray(lin, dtype=np.float64))
    return _format(tuple(_to_255(float(v)) for v in srgb), alpha)


def is_legacy(text: str) -> bool:
    """Already in the stored syntax (no conversion needed)."""
    try:
        parse_color(text)
        return True
    except ValueError:
        return False
