"""The training loop: one plain PyTorch loop that can be read top to bottom.

``run(cfg, run_dir)`` loads the splits, builds the model and calls :func:`fit`, which

1. seeds everything, builds AdamW, and (``trainer.resume``) restores ``last.pt``:
   weights, optimizer, step, best metric and every RNG state;
2. streams batches whose order is a pure function of ``(seed, epoch)``, so a resumed
   run sees exactly the batches the uninterrupted run would have seen;
3. steps: loss -> backward -> gradient clipping -> AdamW;
4. every ``val_every`` steps (and at the end) validates and writes ``best.pt`` /
   ``last.pt`` atomically. ``best.pt`` follows ``trainer.select_best``: ``forward`` (the
   official rule) = RGB accuracy of ``forward_logits()`` (teacher-forced for AR, a
   posterior z for CVAE), averaged over batches weighted by pages as Lightning's epoch
   metric ``val/acc_rgb`` is; ``generate`` = RGB accuracy of free-running greedy
   ``generate()``. The upsampler is picked by validation loss (lower is better) either way.

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

import torch
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torch_geometric.loader import DataLoader

from colorgen.decoding import DecodingConfig
from colorgen.metrics import accuracy
from colorgen.models.base import scored, target_classes

from .checkpoint import build_model, checkpoint_paths, load_checkpoint, save_checkpoint
from .loggers import make_logger
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


SELECT_BEST = ("forward", "generate")


def target_metric(kind: str, select_best: str = "forward") -> tuple[str, str]:
    """The validation metric that picks ``best.pt`` and whether higher or lower is better."""
    if select_best not in SELECT_BEST:
        raise ValueError(f"trainer.select_best={select_best!r}; choose from {SELECT_BEST}")
    if kind == "upsampler":
        return "val/loss", "min"
    return ("val/forward_rgb_acc", "max") if select_best == "forward" else ("val/rgb_acc", "max")


@torch.no_grad()
def validate(model: nn.Module, dataset: Sequence, batch_size: int, device: torch.device,
             seed: int, max_pages: int | None = None, select_best: str = "forward") -> dict[str, float]:
    """Validation loss (where the model has one) and, for generators, the accuracy that
    ``select_best`` names: ``forward`` (``val/forward_{rgb,alpha}_acc``) or greedy
    ``generate`` (``val/{rgb,alpha}_acc``)."""
    target_metric(model_kind(model), select_best)  # validates the rule
    kind = model_kind(model)
    if max_pages is not None:
        dataset = dataset[: int(max_pages)]
    was_training = model.training
    model.eval()
    greedy = DecodingConfig()
    gen = torch.Generator(device=device).manual_seed(seed)
    losses: dict[str, float] = {}
    weighted: dict[str, float] = {}  # forward accuracy x pages, summed over batches
    n_graphs = 0
    preds, targets = {"rgb": [], "alpha": []}, {"rgb": [], "alpha": []}
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            batch = batch.to(device)
            if kind != "stats":
                for k, v in model.loss(batch).items():
                    losses[k] = losses.get(k, 0.0) + float(v) * batch.num_graphs
            n_graphs += batch.num_graphs
            if kind != "upsampler" and select_best == "forward":
                logits = model.forward_logits(batch)
                rgb_t, alpha_t = target_classes(batch)
                for part, tgt, text, bg in (("rgb", rgb_t, logits.text_rgb, logits.bg_rgb),
                                            ("alpha", alpha_t, logits.text_alpha, logits.bg_alpha)):
                    acc = accuracy(scored(batch, text, bg).argmax(-1).cpu(), tgt.cpu())
                    weighted[part] = weighted.get(part, 0.0) + acc * batch.num_graphs
            elif kind != "upsampler":
                colors = model.generate(batch, greedy, generator=gen)
                rgb_t, alpha_t = target_classes(batch)
                preds["rgb"].append(scored(batch, colors.text_rgb, colors.bg_rgb).cpu())
                preds["alpha"].append(scored(batch, colors.text_alpha, colors.bg_alpha).cpu())
                targets["rgb"].append(rgb_t.cpu())
                targets["alpha"].append(alpha_t.cpu())
    model.train(was_training)
    out = {f"val/{k}": v / max(n_graphs, 1) for k, v in losses.items()}
    if kind != "upsampler" and select_best == "forward":
        out["val/forward_rgb_acc"] = weighted.get("rgb", float("nan")) / max(n_graphs, 1)
        out["val/forward_alpha_acc"] = weighted.get("alpha", float("nan")) / max(n_graphs, 1)
    elif kind != "upsampler":
        out["val/rgb_acc"] = accuracy(torch.cat(preds["rgb"]), torch.cat(targets["rgb"]))
        out["val/alpha_acc"] = accuracy(torch.cat(preds["alpha"]), torch.cat(targets["alpha"]))
    return out


def is_better(value: float, best: float | None, mode: str) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value > best if mode == "max" else value < best


# ---------------------------------------------------------------------------- the loop


def run(cfg: DictConfig, run_dir: str | Path, progress: Progress | None = None) -> TrainResult:
    """Load the train / val splits, build the model from ``cfg.model`` and train it."""
    from colorgen.data.dataset import load_split  # the data layer is only needed for real runs

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
    device = _device(str(tr.get("device", "auto")))
    if tr.get("num_threads"):
        torch.set_num_threads(int(tr.num_threads))
    model.to(device)
    kind = model_kind(model)
    select_best = str(tr.get("select_best", "forward"))
    metric_name, mode = target_metric(kind, select_best)
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
        if kind == "stats" or step >= max_steps or ckpt.get("stopped") == "max_minutes":
            # a finished run (Stats, max_steps, or the time cap) is reused, not trained further
            log.info("%s already trained (%s at step %d): reusing %s", name, ckpt.get("stopped"), step, last_path)
            return TrainResult(step, float("nan") if best is None else float(best), metric_name,
                               dict(ckpt.get("metrics") or {}), best_path, last_path, jsonl_path, 0.0)
        set_rng_state(ckpt["rng"])
        log.info("resumed %s from %s at step %d (best %s = %s)", name, last_path, step, metric_name, best)
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
        metrics = validate(model, val_set, batch_size, device, seed, tr.get("val_max_pages"), select_best)
        logger.log(metrics, step)
        value = float(metrics.get(metric_name, float("nan")))
        state = {"config": config, "model": model.state_dict(), "step": step, "rng": get_rng_state(),
                 "metric_name": metric_name, "metric_mode": mode, "metrics": metrics, "stopped": stopped,
                 "train_seconds": round(prior_seconds + time.monotonic() - t_start, 2)}
        if is_better(value, best, mode):
            best = value
            save_checkpoint(best_path, {**state, "optimizer": None, "best_metric": best})
            log.info("step %d: new best %s = %.4f -> %s", step, metric_name, best, best_path)
        opt_state = optimizer.state_dict() if optimizer is not None else None
        save_checkpoint(last_path, {**state, "optimizer": opt_state, "best_metric": best})
        if progress is not None:
            progress.update(step, metrics)
        return metrics

    metrics: dict[str, float] = {}
    t_start = time.monotonic()
    first_step = step
    try:
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
                batch = next(stream).to(device)
                step += 1
                lr = lr_at(step, tr)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                out = model.loss(batch)
                optimizer.zero_grad(set_to_none=True)
                out["loss"].backward()
                if grad_clip:
                    norm = torch.nn.utils.clip_grad_norm_(params, float(grad_clip))
                    window["grad_norm"] = window.get("grad_norm", 0.0) + float(norm)
                optimizer.step()

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
    elapsed = time.monotonic() - t_start
    steps_per_sec = (step - first_step) / elapsed if kind != "stats" and elapsed > 0 else 0.0
    log.info("%s done at step %d in %.1f s: %s = %s (best %s)", name, step, elapsed, metric_name,
             metrics.get(metric_name), best)
    return TrainResult(step, float("nan") if best is None else float(best), metric_name, metrics,
                       best_path, last_path, jsonl_path, steps_per_sec)


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
