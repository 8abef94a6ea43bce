"""Command-line flags shared by several commands, derived from ``TrainConfig`` so they never drift."""

import argparse
import sys
from dataclasses import fields, replace

from engine.config import TrainConfig
from engine.paths import DATA_ENV
from engine.testsets import files_left_out


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    group = parser.add_argument_group("training options")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        meta, default = f.metadata, getattr(defaults, f.name)
        help_text = f"{meta['help']} (default: {default:g})" if isinstance(default, float) else f"{meta['help']} (default: {default})"
        if isinstance(default, bool):
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            group.add_argument(flag, dest=f.name, type=type(default), choices=meta["choices"], default=None,
                               metavar=None if meta["choices"] else f.name.upper(), help=help_text)


def config_from_args(args, base: TrainConfig | None = None) -> TrainConfig:
    """The config with every flag the user gave applied on top of ``base`` (default: the defaults)."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    return replace(base or TrainConfig(), **given).validate()


def print_left_out(skipped) -> None:
    """On stderr, the user's files that could not be read, each with why."""
    if skipped:
        print(f"note: {files_left_out(skipped)}:", *skipped, sep="\n  ", file=sys.stderr)


def failure_line(path: str, error: str) -> str:
    """One line for a file that could not be read: its name once (a reader's message may begin with it)."""
    return error if error.startswith(str(path)) else f"{path}: {error}"


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"folder holding the dataset's IDX files (also ${DATA_ENV}); otherwise the user "
                             "data folder, system folders and the bundled copy are searched, then it is downloaded")


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help="checkpoint to use (default: the shipped model)")
