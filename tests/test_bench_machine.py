"""The bench says which CPU it ran on, and whether the official references compare there."""

from __future__ import annotations

from colorgen.bench.machine import cpu_model, describe, isa_flags
from colorgen.bench.speed import like_reference_machine

XEON = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile
processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile
"""
EPYC = """processor\t: 0
model name\t: AMD EPYC
flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni
"""


def test_cpu_model_and_isa_flags_from_cpuinfo() -> None:
    assert cpu_model(XEON) == "Intel(R) Xeon(R) Platinum 8480+"
    assert isa_flags(XEON) == ["avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"]
    assert isa_flags(EPYC) == ["avx2", "avx512f", "avx512_bf16", "avx512_vnni"]
    assert describe(EPYC).startswith("AMD EPYC (avx2/avx512f/avx512_bf16/avx512_vnni), ")
    assert "(no AVX2)" in describe("model name : Old\nflags : fpu sse2\n")


def test_official_ratios_compare_only_on_an_amx_xeon() -> None:
    assert like_reference_machine(XEON)
    assert not like_reference_machine(EPYC)
    assert not like_reference_machine(XEON.replace(" amx_bf16 amx_tile", ""))
