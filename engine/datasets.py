"""The dataset registry: where each dataset is looked for, how it is loaded, and splits.

Datasets are read once into uint8 tensors (images N×28×28, labels N) and kept in memory; the
training loop moves them to its device and draws batches by index. Besides the IDX datasets there
are the real pen digits (``pen``: writers' trajectories drawn like canvas strokes) and ``mnist+pen``,
MNIST with the pen digits' training writers added; samples of one writer share a group id, so
validation and cross-validation hold out whole writers.
"""

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine import paths
from engine.download import DownloadError, Progress, download_verified
from engine.idx import DatasetError, read_image_label_pair
from engine import pendigits
from engine.preprocess import PreparedImage

SPLITS = ("train", "test")
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    short_title: str  # as a sentence or a legend names it: "MNIST"
    class_names: tuple[str, ...]
    mirrors: tuple[str, ...]
    # file stem -> accepted MD5s (of the official .gz, and of the decompressed content)
    checksums: dict
    system_dirs: tuple[Path, ...] = ()
    bundled: bool = False  # a copy ships in assets/<name>/
    citation: str = ""
    system_package: str = ""  # the Debian/Ubuntu package that installs it in system_dirs, if any


def stems_of(splits: tuple[str, ...]) -> tuple[str, ...]:
    """The files that hold these splits (images, then labels, for each)."""
    return tuple(stem for split in splits for stem in _FILES[split])


DIGITS = tuple(str(d) for d in range(10))


def are_digits(class_names) -> bool:
    """Whether these classes are the ten digits (a model of Fashion-MNIST's has no handwriting to learn)."""
    return tuple(class_names) == DIGITS


def class_noun(class_names) -> str:
    """What one class is called in captions: "digit", or "class" for sets of other things (Fashion-MNIST)."""
    return "digit" if are_digits(class_names) else "class"


def items_noun(class_names) -> str:
    """What the test images are called in captions: "digits", or "images" for sets of other things."""
    return "digits" if are_digits(class_names) else "images"

REGISTRY: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST handwritten digits",
        short_title="MNIST",
        class_names=DIGITS,
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://yann.lecun.com/exdb/mnist/"),
        checksums={
            "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
            "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"),
            "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
            "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
        },
        bundled=True,
        citation="MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST (Zalando)",
        short_title="Fashion-MNIST",
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        checksums={
            "train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
            "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"),
            "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
            "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
        },
        system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
        citation="Fashion-MNIST by Zalando Research (Xiao, Rasul, Vollgraf 2017), MIT licence",
        system_package="dataset-fashion-mnist",
    ),
}


PEN = "pen"
MIXED = "mnist+pen"
DATASET_NAMES = ("mnist", MIXED, PEN, "fashion-mnist")


@dataclass(frozen=True)
class Dataset:
    name: str
    class_names: tuple[str, ...]
    train_images: torch.Tensor  # uint8, N×28×28
    train_labels: torch.Tensor  # int64, N
    test_images: torch.Tensor
    test_labels: torch.Tensor
    # Writer of each training sample (-1: no writer known, e.g. MNIST); None when there are none.
    train_groups: torch.Tensor | None = None
    # Writer of each test sample, when the test set knows its writers (pen digits); else None.
    test_groups: torch.Tensor | None = None
    # A test set the user brought (engine/testsets.py): where each test sample came from, and the
    # files that were left out, each with why.
    test_sources: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    def split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if split == "train":
            return self.train_images, self.train_labels
        if split == "test":
            return self.test_images, self.test_labels
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")

    def test_input(self, index: int) -> PreparedImage:
        """Test image ``index`` as the network reads it in evaluation (28×28, ink 1), framed on itself."""
        pixels = self.test_images[index].numpy().astype(np.float32) / 255
        return PreparedImage(pixels, frame=(0.0, 0.0, 28.0, 28.0))


def get_spec(name: str) -> DatasetSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r}; choose from {', '.join(REGISTRY)}") from None


