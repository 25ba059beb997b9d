"""The training loop: one plain PyTorch loop that can be read top to bottom.

``run(cfg, run_dir)`` loads the splits, builds the model and calls :func:`fit`, which

1. seeds everything, builds AdamW, and (``trainer.resume``) restores ``last.pt``:
   weights, optimizer, step, best metric and every RNG state;
2. streams batches whose order is a pure function of ``(seed, epoch)``, so a resumed
   run sees exactly the batches the uninterrupted run would have seen; ``trainer.augment``
   recolours them on the fly (:mod:`.augment`, seeded by ``(seed, step)``);
3. steps: loss (with the ``trainer.loss`` switches, :mod:`.losses`, and the tree-encoder
   regularisation of ``trainer.encoder_reg``, :mod:`.regularize`; opt-in cheaper steps of
   ``trainer.dropout_rng`` / ``trainer.precision``, :mod:`.fast`) -> backward -> gradient
   clipping -> AdamW (-> the weight average of ``trainer.ema``, :mod:`.ema`);
4. every ``val_every`` steps (and at the end) validates (the average when there is one;
   :func:`validate`: loss, forward
   accuracy and the table's generation metrics, macro F and FCD, no browser) and writes
   ``best.pt`` / ``last.pt`` atomically. ``best.pt`` follows ``trainer.select_best`` (see
   :data:`SELECT_RULES`): ``forward`` (the official rule, default) = RGB accuracy of
   ``forward_logits()`` (teacher-forced for AR, a posterior z for CVAE), averaged over batches
   weighted by pages as Lightning's epoch metric ``val/acc_rgb`` is; ``generate`` = RGB
   accuracy of free-running greedy ``generate()``; ``f1`` / ``f1_present`` = its macro F RGB;
   ``fcd`` = its FCD relative to the real floor; ``score`` = :func:`validation_score`. The
   upsampler is picked by validation loss (lower is better) either way.

Stats is not optimised: one counting pass (``model.fit(loader)``), then the same
validation and checkpoints. Validation runs inside ``torch.random.fork_rng`` so it never
changes the training RNG stream.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import nn
from torch_geometric.loader import DataLoader

from colorgen.data.fingerprint import recorded_digest
from colorgen.decoding import DecodingConfig
from colorgen.evaluation import Generated, generate_split, score
from colorgen.metrics import accuracy
from colorgen.models.base import scored, target_classes

from .augment import augment_batch
from .checkpoint import build_model, checkpoint_paths, load_checkpoint, save_checkpoint
from .ema import WeightAverage
from .fast import PRECISIONS, training_precision, use_dropout_rng
from .loggers import make_logger
from .losses import loss_options, options_from_cfg
from .regularize import attach_encoder_regularisation
from .seed import get_rng_state, seed_everything, set_rng_state

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What the loop reports to (a rich progress bar in the entry point, or nothing)."""

    def start(self, total: int, completed: int, description: str) -> None: ...
    def update(self, step: int, metrics: Mapping[str, float]) -> None: ...


@dataclass
class TrainResult:
    """Where a run ended and what it wrote."""

    step: int
    best_metric: float
    metric_name: str
    metrics: dict[str, float]
    best_path: Path
    last_path: Path
    jsonl_path: Path
    steps_per_sec: float


# ---------------------------------------------------------------------------- data order


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """This epoch's batches of dataset indices: a permutation seeded by ``seed + epoch``."""
    gen = torch.Generator().manual_seed(seed + epoch)
    perm = torch.randperm(n, generator=gen).tolist()
    return [perm[i : i + batch_size] for i in range(0, n, batch_size)]


