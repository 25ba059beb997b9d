"""What machine a bench section ran on: the CPU model and the instruction sets speed depends on.

Speed figures compare only on one machine. The official code's references were measured on an
AVX-512/AMX Xeon; a later session may run on another CPU (e.g. an AMD EPYC without AMX, where
bf16 matmuls have no hardware and MKL takes other code paths), so every section records the
machine it ran on: a report kept across ``--only`` runs may hold sections of different machines.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

# flags that change which kernels run: wide vectors, bf16 dot products, AMX tiles
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name (``/proc/cpuinfo``), or the platform's processor string."""
    text = cpuinfo if cpuinfo is not None else _read("/proc/cpuinfo")
    for line in text.splitlines():
        if line.lower().startswith("model name") and ":" in line:
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def isa_flags(cpuinfo: str | None = None) -> list[str]:
    """Which of :data:`ISA_FLAGS` the CPU has, in that order."""
    text = cpuinfo if cpuinfo is not None else _read("/proc/cpuinfo")
    flags: set[str] = set()
    for line in text.splitlines():
        if line.lower().startswith("flags") and ":" in line:
            flags.update(line.split(":", 1)[1].split())
            break
    return [f for f in ISA_FLAGS if f in flags]


def describe(cpuinfo: str | None = None) -> str:
    """One line: CPU model, ISA flags, cores, torch version and threads."""
    isa = "/".join(isa_flags(cpuinfo)) or "no AVX2"
    return (f"{cpu_model(cpuinfo)} ({isa}), {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
