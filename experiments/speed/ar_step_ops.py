"""Issue 12: why a one-page AR decoding step costs what it costs.

Times the 24 linear layers of a paper-size decoder step (4 layers) back to back, then interleaved
with the small ops a step also runs (a layer norm and an attention over a 195-key cache), then
those small ops alone. Run: ``PYTHONPATH=src python experiments/speed/ar_step_ops.py``
(results: ``ar_generation_floor_2026-12-03.md``).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

REPEATS = 300
SHAPES = [(768, 256), (256, 256), (256, 256), (256, 256), (512, 256), (256, 512)] * 4  # (out, in) per linear


def main() -> None:
    torch.set_num_threads(2)
    weights = [(torch.randn(o, i), torch.randn(o)) for o, i in SHAPES]
    x = {256: torch.randn(1, 256), 512: torch.randn(1, 512)}
    ln_w, ln_b = torch.ones(256), torch.zeros(256)
    q, kt, v = torch.randn(8, 1, 32), torch.randn(8, 32, 195), torch.randn(8, 195, 32)

    def small_ops() -> None:
        F.layer_norm(x[256], (256,), ln_w, ln_b)
        torch.bmm(torch.softmax(torch.bmm(q, kt), -1), v)

    def step(linears: bool, others: bool) -> None:
        for w, b in weights:
            if linears:
                F.linear(x[w.shape[1]], w, b)
            if others:
                small_ops()

    for label, linears, others in (("linears", True, False), ("linears + small ops", True, True),
                                   ("small ops", False, True)):
        for _ in range(50):
            step(linears, others)
        t0 = time.perf_counter()
        for _ in range(REPEATS):
            step(linears, others)
        print(f"{label}: {(time.perf_counter() - t0) / REPEATS * 1e3:.3f} ms per step")


if __name__ == "__main__":
    main()
