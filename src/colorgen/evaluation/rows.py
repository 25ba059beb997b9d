"""A run's table row when no experiment file names it: derived from model and decoding.

Why a fallback: paper rows are named by their experiment file (``row`` and ``label`` in
``conf/experiment/<row>.yaml``); sweeps such as ``-m decoding.top_p=0.0,0.8,0.9`` still land on
the published rows through these rules.
"""

from __future__ import annotations

from colorgen.decoding import DecodingConfig


def row_key(model: str, dec: DecodingConfig, members: int = 1) -> str:
    """The published-table row a run belongs to (e.g. ``ar-top_p0.8``, ``stats-mode``, ``nar``).

    A contrast constraint is its own row beside the published one: ``nar+aa``; so is an ensemble
    of ``members`` trained runs (:mod:`colorgen.models.ensemble`): ``nar-ens3``.
    """
    key = _decoding_row(model, dec) + (f"-ens{members}" if members > 1 else "")
    return f"{key}+{dec.contrast}" if dec.contrast else key


def _decoding_row(model: str, dec: DecodingConfig) -> str:
    if dec.top_k or dec.temperature != 1.0:
        return f"{model}-k{dec.top_k}-p{dec.top_p:g}-t{dec.temperature:g}"
    if dec.top_p == 0.0:
        return {"stats": "stats-mode", "ar": "ar-greedy"}.get(model, model)
    if dec.top_p == 1.0:
        return f"{model}-sampling"
    return f"{model}-top_p{dec.top_p:g}"


def decoding_label(model: str, dec: DecodingConfig) -> str:
    """How the paper names the decoding of a row ('mode', 'greedy', 'top-p 0.9', 'sampling')."""
    key = _decoding_row(model, dec)
    if key in ("nar", "cvae"):
        return ""
    if dec.top_p == 0.0 and not dec.top_k:
        return "mode" if model == "stats" else "greedy"
    if dec.top_p == 1.0 and not dec.top_k:
        return "sampling"
    return key.split("-", 1)[1].replace("top_p", "top-p ")