def batch_stream(dataset: Sequence, batch_size: int, seed: int, start_step: int = 0,
                 num_workers: int = 0) -> Iterator[Any]:
    """Endless training batches, starting at batch number ``start_step`` of the global order."""
    if len(dataset) == 0:
        raise ValueError("the training split is empty")
    per_epoch = math.ceil(len(dataset) / batch_size)
    epoch, skip = divmod(start_step, per_epoch)
    while True:
        order = epoch_batches(len(dataset), batch_size, seed, epoch)[skip:]
        # a private generator: creating a DataLoader iterator draws a seed from it, and drawing
        # from the global RNG would make a resumed run's dropout masks differ
        private = torch.Generator().manual_seed(seed + epoch)
        yield from DataLoader(dataset, batch_sampler=order, num_workers=num_workers, generator=private)
        epoch, skip = epoch + 1, 0


# ---------------------------------------------------------------------------- validation


def model_kind(model: nn.Module) -> str:
    """``stats`` (counted, not optimised), ``upsampler`` (residuals) or ``generator``."""
    if hasattr(model, "fit"):
        return "stats"
    if hasattr(model, "residuals"):
        return "upsampler"
    return "generator"


# trainer.select_best -> (validation metric that picks best.pt, whether higher or lower is better)
SELECT_RULES: dict[str, tuple[str, str]] = {
    "forward": ("val/forward_rgb_acc", "max"),  # official: accuracy of forward() logits
    "generate": ("val/rgb_acc", "max"),  # free-running greedy generation accuracy
    "f1": ("val/f1_rgb", "max"),  # the table's macro F RGB (all 512 classes)
    "f1_present": ("val/f1_rgb_present", "max"),  # macro F RGB over present classes
    "fcd": ("val/fcd_ratio", "min"),  # mean of BG- and Text-FCD over their real-data floors
    "score": ("val/score", "max"),  # acc_rgb * f1_rgb / fcd_ratio, see validation_score
}
SELECT_BEST = tuple(SELECT_RULES)
GENERATION_RULES = ("generate", "f1", "f1_present", "fcd", "score")
FCD_RULES = ("fcd", "score")


def target_metric(kind: str, select_best: str = "forward") -> tuple[str, str]:
    """The validation metric that picks ``best.pt`` and whether higher or lower is better."""
    if select_best not in SELECT_RULES:
        raise ValueError(f"trainer.select_best={select_best!r}; choose from {SELECT_BEST}")
    if kind == "upsampler":
        return "val/loss", "min"
    return SELECT_RULES[select_best]


def validation_halves(n_pages: int) -> np.ndarray:
    """Which validation pages play test2 (generated) in FCD: the second half, in split order.

    Why: the test protocol compares real test1 pages with generated test2 pages, two disjoint
    page sets (the split lists a site's pages together, so the halves share few sites);
    the first ``ceil(n / 2)`` validation pages are the real side, the rest the generated side.
    """
    return np.arange(n_pages) >= (n_pages + 1) // 2


def validation_score(metrics: Mapping[str, float]) -> tuple[float, float]:
    """``(fcd_ratio, score)`` from eval-style metrics (NaN where FCD could not be computed).

    ``fcd_ratio`` = mean of BG-FCD / its real floor and Text-FCD / its real floor (1 = as close
    as two real page sets; the issue's targets are <= 2 and <= 1.25). ``score`` =
    ``acc_rgb * f1_rgb / fcd_ratio``: each factor counts by its relative change (halving the
    FCD ratio is worth doubling macro F), so neither the commonest colours (accuracy) nor
    diversity alone wins.
    """
    keys = ("fcd_bg", "fcd_bg_real", "fcd_text", "fcd_text_real")
    if not all(k in metrics for k in keys):
        return float("nan"), float("nan")
    ratio = 0.5 * (metrics["fcd_bg"] / max(metrics["fcd_bg_real"], 1e-9)
                   + metrics["fcd_text"] / max(metrics["fcd_text_real"], 1e-9))
    return ratio, metrics["acc_rgb"] * metrics["f1_rgb"] / max(ratio, 1e-9)


