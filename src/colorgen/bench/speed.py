"""Issue 12's speed figures: colorgen against the official code's numbers on the same machine.

Each figure is measured at the paper size (d 256, 4 layers, 8 heads, ff 512, dropout 0.1) on a
batch of 32 pages with AdamW, and set beside the official code's number, carried as a
constant with the date and machine it was measured on (the official code is not run here).
There is one set of such constants per kind of machine they were measured on (the issue's AMX
Xeon, an AMD EPYC); the bench uses the set of the machine it runs on, else the issue's, saying so.
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
    colorgen_before: float | None  # None: the old code was not timed on that machine
    target: float
    unit: str
    higher_is_better: bool = False


@dataclass(frozen=True)
class ReferenceSet:
    """The official code's figures measured on one kind of machine (``cpu_model`` contains ``cpu``,
    with every flag of ``flags``)."""

    date: str
    machine: str
    cpu: str
    flags: tuple[str, ...]
    figures: dict[str, Reference]
    # the same figures as a mean over ROTATING_BATCHES batches (training's changing shapes), when measured
    rotating: dict[str, Reference] | None = None

    def matches(self, cpuinfo: str | None = None) -> bool:
        return self.cpu in cpu_model(cpuinfo) and set(self.flags) <= set(isa_flags(cpuinfo))


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
XEON_AMX = ReferenceSet(REFERENCE_DATE, REFERENCE_MACHINE, "Xeon", ("amx_tile",), REFERENCES)


def _same_speedups(official: dict[str, float]) -> dict[str, Reference]:
    """Targets for other official numbers: the speed-ups over the official code that issue 12's
    targets ask for (3x a training step, ~10x the content encoder, 2x / 30x generation)."""
    out = {}
    for name, value in official.items():
        ref = REFERENCES[name]
        factor = ref.target / ref.official if ref.higher_is_better else ref.official / ref.target
        target = value * factor if ref.higher_is_better else value / factor
        out[name] = Reference(value, None, float(f"{target:.4g}"), ref.unit, ref.higher_is_better)
    return out


# The official code (08ee68b + the fixture's patch R1, torch 2.13, dgl 2.1.0) timed on this bench's
# batch (the first 32 training pages of data=webpages; its longest page, 195 elements, pads the
# official batch), mean of 3 runs alternating with colorgen's: experiments/speed/official_epyc.md,
# which also compares 8 batches as training sees them (smaller ratios: 2.3x-3.4x a training step).
EPYC_OFFICIAL = {"train_step_nar": 2.39, "train_step_cvae": 7.39, "train_step_ar": 6.69, "train_step_upsampler": 1.83,
                 "content_encoder_fwd_bwd": 0.167, "generate_nar": 69.4, "generate_cvae": 44.2, "generate_ar_greedy": 0.448}
# ... and over the 8 batches (seconds: mean over batches; pages/s: 32 / mean seconds per batch; AR
# greedy: the first 2 batches)
EPYC_OFFICIAL_ROTATING = {"train_step_nar": 1.25, "train_step_cvae": 3.51, "train_step_ar": 2.95,
                          "train_step_upsampler": 1.07, "content_encoder_fwd_bwd": 0.154, "generate_nar": 100.0,
                          "generate_cvae": 73.2, "generate_ar_greedy": 0.813}
EPYC = ReferenceSet("2026-12-03", "a 2-core AMD EPYC (AVX-512, no AMX), torch 2 threads, quiet machine", "AMD EPYC", (),
                    _same_speedups(EPYC_OFFICIAL), _same_speedups(EPYC_OFFICIAL_ROTATING))
REFERENCE_SETS = (XEON_AMX, EPYC)


def reference_set(cpuinfo: str | None = None) -> tuple[ReferenceSet, bool]:
    """The official figures to compare with on this machine, and whether they were measured on
    its kind (else the issue's set, whose ratios then do not compare like for like)."""
    for refs in REFERENCE_SETS:
        if refs.matches(cpuinfo):
            return refs, True
    return XEON_AMX, False


def like_reference_machine(cpuinfo: str | None = None) -> bool:
    """Whether this CPU is of the issue's reference kind (an AMX Xeon)."""
    return XEON_AMX.matches(cpuinfo)


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


def _row(name: str, value: float, figures: Mapping[str, Reference]) -> dict[str, Any]:
    ref = figures[name]
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
    cpuinfo: str | None = None,
) -> dict[str, Any]:
    """Every figure of issue 12 (or those named in ``only``) with its official reference (the set
    of the machine ``cpuinfo`` describes, this one by default)."""
    refs, like_for_like = reference_set(cpuinfo)
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
            rows[name] = _row(name, value, refs.figures)
        result = {
            "pages": source,
            "batch_pages": batch.num_graphs,
            "batch_elements": int(batch.num_nodes),
            "threads": threads,
            "precision": "bf16 autocast" if bf16 else "fp32",
            "dropout_rng": dropout_rng,
            "reference": f"official numbers measured {refs.date} on {refs.machine}",
            "like_reference_machine": like_for_like,
            "figures": rows,
        }
        if bf16:
            result["bf16_loss_change"] = bf16_loss_change(batch)
        return result


