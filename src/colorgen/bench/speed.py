"""Issue 12's speed figures: colorgen against the official code's numbers on the same machine.

Each figure is measured at the paper size (d 256, 4 layers, 8 heads, ff 512, dropout 0.1) on a
batch of 32 pages with AdamW, and set beside the official code's number, carried as a
constant with the date and machine it was measured on (the official code is not run here).
Pages come from real data when a ``data`` config (``root``, ``hdf5``, ``split_file``) is given
and loads, else from synthetic pages of about 41 elements; the result says which.

``run`` returns numbers only; ``format_table`` renders them; ``main`` is the entry point
(``python -m colorgen.bench.speed --data-root DIR``).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch_geometric.data import Batch

from colorgen.bench.machine import cpu_model, isa_flags
from colorgen.decoding import DecodingConfig
from colorgen.models import AR, CVAE, NAR, ColorUpsampler, ContentEncoder
from colorgen.training.fast import DROPOUT_RNGS, training_precision, use_dropout_rng

PAPER_SIZE = {"d_model": 256, "n_layers": 4, "n_heads": 8, "d_ff": 512, "dropout": 0.1}
BATCH_PAGES = 32


@dataclass(frozen=True)
class Reference:
    """A number measured once, outside this bench; ``higher_is_better`` for rates."""

    official: float
    colorgen_before: float
    target: float
    unit: str
    higher_is_better: bool = False


REFERENCE_DATE = "2026-11-27"
REFERENCE_MACHINE = "the project's 2-core AVX-512/AMX Xeon CPU, torch 2 threads, quiet machine"
# issue 12's table (official code and colorgen measured alternately in one run)
REFERENCES: dict[str, Reference] = {
    "train_step_nar": Reference(0.727, 0.684, 0.24, "s"),
    "train_step_cvae": Reference(1.865, 1.472, 0.62, "s"),
    "train_step_ar": Reference(1.637, 1.841, 0.55, "s"),
    "train_step_upsampler": Reference(0.904, 0.607, 0.30, "s"),
    # official: an earlier run on synthetic 105-element pages; colorgen_before: the old bench
    "content_encoder_fwd_bwd": Reference(0.225, 0.236, 0.023, "s"),
    "generate_nar": Reference(178.0, 274.0, 356.0, "pages/s", True),
    "generate_cvae": Reference(109.0, 177.0, 218.0, "pages/s", True),
    "generate_ar_greedy": Reference(3.7, 19.6, 110.0, "pages/s", True),
}


def like_reference_machine(cpuinfo: str | None = None) -> bool:
    """Whether this CPU is of the reference's kind (an AMX Xeon): only then do the ratios compare."""
    return "Xeon" in cpu_model(cpuinfo) and "amx_tile" in isa_flags(cpuinfo)


TRAIN_MODELS: dict[str, type] = {
    "train_step_nar": NAR,
    "train_step_cvae": CVAE,
    "train_step_ar": AR,
    "train_step_upsampler": ColorUpsampler,
}
GENERATE_MODELS: dict[str, type] = {"generate_nar": NAR, "generate_cvae": CVAE, "generate_ar_greedy": AR}


def load_batches(data_cfg: Mapping[str, Any] | None, count: int = 1, pages: int = BATCH_PAGES) -> tuple[list[Batch], str]:
    """``count`` batches of ``pages`` consecutive training pages of ``data_cfg`` (or synthetic ones),
    and where they came from. Several batches have several shapes, as training sees them."""
    if data_cfg is not None:
        from colorgen.data.dataset import load_split

        try:
            split = load_split(data_cfg, "train")
        except (FileNotFoundError, OSError, ValueError) as err:
            source = f"synthetic (real data unavailable: {err})"
        else:
            if len(split) >= pages * count:
                return [Batch.from_data_list([split[i] for i in range(b * pages, (b + 1) * pages)])
                        for b in range(count)], f"real: {data_cfg['root']}"
            source = f"synthetic (only {len(split)} real training pages at {data_cfg['root']})"
    else:
        source = "synthetic (no data given)"
    from colorgen.bench.models import realistic_batch

    return [realistic_batch(pages, 41, seed=b) for b in range(count)], source


def load_batch(data_cfg: Mapping[str, Any] | None, pages: int = BATCH_PAGES) -> tuple[Batch, str]:
    """The first ``pages`` training pages of ``data_cfg``, or synthetic ones; and where they came from."""
    batches, source = load_batches(data_cfg, 1, pages)
    return batches[0], source