def generate_validation(model: nn.Module, dataset: Sequence, batch_size: int, device: torch.device,
                        seed: int) -> Generated:
    """Greedy colours of every validation page exactly as eval makes them (:func:`generate_split`),
    with the pages :func:`validation_halves` marks as test2."""
    g = generate_split(model, dataset, DecodingConfig(), seed, batch_size, device=device)
    g.is_test2 = validation_halves(len(g.page_ids))
    return g


def generation_metrics(g: Generated) -> dict[str, float]:
    """``val/*`` metrics of generated validation pages, computed by eval's own :func:`score`."""
    m = score(g)
    names = {"acc_rgb": "rgb_acc", "acc_alpha": "alpha_acc"}
    skip = ("pages", "elements", "text_elements")
    out = {f"val/{names.get(k, k)}": float(v) for k, v in m.items() if k not in skip}
    out["val/fcd_ratio"], out["val/score"] = validation_score(m)
    return out


@torch.no_grad()
def validate(model: nn.Module, dataset: Sequence, batch_size: int, device: torch.device,
             seed: int, max_pages: int | None = None, select_best: str = "forward",
             generate: bool = True) -> dict[str, float]:
    """Validation metrics of a model on (the first ``max_pages`` of) the validation split.

    Every model with a loss: ``val/loss`` and its parts (plain cross-entropy: the training
    loss switches are off here). Generators also: ``val/forward_{rgb,alpha}_acc`` (accuracy of
    ``forward_logits()``, averaged over batches weighted by pages, as Lightning's epoch metric
    ``val/acc_rgb`` is) and, with ``generate`` (or a ``select_best`` rule that needs it), the
    table's metrics of greedy generation, through eval's :func:`colorgen.evaluation.score`:
    ``val/{rgb,alpha}_acc``, ``val/f1_{rgb,alpha}[_present]``, ``val/fcd_{bg,text}[_real]``
    (FCD between the two :func:`validation_halves`), ``val/fcd_ratio`` and ``val/score``.
    """
    kind = model_kind(model)
    target_metric(kind, select_best)  # validates the rule
    if max_pages is not None:
        dataset = dataset[: int(max_pages)]
    was_training = model.training
    model.eval()
    losses: dict[str, float] = {}
    weighted: dict[str, float] = {}  # forward accuracy x pages, summed over batches
    n_graphs = 0
    out: dict[str, float] = {}
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            batch = batch.to(device)
            if kind != "stats":
                for k, v in model.loss(batch).items():
                    losses[k] = losses.get(k, 0.0) + float(v) * batch.num_graphs
            n_graphs += batch.num_graphs
            if kind != "upsampler":
                logits = model.forward_logits(batch)
                rgb_t, alpha_t = target_classes(batch)
                for part, tgt, text, bg in (("rgb", rgb_t, logits.text_rgb, logits.bg_rgb),
                                            ("alpha", alpha_t, logits.text_alpha, logits.bg_alpha)):
                    acc = accuracy(scored(batch, text, bg).argmax(-1).cpu(), tgt.cpu())
                    weighted[part] = weighted.get(part, 0.0) + acc * batch.num_graphs
        if kind != "upsampler" and (generate or select_best in GENERATION_RULES) and len(dataset):
            out |= generation_metrics(generate_validation(model, dataset, batch_size, device, seed))
    model.train(was_training)
    out |= {f"val/{k}": v / max(n_graphs, 1) for k, v in losses.items()}
    if kind != "upsampler":
        out["val/forward_rgb_acc"] = weighted.get("rgb", float("nan")) / max(n_graphs, 1)
        out["val/forward_alpha_acc"] = weighted.get("alpha", float("nan")) / max(n_graphs, 1)
    return out


def is_better(value: float, best: float | None, mode: str) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value > best if mode == "max" else value < best


# ---------------------------------------------------------------------------- the loop


