import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

# tests compose with hydra's compose API: the typed groups must be in the ConfigStore first
from colorgen.config_schema import register_configs  # noqa: E402

register_configs()