def _or_dash(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


ROTATING_BATCHES = 8
ROTATING_AR_BATCHES = 2  # the official AR generation takes ~70 s on the first batch


def training_steps() -> dict[str, Callable[[Batch], None]]:
    """Per training figure (the models' AdamW steps and the content encoder's forward + backward),
    a function doing it on a batch, published settings, seeded: what the rotating batches time."""
    steps: dict[str, Callable[[Batch], None]] = {}
    for name, cls in TRAIN_MODELS.items():
        torch.manual_seed(0)
        model = cls(**PAPER_SIZE).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step(batch: Batch, model=model, opt=opt) -> None:
            opt.zero_grad()
            model.loss(batch)["loss"].backward()
            opt.step()

        steps[name] = step
    torch.manual_seed(0)
    encoder = ContentEncoder(PAPER_SIZE["d_model"])

    def encode(batch: Batch) -> None:
        encoder.zero_grad()
        encoder(batch).sum().backward()

    steps["content_encoder_fwd_bwd"] = encode
    return steps


def rotating_seconds(batches: list[Batch], threads: int = 2) -> dict[str, list[float]]:
    """Per figure, seconds per batch: the fastest of 2 training steps (or content-encoder passes),
    one generation call (AR greedy: the first :data:`ROTATING_AR_BATCHES` batches only)."""
    seconds: dict[str, list[float]] = {}
    with torch_threads(threads):
        for name, step in training_steps().items():
            seconds[name] = fastest_per_batch(step, batches, 2)
        for name, cls in GENERATE_MODELS.items():
            torch.manual_seed(0)
            model = cls(**PAPER_SIZE).eval()
            generator = torch.Generator().manual_seed(0)

            def gen(batch: Batch, model=model, generator=generator) -> None:
                with torch.no_grad():
                    model.generate(batch, DecodingConfig(), generator)

            used = batches[:ROTATING_AR_BATCHES] if name == "generate_ar_greedy" else batches
            seconds[name] = fastest_per_batch(gen, used, 1)
    return seconds


def rotating_run(data_cfg: Mapping[str, Any] | None, refs: ReferenceSet, threads: int = 2,
                 count: int = ROTATING_BATCHES, pages: int = BATCH_PAGES) -> dict[str, Any] | None:
    """The figures over :data:`ROTATING_BATCHES` consecutive batches, as training sees shapes change,
    beside ``refs.rotating`` (None when that set has none): :func:`rotating_seconds` averaged over
    the batches. The official code pads each page to its batch's longest, so one batch with a long
    page says little about training."""
    if refs.rotating is None:
        return None
    batches, source = load_batches(data_cfg, count, pages)
    rows = {}
    for name, per_batch in rotating_seconds(batches, threads).items():
        s = statistics.mean(per_batch)
        rows[name] = _row(name, pages / s if refs.rotating[name].higher_is_better else s, refs.rotating)
    return {"pages": source, "batches": len(batches), "elements_per_batch": [int(b.num_nodes) for b in batches],
            "figures": rows}


def fastest_per_batch(fn: Callable[[Batch], Any], batches: list[Batch], tries: int) -> list[float]:
    """Per batch, the fastest of ``tries`` calls (after one warm-up call)."""
    fn(batches[0])
    best = []
    for batch in batches:
        times = []
        for _ in range(tries):
            t0 = time.perf_counter()
            fn(batch)
            times.append(time.perf_counter() - t0)
        best.append(min(times))
    return best


def format_table(result: Mapping[str, Any]) -> str:
    """Markdown table of :func:`run`'s figures, with its provenance lines."""
    lines = [
        f"Pages: {result['pages']} ({result['batch_pages']} pages, {result['batch_elements']} elements); "
        f"{result['threads']} threads; {result['precision']}; dropout masks: {result.get('dropout_rng', 'torch')}.",
        f"Reference: {result['reference']}"
        + ("." if result.get("like_reference_machine", True) else " (not this kind of machine: the ratios do not compare)."),
        "",
        "| measure | official | colorgen before | colorgen now | x official | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in result["figures"].items():
        lines.append(
            f"| {name} ({row['unit']}) | {row['official']:.3g} | {_or_dash(row['colorgen_before'])} | "
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