def _file_in(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _complete(folder: Path, splits: tuple[str, ...]) -> bool:
    return all(_file_in(folder, stem) for stem in stems_of(splits))


def _user_folders(data_dir, name: str) -> list[Path]:
    """The user's choice of data folder, then $DIGIT_STUDIO_DATA: each may be the dataset's own folder
    or hold one folder per dataset."""
    roots = [Path(data_dir)] if data_dir else []
    if os.environ.get(paths.DATA_ENV):
        roots.append(Path(os.environ[paths.DATA_ENV]))
    return [folder for root in roots for folder in (root, root / name)]


def search_dirs(spec: DatasetSpec, data_dir=None) -> list[Path]:
    """The folders looked in, in order: the user's choice, $DIGIT_STUDIO_DATA, the datasets cache,
    system-wide installs, then the copy bundled with the app."""
    candidates = _user_folders(data_dir, spec.name)
    candidates.append(paths.datasets_dir() / spec.name)
    candidates += list(spec.system_dirs)
    if spec.bundled:
        candidates.append(paths.assets_dir() / spec.name)
    return candidates


def locate(spec: DatasetSpec, data_dir=None, splits: tuple[str, ...] = SPLITS) -> Path | None:
    return next((d for d in search_dirs(spec, data_dir) if _complete(d, splits)), None)


def fetch(spec: DatasetSpec, dest: Path | None = None, progress: Progress | None = None,
          splits: tuple[str, ...] = SPLITS) -> Path:
    """Download the files of the dataset's ``splits`` (verified) into ``dest`` (default: the datasets cache)."""
    dest = dest or paths.datasets_dir() / spec.name
    for stem in stems_of(splits):
        if not _file_in(dest, stem):
            try:
                download_verified(f"{stem}.gz", spec.mirrors, spec.checksums[stem], dest, progress)
            except DownloadError as exc:
                raise DownloadError(f"{exc}\n{_offline_hint(spec, dest, splits)}") from None
    return dest


def _offline_hint(spec: DatasetSpec, dest: Path, splits: tuple[str, ...]) -> str:
    stems = stems_of(splits)
    files = ", ".join(f"{stem}.gz" for stem in stems)
    hint = f"Without a network, copy its {len(stems)} files ({files}) into {dest}"
    if spec.system_package:
        hint += f", or install the package {spec.system_package} (Debian, Ubuntu), which puts them in {spec.system_dirs[0]}"
    return hint + "; the command line also takes --data-dir FOLDER."


@functools.lru_cache(maxsize=4)
def _load_folder(folder: Path, name: str, class_names: tuple[str, ...], splits: tuple[str, ...] = SPLITS) -> Dataset:
    """The dataset's ``splits`` from the folder; a split not asked for is empty."""
    arrays = {split: (torch.zeros((0, 28, 28), dtype=torch.uint8), torch.zeros(0, dtype=torch.int64))
              for split in SPLITS}
    for split in splits:
        images_stem, labels_stem = _FILES[split]
        images, labels = read_image_label_pair(_file_in(folder, images_stem), _file_in(folder, labels_stem))
        if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise DatasetError(f"{folder}: labels outside 0..{len(class_names) - 1} in the {split} set")
        arrays[split] = (torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)))
    return Dataset(name, class_names, *arrays["train"], *arrays["test"])


def _chosen_folder(spec: DatasetSpec, data_dir: Path, splits: tuple[str, ...]) -> Path:
    if not data_dir.is_dir():
        raise DatasetError(f"the data folder {data_dir} does not exist")
    for folder in (data_dir, data_dir / spec.name):
        if _complete(folder, splits):
            return folder
    missing = [f"{stem}(.gz)" for stem in stems_of(splits) if not _file_in(data_dir, stem)]
    raise DatasetError(f"{spec.title} is not complete in {data_dir}: missing {', '.join(missing)}")