def with_model_recipe(cfg: DictConfig) -> DictConfig:
    """``cfg`` with ``trainer.per_model.<model name>`` merged over the trainer block (and the
    ``per_model`` table dropped), so a budget can give one model its own steps / schedule and
    the checkpoint records the recipe that ran."""
    per_model = cfg.trainer.get("per_model")
    if not per_model:
        return cfg
    out = cfg.copy()
    with open_dict(out):
        trainer = out.trainer
        own = per_model.get(str(cfg.model.name))
        del trainer["per_model"]
        if own:
            out.trainer = OmegaConf.merge(trainer, own)
    return out


def run(cfg: DictConfig, run_dir: str | Path, progress: Progress | None = None) -> TrainResult:
    """Load the train / val splits, build the model from ``cfg.model`` and train it."""
    from colorgen.data.dataset import load_split  # the data layer is only needed for real runs

    cfg = with_model_recipe(cfg)
    seed_everything(int(cfg.trainer.seed))
    train_set = load_split(cfg.data, "train")
    val_set = load_split(cfg.data, "val")
    log.info("data %s: %d train / %d val pages", cfg.data.name, len(train_set), len(val_set))
    seed_everything(int(cfg.trainer.seed))  # model init must not depend on how data was loaded
    model = build_model(cfg.model)
    return fit(model, train_set, val_set, cfg, run_dir, progress)


