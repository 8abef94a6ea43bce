"""`info`: versions, compute devices, and the default model with its metrics."""

import platform
import sys

import numpy as np
import torch

from engine import __version__
from engine.checkpoint import CheckpointError, describe, load_checkpoint
from engine.datasets import REGISTRY, DatasetError, locate, pen_file
from engine.pendigits import CITATION as PEN_CITATION
from engine.device import available_devices
from engine.logs import log_path
from engine.paths import cache_dir, default_model_path, user_data_dir


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="versions, devices and the default model")
    p.set_defaults(handler=run)


def run(_args) -> int:
    print(f"Digit Studio {__version__}")
    print(f"Python {platform.python_version()}, PyTorch {torch.__version__}, NumPy {np.__version__}")
    print("devices:")
    for line in available_devices():
        print(f"  {line}")
    print(f"user data folder: {user_data_dir()}  (runs, models, personal samples)")
    print(f"cache folder: {cache_dir()}  (downloaded datasets, drawn pen digits: safe to delete)")
    print(f"log file: {log_path()}")
    print("datasets:")
    for name, spec in REGISTRY.items():
        folder = locate(spec)
        print(f"  {name}: {folder if folder else 'not found (downloads on first use)'}")
        print(f"    {spec.citation}")
    try:
        print(f"  pen digits: {pen_file()}")
    except DatasetError as exc:
        print(f"  pen digits: {exc}")
    print(f"    {PEN_CITATION}")
    path = default_model_path()
    try:
        meta = load_checkpoint(path).metadata
    except CheckpointError as exc:
        print(f"default model: unavailable ({exc})", file=sys.stderr)
        return 1
    print(f"default model: {path}\n  {describe(meta)}, created {meta.get('created', '?')}")
    return 0