def pen_file(data_dir=None) -> Path:
    """The pen trajectories: in the user's data folder choice first, else the bundled copy."""
    for folder in _user_folders(data_dir, "pendigits") + [paths.assets_dir() / "pendigits"]:
        if (folder / pendigits.FILE_NAME).is_file():
            return folder / pendigits.FILE_NAME
    raise DatasetError(f"the pen digits ({pendigits.FILE_NAME}) were not found in {paths.assets_dir() / 'pendigits'}")


_pen_loaded: dict[tuple[Path, str, Path], pendigits.PenSplit] = {}


def _pen_split(path: Path, part: str, cache_dir: Path, progress: Progress | None) -> pendigits.PenSplit:
    key = (path, part, cache_dir)
    if key not in _pen_loaded:
        _pen_loaded[key] = pendigits.load_pen_split(path, part, cache_dir, progress)
    return _pen_loaded[key]


def _load_pen(path: Path, cache_dir: Path, progress: Progress | None, test_only: bool) -> Dataset:
    test = _pen_split(path, "test", cache_dir, progress)
    empty = pendigits.PenSplit(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    train = empty if test_only else _pen_split(path, "train", cache_dir, progress)
    as_tensor = torch.from_numpy
    return Dataset(PEN, DIGITS, as_tensor(train.images), as_tensor(train.labels), as_tensor(test.images),
                   as_tensor(test.labels), train_groups=as_tensor(train.writers), test_groups=as_tensor(test.writers))


def load_small_scans(data_dir=None, progress: Progress | None = None) -> pendigits.PenSplit:
    """The pen training writers' digits as small binarised scans, what a mnist+pen run finishes on."""
    return _pen_split(pen_file(data_dir).resolve(), "scans", paths.cache_dir(), progress)


def _mix(mnist: Dataset, pen: Dataset) -> Dataset:
    """MNIST's training set plus the pen training writers; MNIST's test set stays the test set."""
    groups = torch.cat([torch.full((len(mnist.train_labels),), -1, dtype=torch.int64), pen.train_groups])
    return Dataset(MIXED, DIGITS, torch.cat([mnist.train_images, pen.train_images]),
                   torch.cat([mnist.train_labels, pen.train_labels]), mnist.test_images, mnist.test_labels, groups)


def pictured_test_spec(dataset_name: str | None) -> DatasetSpec:
    """Whose test images the app's pictures of a model read (its filters' strongest patches, what each map is
    worth): Fashion-MNIST's for a model of Fashion-MNIST, MNIST's for any other (mnist+pen's test set is MNIST's)."""
    return get_spec("fashion-mnist" if dataset_name == "fashion-mnist" else "mnist")


def pictured_test_set(dataset_name: str | None) -> "Dataset":
    return load_dataset(pictured_test_spec(dataset_name).name, download=False)


def load_dataset(name_or_spec, data_dir=None, download: bool = True, progress: Progress | None = None,
                 test_only: bool = False) -> Dataset:
    """Find (or download) a dataset and load it into memory once per process. ``test_only``: the caller
    reads only the test split, so the training split is neither downloaded nor read, nor are the pen
    digits' training writers drawn for it (their first drawing takes a minute or two); it is then empty."""
    if name_or_spec in (PEN, MIXED):
        mnist = load_dataset("mnist", data_dir, download, progress) if name_or_spec == MIXED else None  # fails fast
        # mnist+pen's test set is MNIST's: its pen part is all training data, wanted even for test_only
        pen = _load_pen(pen_file(data_dir).resolve(), paths.cache_dir(), progress, test_only and mnist is None)
        return pen if mnist is None else _mix(mnist, pen)
    spec = name_or_spec if isinstance(name_or_spec, DatasetSpec) else get_spec(name_or_spec)
    splits = ("test",) if test_only else SPLITS
    if data_dir:  # the user named a folder: use it or say why not, never fall back in silence
        return _load_folder(_chosen_folder(spec, Path(data_dir), splits).resolve(), spec.name, spec.class_names, splits)
    folder = locate(spec, data_dir, splits)
    if folder is None:
        if not download:
            looked = "\n  ".join(str(d) for d in search_dirs(spec, data_dir))
            raise DatasetError(f"{spec.title} was not found. Looked in:\n  {looked}")
        folder = fetch(spec, progress=progress, splits=splits)
    return _load_folder(folder.resolve(), spec.name, spec.class_names, splits)


IMAGE_KINDS = ("pen drawing", "pen, as a scan", "small scan")  # after the main set's; the last is what a mnist+pen run finishes on
SMALL_SCAN = len(IMAGE_KINDS)


def image_kinds(dataset: Dataset) -> tuple[tuple[str, ...], torch.Tensor]:
    """What each training image is, in words, for showing a batch: the kinds' names (the main set's first,
    then ``IMAGE_KINDS``) and each image's index into them (uint8). A pen digit is drawn several times, its
    last drawings seen as a small scan would show them."""
    main_set = "mnist" if dataset.name == MIXED else dataset.name
    main = REGISTRY[main_set].short_title if main_set in REGISTRY else main_set
    kinds = torch.zeros(len(dataset.train_labels), dtype=torch.uint8)
    if dataset.train_groups is not None:
        pen_rows = torch.nonzero(dataset.train_groups >= 0).squeeze(1)
        kinds[pen_rows] = 1 + torch.from_numpy(pendigits.scanned_drawings(len(pen_rows))).to(torch.uint8)
    return (main, *IMAGE_KINDS), kinds


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded, reproducible train/validation split of ``range(n)``."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1), got {val_fraction}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(round(n * val_fraction))
    return order[n_val:].sort().values, order[:n_val].sort().values


def _where(mask: torch.Tensor) -> torch.Tensor:
    return mask.nonzero().flatten()


def grouped_split(groups: torch.Tensor, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Like ``split_indices``, but whole writers go to validation: samples with a group id (>= 0) are
    split by group, the rest (-1) by sample. At least one writer is held out when any validation is."""
    loose = _where(groups < 0)
    loose_train, loose_val = split_indices(len(loose), val_fraction, seed)
    writers = groups[groups >= 0].unique()
    order = writers[torch.randperm(len(writers), generator=torch.Generator().manual_seed(seed))]
    n_val = min(len(writers) - 1, max(1, round(len(writers) * val_fraction))) if val_fraction > 0 and len(writers) > 1 else 0
    held = torch.isin(groups, order[:n_val])
    kept = (groups >= 0) & ~held
    return (torch.cat([loose[loose_train], _where(kept)]).sort().values,
            torch.cat([loose[loose_val], _where(held)]).sort().values)


def grouped_kfold(groups: torch.Tensor, folds: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """k folds in which each writer's samples are all in one fold; ungrouped samples fold by sample."""
    loose = _where(groups < 0)
    loose_folds = kfold_indices(len(loose), folds, seed) if len(loose) else [(loose, loose)] * folds
    writers = groups[groups >= 0].unique()
    if len(writers) and len(writers) < folds:
        raise ValueError(f"{folds} folds need at least {folds} writers; there are {len(writers)}")
    order = writers[torch.randperm(len(writers), generator=torch.Generator().manual_seed(seed))]
    out = []
    for k, (loose_train, loose_val) in enumerate(loose_folds):
        held = torch.isin(groups, order[k::folds])
        kept = (groups >= 0) & ~held
        out.append((torch.cat([loose[loose_train], _where(kept)]).sort().values,
                    torch.cat([loose[loose_val], _where(held)]).sort().values))
    return out


def kfold_indices(n: int, folds: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Seeded k-fold splits: each fold's (train, validation) indices."""
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    chunks = order.chunk(folds)
    return [
        (torch.cat([c for j, c in enumerate(chunks) if j != k]).sort().values, chunks[k].sort().values)
        for k in range(folds)
    ]
