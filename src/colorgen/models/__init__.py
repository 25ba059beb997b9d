"""Colour models: Stats, AR, NAR, CVAE generators and the residual upsampler."""

from colorgen.models.ar import AR
from colorgen.models.base import Colors, Generator, StyleLogits, Upsampler
from colorgen.models.content_encoder import ContentEncoder
from colorgen.models.cvae import CVAE
from colorgen.models.nar import NAR
from colorgen.models.stats import Stats
from colorgen.models.upsampler import ColorUpsampler

__all__ = [
    "AR",
    "CVAE",
    "NAR",
    "ColorUpsampler",
    "Colors",
    "ContentEncoder",
    "Generator",
    "Stats",
    "StyleLogits",
    "Upsampler",
]