def median_seconds(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Median wall-clock seconds per call."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's CPU threads set to ``n`` inside, restored after (the bench pins 2, the issue's setting)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _precision(bf16: bool) -> contextlib.AbstractContextManager[None]:
    """bf16 autocast on CPU (AMX matmuls) when asked; fp32 otherwise."""
    return training_precision("bf16" if bf16 else "fp32", torch.device("cpu"))


def train_step_seconds(cls: type, batch: Batch | list[Batch], repeats: int, bf16: bool = False,
                       dropout_rng: str = "torch") -> float:
    """Median seconds of an AdamW step; a list of batches is cycled through, one per step."""
    torch.manual_seed(0)
    model = cls(**PAPER_SIZE).train()
    use_dropout_rng(model, dropout_rng)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batches = itertools.cycle(batch if isinstance(batch, list) else [batch])

    def step() -> None:
        opt.zero_grad()
        with _precision(bf16):
            loss = model.loss(next(batches))["loss"]
        loss.backward()
        opt.step()

    return median_seconds(step, repeats)


def content_encoder_seconds(batch: Batch, repeats: int, bf16: bool = False) -> float:
    torch.manual_seed(0)
    encoder = ContentEncoder(PAPER_SIZE["d_model"])

    def step() -> None:
        encoder.zero_grad()
        with _precision(bf16):
            out = encoder(batch)
        out.float().sum().backward()

    return median_seconds(step, repeats)


def generation_pages_per_s(cls: type, batch: Batch, repeats: int, bf16: bool = False) -> float:
    torch.manual_seed(0)
    model = cls(**PAPER_SIZE).eval()
    decoding = DecodingConfig()
    generator = torch.Generator().manual_seed(0)

    def gen() -> None:
        with torch.no_grad(), _precision(bf16):
            model.generate(batch, decoding, generator)

    return batch.num_graphs / median_seconds(gen, repeats)


def bf16_loss_change(batch: Batch) -> dict[str, float]:
    """|loss(bf16 autocast) - loss(fp32)| per model on the batch (eval mode, same weights)."""
    out = {}
    for name, cls in TRAIN_MODELS.items():
        torch.manual_seed(0)
        model = cls(**PAPER_SIZE).eval()
        with torch.no_grad():
            torch.manual_seed(1)
            fp32 = float(model.loss(batch)["loss"])
            torch.manual_seed(1)
            with _precision(True):
                bf16 = float(model.loss(batch)["loss"])
        out[name] = abs(bf16 - fp32)
    return out


def _row(name: str, value: float) -> dict[str, Any]:
    ref = REFERENCES[name]
    # ratio > 1 = colorgen faster than the official code
    ratio = value / ref.official if ref.higher_is_better else ref.official / value
    met = value >= ref.target if ref.higher_is_better else value <= ref.target
    return {"colorgen": value, "official": ref.official, "ratio_vs_official": ratio,
            "colorgen_before": ref.colorgen_before, "target": ref.target, "unit": ref.unit, "met": met}


def run(
    data_cfg: Mapping[str, Any] | None = None,
    threads: int = 2,
    repeats: int = 5,
    bf16: bool = False,
    only: tuple[str, ...] | None = None,
    dropout_rng: str = "torch",
) -> dict[str, Any]:
    """Every figure of issue 12 (or those named in ``only``) with its official reference."""
    with torch_threads(threads):
        batch, source = load_batch(data_cfg)
        names = only or tuple(REFERENCES)
        rows: dict[str, Any] = {}
        for name in names:
            if name in TRAIN_MODELS:
                value = train_step_seconds(TRAIN_MODELS[name], batch, repeats, bf16, dropout_rng)
            elif name in GENERATE_MODELS:
                value = generation_pages_per_s(GENERATE_MODELS[name], batch, max(1, repeats // 2), bf16)
            elif name == "content_encoder_fwd_bwd":
                value = content_encoder_seconds(batch, repeats, bf16)
            else:
                raise ValueError(f"unknown figure {name!r}; choose from {tuple(REFERENCES)}")
            rows[name] = _row(name, value)
        result = {
            "pages": source,
            "batch_pages": batch.num_graphs,
            "batch_elements": int(batch.num_nodes),
            "threads": threads,
            "precision": "bf16 autocast" if bf16 else "fp32",
            "dropout_rng": dropout_rng,
            "reference": f"official numbers measured {REFERENCE_DATE} on {REFERENCE_MACHINE}",
            "like_reference_machine": like_reference_machine(),
            "figures": rows,
        }
        if bf16:
            result["bf16_loss_change"] = bf16_loss_change(batch)
        return result


def format_table(result: Mapping[str, Any]) -> str:
    """Markdown table of :func:`run`'s figures, with its provenance lines."""
    lines = [
        f"Pages: {result['pages']} ({result['batch_pages']} pages, {result['batch_elements']} elements); "
        f"{result['threads']} threads; {result['precision']}; dropout masks: {result.get('dropout_rng', 'torch')}.",
        f"Reference: {result['reference']}.",
        "",
        "| measure | official | colorgen before | colorgen now | x official | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in result["figures"].items():
        lines.append(
            f"| {name} ({row['unit']}) | {row['official']:.3g} | {row['colorgen_before']:.3g} | "
            f"{row['colorgen']:.3g} | {row['ratio_vs_official']:.2f}x | {row['target']:.3g} | "
            f"{'yes' if row['met'] else 'no'} |"
        )
    for name, change in result.get("bf16_loss_change", {}).items():
        lines.append(f"bf16 loss change {name}: {change:.2e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", help="folder with webcolor_v1.1.hdf5 and webcolor_split_v1.1.json")
    parser.add_argument("--cache-dir", help="writable cache folder (default: <data-root>/cache)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (AMX); reports the loss change")
    parser.add_argument("--only", nargs="*", choices=tuple(REFERENCES))
    parser.add_argument("--dropout-rng", default="torch", choices=DROPOUT_RNGS, help="trainer.dropout_rng of the training steps")
    args = parser.parse_args(argv)
    data_cfg = None
    if args.data_root:
        data_cfg = {"name": "webcolor", "root": args.data_root, "hdf5": "webcolor_v1.1.hdf5",
                    "split_file": "webcolor_split_v1.1.json", "cache_dir": args.cache_dir}
    result = run(data_cfg, args.threads, args.repeats, args.bf16, tuple(args.only) if args.only else None,
                 args.dropout_rng)
    print(format_table(result))  # entry point: the table is the output


if __name__ == "__main__":
    main()