def fit(model: nn.Module, train_set: Sequence, val_set: Sequence, cfg: DictConfig,
        run_dir: str | Path, progress: Progress | None = None) -> TrainResult:
    """Train ``model`` (already built after seeding) and write checkpoints + metrics."""
    tr = cfg.trainer
    seed, batch_size = int(tr.seed), int(tr.batch_size)
    max_steps, val_every, log_every = int(tr.max_steps), int(tr.val_every), int(tr.log_every)
    cfg = _with_absolute_ckpt_dir(cfg)
    name = str(cfg.model.name)
    best_path, last_path = checkpoint_paths(cfg.ckpt_dir, name)
    jsonl_path = best_path.parent / "metrics.jsonl"
    config = OmegaConf.to_container(cfg, resolve=True)
    data = cfg.get("data") or {}
    data_digest = recorded_digest(to_absolute_path(str(data["root"]))) if data.get("root") else None
    if data_digest:
        log.info("data content digest %s (from the extraction report)", data_digest)
    device = _device(str(tr.get("device", "auto")))
    if tr.get("num_threads"):
        torch.set_num_threads(int(tr.num_threads))
    model.to(device)
    kind = model_kind(model)
    select_best = str(tr.get("select_best", "forward"))
    metric_name, mode = target_metric(kind, select_best)
    val_generate = bool(tr.get("val_generate", True))
    _check_selection(kind, select_best, val_set, tr.get("val_max_pages"))
    loss_opts = options_from_cfg(tr.get("loss"), train_set) if kind == "generator" else None
    augment_cfg = tr.get("augment") if kind != "stats" else None
    precision = str(tr.get("precision", "fp32"))
    if precision not in PRECISIONS:
        raise ValueError(f"trainer.precision={precision!r}: choose from {PRECISIONS}")
    max_minutes = tr.get("max_minutes")
    deadline = None if max_minutes is None else time.monotonic() + 60.0 * float(max_minutes)

    # -- optimizer and (optionally) resume -----------------------------------------------
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = None
    if kind != "stats":
        optimizer = torch.optim.AdamW(params, lr=float(tr.lr), weight_decay=float(tr.weight_decay),
                                      betas=tuple(tr.get("betas", (0.9, 0.999))))
    step, best, prior_seconds = 0, None, 0.0
    resumed = bool(tr.get("resume", False)) and last_path.is_file()
    if resumed:
        ckpt = load_checkpoint(last_path, device)
        model.load_state_dict(ckpt["model"])
        if optimizer is not None and ckpt.get("optimizer") is not None:
            optimizer.load_state_dict(ckpt["optimizer"])
        step, best = int(ckpt["step"]), ckpt.get("best_metric")
        prior_seconds = float(ckpt.get("train_seconds") or 0.0)
        if kind == "stats" or step >= max_steps:
            # a finished run (Stats, max_steps) is reused; one the time cap stopped goes on to max_steps
            log.info("%s already trained (%s at step %d): reusing %s", name, ckpt.get("stopped"), step, last_path)
            return TrainResult(step, float("nan") if best is None else float(best), metric_name,
                               dict(ckpt.get("metrics") or {}), best_path, last_path, jsonl_path, 0.0)
        set_rng_state(ckpt["rng"])
        log.info("resumed %s from %s at step %d (best %s = %s)", name, last_path, step, metric_name, best)
    ema_decay = float(tr.get("ema", 0.0) or 0.0) if kind != "stats" else 0.0
    average = WeightAverage(model, ema_decay) if ema_decay else None
    if average is not None and resumed:
        if ckpt.get("ema") is None:
            raise ValueError(f"trainer.ema={ema_decay} but {last_path} holds no weight average (trained without it)")
        average.load_state_dict(ckpt["ema"])
    elif tr.get("resume", False):
        log.warning("trainer.resume=true but %s does not exist: starting from scratch", last_path)
    run_name = f"{name}-{cfg.data.name}-{Path(run_dir).name}"
    logger = make_logger(cfg.get("logger"), jsonl_path, run_dir, config, run_name,
                         resume_step=step if resumed else None)

    def validate_and_save(stopped: str | None = None) -> dict[str, float]:
        """Validate at the current step, log, write best (if better) and last.

        ``stopped`` names why training ended here (``fit`` / ``max_steps`` / ``max_minutes``).
        """
        nonlocal best
        scored_model = model if average is None else average.model  # what best.pt will hold
        metrics = validate(scored_model, val_set, batch_size, device, seed, tr.get("val_max_pages"), select_best,
                           val_generate)
        logger.log(metrics, step)
        value = float(metrics.get(metric_name, float("nan")))
        state = {"config": config, "model": model.state_dict(), "step": step, "rng": get_rng_state(),
                 "data_digest": data_digest,
                 "metric_name": metric_name, "metric_mode": mode, "metrics": metrics, "stopped": stopped,
                 "train_seconds": round(prior_seconds + time.monotonic() - t_start, 2)}
        if is_better(value, best, mode):
            best = value
            save_checkpoint(best_path, {**state, "model": scored_model.state_dict(), "optimizer": None,
                                        "best_metric": best})
            log.info("step %d: new best %s = %.4f -> %s", step, metric_name, best, best_path)
        opt_state = optimizer.state_dict() if optimizer is not None else None
        ema_state = average.state_dict() if average is not None else None
        save_checkpoint(last_path, {**state, "optimizer": opt_state, "best_metric": best, "ema": ema_state})
        if progress is not None:
            progress.update(step, metrics)
        return metrics

    metrics: dict[str, float] = {}
    reg_handle = None
    t_start = time.monotonic()
    first_step = step
    try:
        if kind != "stats":
            reg_handle = attach_encoder_regularisation(model, tr.get("encoder_reg"))
            use_dropout_rng(model, str(tr.get("dropout_rng", "torch")))
        if kind == "stats":
            # -- Stats: one counting pass over the training split, nothing to optimise ---
            model.fit(DataLoader(train_set, batch_size=batch_size, shuffle=False))
            step = 1
            metrics = validate_and_save(stopped="fit")
        else:
            # -- the optimisation loop ----------------------------------------------------
            if progress is not None:
                progress.start(max_steps, step, name)
            grad_clip = tr.get("grad_clip")
            window: dict[str, float] = {}
            window_n, window_pages, t_window = 0, 0, time.monotonic()
            stream = batch_stream(train_set, batch_size, seed, step, int(tr.num_workers))
            model.train()
            while step < max_steps:
                step += 1
                batch = augment_batch(next(stream), augment_cfg, seed, step).to(device)
                lr = lr_at(step, tr)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with loss_options(loss_opts), training_precision(precision, device):
                    out = model.loss(batch)
                optimizer.zero_grad(set_to_none=True)
                out["loss"].backward()
                if grad_clip:
                    norm = torch.nn.utils.clip_grad_norm_(params, float(grad_clip))
                    window["grad_norm"] = window.get("grad_norm", 0.0) + float(norm)
                optimizer.step()
                if average is not None:
                    average.update(model)

                for k, v in out.items():
                    window[k] = window.get(k, 0.0) + float(v.detach())
                window_n += 1
                window_pages += batch.num_graphs
                out_of_time = deadline is not None and time.monotonic() >= deadline
                last = step == max_steps or out_of_time
                if step % log_every == 0 or last:
                    dt = max(time.monotonic() - t_window, 1e-9)
                    row = {f"train/{k}": v / window_n for k, v in window.items()}
                    row.update({"train/lr": lr, "train/steps_per_sec": window_n / dt,
                                "train/pages_per_sec": window_pages / dt})
                    logger.log(row, step)
                    if progress is not None:
                        progress.update(step, row)
                    window, window_n, window_pages, t_window = {}, 0, 0, time.monotonic()
                if step % val_every == 0 or last:
                    stopped = "max_steps" if step == max_steps else "max_minutes" if out_of_time else None
                    metrics = validate_and_save(stopped)
                    t_window = time.monotonic()  # throughput counts training time only
                if out_of_time:
                    log.info("trainer.max_minutes=%s reached at step %d", max_minutes, step)
                    break
    finally:
        logger.close()
        if reg_handle is not None:
            reg_handle.remove()
    elapsed = time.monotonic() - t_start
    steps_per_sec = (step - first_step) / elapsed if kind != "stats" and elapsed > 0 else 0.0
    log.info("%s done at step %d in %.1f s: %s = %s (best %s)", name, step, elapsed, metric_name,
             metrics.get(metric_name), best)
    return TrainResult(step, float("nan") if best is None else float(best), metric_name, metrics,
                       best_path, last_path, jsonl_path, steps_per_sec)


