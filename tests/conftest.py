"""Shared fixtures. Tests never touch the network or the real user data folder."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.datasets import Dataset, load_dataset  # noqa: E402
from engine.idx import write_idx  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own empty user data folder and no dataset override."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("DIGIT_STUDIO_HOME", str(home))
    monkeypatch.delenv("DIGIT_STUDIO_DATA", raising=False)
    return home


@pytest.fixture(autouse=True)
def widgets_collected_after_each_test(request):
    """A test's windows are freed when it ends, not whenever Python's cycle collector next runs: run in the
    middle of a Qt call that holds a connection lock (pyqtgraph reparenting an item, which disconnects a
    signal and asks Python for an override), the collector deleting an old window waited on that same lock
    for ever (seen once in a full run)."""
    yield
    if "qtbot" in request.fixturenames:
        import gc

        gc.collect()


@pytest.fixture(scope="session")
def mnist() -> Dataset:
    return load_dataset("mnist")


def subset(data: Dataset, n_train: int, n_test: int) -> Dataset:
    return Dataset(data.name, data.class_names, data.train_images[:n_train], data.train_labels[:n_train],
                   data.test_images[:n_test], data.test_labels[:n_test])


@pytest.fixture(scope="session")
def small_mnist(mnist) -> Dataset:
    return subset(mnist, 4000, 1000)


def write_dataset_folder(folder: Path, data: Dataset) -> Path:
    """Write a dataset as the four gzipped IDX files the registry looks for."""
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", data.train_images.numpy())
    write_idx(folder / "train-labels-idx1-ubyte.gz", data.train_labels.numpy().astype(np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", data.test_images.numpy())
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", data.test_labels.numpy().astype(np.uint8))
    return folder


def tiny_pen_file(path: Path, per_writer: int = 12) -> Path:
    """A small pen-digits file: the first digits of four training writers and one test writer."""
    import gzip

    from engine.datasets import pen_file
    from engine.pendigits import TEST_WRITERS

    head, *segments = gzip.decompress(pen_file().read_bytes()).decode().split(".SEGMENT")
    kept, counts = [], {}
    for segment in segments:
        writer = int(segment.split(".COMMENT", 1)[1].split()[1])
        if writer in (1, 2, 3, 4, TEST_WRITERS[0]) and counts.get(writer, 0) < per_writer:
            counts[writer] = counts.get(writer, 0) + 1
            kept.append(".SEGMENT" + segment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress((head + "".join(kept)).encode()))
    return path


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory, mnist) -> Path:
    """A small MNIST-format folder (1,024 train / 512 test) with a small pen-digits file (48 training
    and 12 test digits), for fast command-line and app runs."""
    folder = write_dataset_folder(tmp_path_factory.mktemp("tiny") / "mnist", subset(mnist, 1024, 512))
    tiny_pen_file(folder / "pendigits-orig.tra.gz")
    return folder


@pytest.fixture(scope="session")
def your_pictures(tmp_path_factory) -> Path:
    """A folder as a teacher sorts scanned digits: subfolders 0-9 of pictures (40 pen digits of a test
    writer, drawn dark on white, and a 7 filed under 2), with a file that is not a picture, a blank one,
    and stray files and folders that are not digits."""
    from PIL import Image

    from engine.datasets import pen_file
    from engine.pendigits import TEST_WRITERS, draw, parse_unipen

    folder = tmp_path_factory.mktemp("your") / "class-3b"
    digits = [d for d in parse_unipen(pen_file()) if d.writer == TEST_WRITERS[0]][:40]
    for i, digit in enumerate(digits):
        (folder / str(digit.label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(draw(digit, None, 18.0)).save(folder / str(digit.label) / f"{i}.png")
    seven = next(d for d in digits if d.label == 7)
    Image.fromarray(draw(seven, None, 18.0)).save(folder / "2" / "misfiled-7.png")  # read as 7: a mistake, surely
    (folder / "3" / "broken.png").write_bytes(b"not a picture")
    Image.new("L", (60, 60), 255).save(folder / "4" / "blank.png")
    (folder / "notes").mkdir()
    (folder / "readme.txt").write_text("sorted by digit")
    return folder


def mnist_digit_as_drawing(image_uint8: torch.Tensor, size: int = 280) -> np.ndarray:
    """An MNIST digit rendered like a canvas drawing: dark ink on white, size×size pixels."""
    from PIL import Image

    big = Image.fromarray(image_uint8.numpy()).resize((size, size), Image.Resampling.BICUBIC)
    return 255 - np.asarray(big)
