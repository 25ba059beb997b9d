"""``python -m colorgen.convert <official.ckpt> <out.pt>``: an official WebColor checkpoint as a colorgen one.

Every colorgen entry point already reads official ``.ckpt`` files directly; converting once
gives a small file (no optimizer state) that no longer needs the ``config.yaml`` beside it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch
from rich.logging import RichHandler

from colorgen.models.official import is_official_checkpoint
from colorgen.training.checkpoint import load_checkpoint, save_checkpoint

log = logging.getLogger("colorgen.convert")


def convert(src: str | Path, dst: str | Path) -> dict:
    """Convert ``src`` (an official Lightning checkpoint) into a colorgen checkpoint at ``dst``."""
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"official checkpoint {src} not found")
    if not is_official_checkpoint(torch.load(src, map_location="cpu", weights_only=True)):
        raise ValueError(f"{src} is not an official WebColor Lightning checkpoint (no state_dict / pytorch-lightning_version)")
    ckpt = load_checkpoint(src)
    save_checkpoint(dst, {k: v for k, v in ckpt.items() if k != "format"})
    return ckpt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m colorgen.convert", description=__doc__.splitlines()[0])
    parser.add_argument("official_ckpt", type=Path, help="official last.ckpt / best.ckpt (config.yaml beside it)")
    parser.add_argument("out", type=Path, help="colorgen checkpoint to write (.pt)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(show_path=False)])
    ckpt = convert(args.official_ckpt, args.out)
    model = ckpt["config"]["model"]
    log.info("wrote %s: %s (%s), %d tensors, step %d", args.out, model["name"], model["_target_"], len(ckpt["model"]), ckpt["step"])


if __name__ == "__main__":
    main()