def _check_selection(kind: str, select_best: str, val_set: Sequence, max_pages: int | None) -> None:
    """FCD-based rules need two validation halves of at least two pages each."""
    n = len(val_set) if max_pages is None else min(len(val_set), int(max_pages))
    if kind != "upsampler" and select_best in FCD_RULES and n < 4:
        raise ValueError(f"trainer.select_best={select_best} needs FCD on two halves of the validation "
                         f"split, i.e. at least 4 validation pages; there are {n}")


def lr_at(step: int, tr: Mapping[str, Any]) -> float:
    """Learning rate at a 1-based step: linear warm-up, then constant or cosine to ``min_lr``.

    A pure function of the step, so resuming needs no scheduler state.
    """
    base = float(tr["lr"])
    warmup = int(tr.get("warmup_steps", 0) or 0)
    if warmup and step <= warmup:
        return base * step / warmup
    if str(tr.get("schedule", "constant")) == "cosine":
        total = max(int(tr["max_steps"]) - warmup, 1)
        t = min(max(step - warmup, 0) / total, 1.0)
        lo = float(tr.get("min_lr", 0.0) or 0.0)
        return lo + 0.5 * (base - lo) * (1.0 + math.cos(math.pi * t))
    return base


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _with_absolute_ckpt_dir(cfg: DictConfig) -> DictConfig:
    """A copy of the config whose ``ckpt_dir`` is absolute (relative to the launch directory)."""
    cfg = cfg.copy()
    OmegaConf.set_readonly(cfg, False)
    OmegaConf.set_struct(cfg, False)
    cfg.ckpt_dir = to_absolute_path(str(cfg.ckpt_dir))
    return cfg
