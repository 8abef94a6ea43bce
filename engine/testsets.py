"""Test sets the user brings: a folder of pictures with one subfolder per digit (``0/``, ``1/``, …, as a
teacher sorts a class's scanned digits), or pen trajectories in a UNIPEN file (the format of the pen
digits the model trained on, e.g. the writers of the UCI set's test part).

Each is read as the app reads its kind of input, so a score here is what those digits would get in
the app: pictures through ``read_image`` and ``prepare_digits``, as Open and ``predict`` read a file
(a picture of a number is left out and named: its folder gives one digit's label);
trajectories drawn as the held-out pen writers are. Every digit is a test digit, none is for training.
"""

from pathlib import Path

import numpy as np
import torch

from engine import paths
from engine.datasets import DIGITS, Dataset
from engine.idx import DatasetError
from engine.pendigits import draw_file_for_testing
from engine.preprocess import prepare_digits, read_image


def load_test_set(path, progress=None) -> Dataset:
    """The digits in a folder of pictures sorted by digit, or in a UNIPEN file, as a test set named
    after it. Pictures that cannot be read or hold no ink are left out and listed in ``skipped``."""
    path = Path(path)
    if path.is_dir():
        return _picture_folder(path, progress)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    return _pen_file(path, progress)


def files_left_out(skipped) -> str:
    """'1 file left out' / 'N files left out', for the messages about a set's unreadable files."""
    return "1 file left out" if len(skipped) == 1 else f"{len(skipped)} files left out"


def left_out_note(skipped) -> str:
    """One line for a status bar about the unreadable files, the first of them with why; "" when none."""
    if not skipped:
        return ""
    return f"{files_left_out(skipped)}: {skipped[0]}" if len(skipped) == 1 else f"{files_left_out(skipped)}, the first: {skipped[0]}"


def _as_dataset(name: str, images: np.ndarray, labels: np.ndarray, sources: list[str],
                skipped: tuple[str, ...] = (), writers: np.ndarray | None = None) -> Dataset:
    empty = torch.empty(0, 28, 28, dtype=torch.uint8)
    return Dataset(name, DIGITS, empty, torch.empty(0, dtype=torch.int64), torch.from_numpy(images),
                   torch.from_numpy(labels), test_sources=tuple(sources), skipped=skipped,
                   test_groups=None if writers is None else torch.from_numpy(writers))


def _picture_folder(folder: Path, progress) -> Dataset:
    files = [(f, int(sub.name)) for sub in sorted(folder.iterdir()) if sub.is_dir() and sub.name in DIGITS
             for f in sorted(sub.iterdir()) if f.is_file() and f.suffix.lower() in paths.IMAGE_SUFFIXES]
    if not files:
        raise DatasetError(f"{folder}: no pictures in subfolders named 0 to 9 (one subfolder per digit, "
                           f"files ending in {', '.join(paths.IMAGE_SUFFIXES)})")
    images, labels, sources, skipped = [], [], [], []
    for i, (file, label) in enumerate(files):
        try:
            digits = prepare_digits(read_image(file))
        except ValueError as exc:  # read_image names the file and says what is wrong with it
            skipped.append(str(exc))
        else:
            prepared = digits[0]
            if len(digits) > 1:  # its label is one digit's: a number would be scored (or learned) squeezed into one
                skipped.append(f"{file}: {len(digits)} digits side by side, not one (crop it to one digit)")
            elif prepared.empty:
                skipped.append(f"{file}: {prepared.message}")
            else:
                images.append(np.round(prepared.pixels * 255).astype(np.uint8))
                labels.append(label)
                sources.append(str(file))
        if progress and (i % 50 == 49 or i == len(files) - 1):
            progress(f"reading the pictures in {folder.name}", i + 1, len(files), "files")
    if not images:
        raise DatasetError(f"{folder}: none of its {len(files)} pictures could be read ({skipped[0]})")
    return _as_dataset(folder.name, np.stack(images), np.array(labels, np.int64), sources, tuple(skipped))


def _pen_file(path: Path, progress) -> Dataset:
    # Never empty: a file without digits is an error of the parser's.
    digits, drawn = draw_file_for_testing(path, paths.cache_dir(), progress and (
        lambda _what, done, total, unit: progress(f"drawing the pen digits of {path.name}", done, total, unit)))
    sources = [f"{path.name}, writer {d.writer}, digit {i + 1}" for i, d in enumerate(digits)]
    return _as_dataset(path.name, drawn.images, drawn.labels, sources, writers=drawn.writers)
