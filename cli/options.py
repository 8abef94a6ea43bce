"""Command-line flags shared by several commands, derived from ``TrainConfig`` so they never drift."""

import argparse
import io
import sys
from dataclasses import fields, replace

from engine.config import TrainConfig
from engine.paths import DATA_ENV
from engine.preprocess import read_image
from engine.testsets import files_left_out


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    group = parser.add_argument_group("training options")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        meta, default = f.metadata, getattr(defaults, f.name)
        shown = f"{default:g}" if isinstance(default, float) else default if default != "" else "none"
        help_text = f"{meta['help']} (default: {shown})"
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


STDIN = "-"  # an IMAGE argument: the picture piped in, as `xclip -o -t image/png | … predict -`


def input_name(path: str) -> str:
    return "standard input" if path == STDIN else path


def read_image_argument(path: str):
    """An IMAGE argument's picture, read as the app reads a file it opens, or a pasted picture."""
    if path != STDIN:
        return read_image(path)
    if sys.stdin.isatty():
        raise ValueError(f"{input_name(path)}: a terminal, not a picture (pipe one in, e.g. `< digit.png`)")
    data = sys.stdin.buffer.read()
    if not data:
        raise ValueError(f"{input_name(path)}: nothing was piped in (give a picture, e.g. `< digit.png`)")
    return read_image(io.BytesIO(data), name=input_name(path))


def failure_line(path: str, error: str) -> str:
    """One line for a file that could not be read: its name once (a reader's message may begin with it)."""
    name = input_name(path)
    return error if error.startswith(name) else f"{name}: {error}"


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"folder holding the dataset's IDX files (also ${DATA_ENV}); otherwise the user "
                             "data folder, system folders and the bundled copy are searched, then it is downloaded")


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help="checkpoint to use (default: the shipped model)")
