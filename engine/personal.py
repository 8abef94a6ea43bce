"""The user's own handwriting: a personal sample store, and fine-tuning a model on it.

Samples live in ``<user data>/personal/``: each drawing as a PNG (the raw canvas, so a later
preprocessing change can re-derive the network input) and an index ``samples.csv`` (id, label,
created), rewritten atomically. Several programs may share the folder (two windows of the app, the
``personalise`` command while the app is open), so every change is made to the index as it is on disk,
under a lock, never by writing one program's older copy over another's. Export and import use the
common MNIST-as-CSV layout: a header ``label,pixel0,...,pixel783`` and one row of 28×28 network-input
pixels (0-255) per sample.
"""

import copy
import csv
import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from filelock import FileLock, Timeout
from PIL import Image

from engine import paths
from engine.augment import augment_batch
from engine.checkpoint import atomic_write, atomic_write_text
from engine.datasets import DIGITS, MIXED, Dataset, are_digits, load_dataset
from engine.device import configure_cpu
from engine.evaluate import predict_logits, to_model_input
from engine.preprocess import prepare_one_digit
from engine.testsets import load_test_set

INDEX = "samples.csv"
LOCK = ".samples.lock"  # held while the index is read, changed and written
LOCK_TIMEOUT = 10  # seconds to wait for another program's change (a large import's index is written in well under one)
RELOAD_TIMEOUT = 0.2  # a reload runs on the GUI thread: it waits a frame or two at most
# Every HELD_OUT_EVERY-th sample of a digit is held out to measure Personalise. Counted per digit, so
# a digit with fewer samples is learned from all of them: one drawing per digit teaches every digit.
HELD_OUT_EVERY = 5
FIELDS = ("id", "label", "created")
PROGRESS_EVERY = 50  # samples between progress reports of an import or export


class PersonalDataError(ValueError):
    pass


@dataclass(frozen=True)
class Sample:
    id: str
    label: int
    created: str
    path: Path


class SampleTensors(NamedTuple):
    images: torch.Tensor  # N×28×28 uint8, white on black: the network's input
    labels: torch.Tensor
    skipped: tuple[str, ...]  # the samples whose file could not be read, each with what to do


class PersonalSamples:
    """The personal dataset on disk. Every change is saved at once."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else paths.user_data_dir() / "personal"
        self._seen = None  # the index file as last read or written (its stat), to skip rereading it unchanged
        self._samples: list[Sample] = self._read_index()

    def _stamp(self):
        try:
            stat = (self.folder / INDEX).stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _read_index(self) -> list[Sample]:
        index = self.folder / INDEX
        self._seen = self._stamp()
        if not index.is_file():
            return []
        samples = []
        # A damaged index (edited by hand, half-written by another program) must not stop the app:
        # unreadable bytes are replaced and rows without an existing image and a 0-9 label skipped.
        # The drawings themselves stay on disk.
        with open(index, newline="", encoding="utf-8", errors="replace") as f:
            for row in csv.DictReader(f):
                sample_id, label = row.get("id") or "", row.get("label") or ""
                path = self.folder / f"{sample_id}.png"
                if sample_id and path.is_file() and label in "0123456789" and len(label) == 1:
                    samples.append(Sample(sample_id, int(label), row.get("created") or "", path))
        return samples

    def _write_index(self, samples: list[Sample]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(FIELDS)
        for s in samples:
            writer.writerow((s.id, s.label, s.created))
        atomic_write_text(self.folder / INDEX, buffer.getvalue())

    def _update(self, change: Callable[[list[Sample]], list[Sample]]) -> None:
        """Make ``change`` to the samples on disk now, not to this program's copy: a sample another
        program kept since this one last read the index stays kept."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(self.folder / LOCK, timeout=LOCK_TIMEOUT):
                samples = change(self._read_index())
                self._write_index(samples)
                self._samples, self._seen = samples, self._stamp()
        except Timeout:
            raise PersonalDataError(f"another program has held {self.folder / INDEX} for over {LOCK_TIMEOUT} s; "
                                    "nothing was changed, try again") from None

    def reload(self) -> bool:
        """Read the index again, for what another program changed; whether anything did. Not now if
        another program is changing it (the next reload will do)."""
        if self._stamp() == self._seen:  # a stat, where a read of thousands of rows takes tens of milliseconds
            return False
        try:
            with FileLock(self.folder / LOCK, timeout=RELOAD_TIMEOUT):
                samples = self._read_index()
                changed, self._samples = samples != self._samples, samples
        except (Timeout, OSError):  # busy, or a folder that cannot hold a lock: what is shown stays
            return False
        return changed

    def __len__(self) -> int:
        return len(self._samples)

    def samples(self) -> list[Sample]:
        return list(self._samples)

    def counts(self) -> np.ndarray:
        return np.bincount([s.label for s in self._samples], minlength=10)

    def add(self, drawing: np.ndarray, label: int) -> Sample:
        """Store a drawing (H×W uint8, any polarity) with its label; refuses an empty drawing."""
        sample = self._store_drawing(drawing, label)
        try:
            self._update(lambda samples: [*samples, sample])
        except (OSError, PersonalDataError):
            sample.path.unlink(missing_ok=True)  # a drawing no index names would never be shown or taught
            raise
        return sample

    def _store_drawing(self, drawing: np.ndarray, label: int) -> Sample:
        """The drawing's file; its row in the index is the caller's to add."""
        if not 0 <= int(label) <= 9:
            raise PersonalDataError(f"label must be a digit 0-9, got {label}")
        prepared = prepare_one_digit(drawing)
        if prepared.empty:
            raise PersonalDataError(f"{prepared.message} Not saved.")
        self.folder.mkdir(parents=True, exist_ok=True)
        sample_id = uuid.uuid4().hex[:12]
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        sample = Sample(sample_id, int(label), created, self.folder / f"{sample_id}.png")
        atomic_write(sample.path, lambda tmp: Image.fromarray(np.asarray(drawing, np.uint8)).save(tmp, format="PNG"))
        return sample

    def relabel(self, sample_ids, label: int) -> None:
        """Give every sample of ``sample_ids`` this label (one write of the index)."""
        if not 0 <= int(label) <= 9:
            raise PersonalDataError(f"label must be a digit 0-9, got {label}")
        chosen = set(sample_ids)
        self._update(lambda samples: [Sample(s.id, int(label), s.created, s.path) if s.id in chosen else s
                                      for s in samples])

    def remove(self, sample_ids) -> None:
        """Delete the samples of ``sample_ids``, their drawings and their rows (one write of the index)."""
        chosen = set(sample_ids)

        def without(samples: list[Sample]) -> list[Sample]:
            for sample_id in chosen:
                (self.folder / f"{sample_id}.png").unlink(missing_ok=True)
            return [s for s in samples if s.id not in chosen]

        self._update(without)

    def clear(self) -> None:
        """Delete every sample this program has shown; one kept meanwhile by another program stays."""
        self.remove([s.id for s in self._samples])

    def image(self, sample: Sample) -> np.ndarray:
        try:
            with Image.open(sample.path) as img:
                return np.asarray(img.convert("L"))
        except OSError as exc:  # gone, unreadable or damaged (Pillow's "cannot identify image file" is one)
            raise PersonalDataError(f"your sample of a {sample.label} ({sample.path.name}) cannot be read: its file is "
                                    "missing or damaged; remove it in My samples…") from exc

    def tensors(self, progress: Callable[[int, int], None] | None = None) -> SampleTensors:
        """Network inputs and labels, through the usual preprocessing; ``progress(done, total)`` now and
        then. A sample whose file is damaged is left out and named, so one bad file stops nothing; only
        when no sample can be read is that an error."""
        pixels, labels, skipped = [], [], []
        for number, s in enumerate(self._samples, start=1):
            try:
                prepared = prepare_one_digit(self.image(s))
            except PersonalDataError as exc:
                skipped.append(str(exc))
            else:
                if not prepared.empty:
                    pixels.append(np.round(prepared.pixels * 255).astype(np.uint8))
                    labels.append(s.label)
            if progress and number % PROGRESS_EVERY == 0:
                progress(number, len(self._samples))
        if skipped and len(skipped) == len(self._samples):
            raise PersonalDataError(f"none of your {len(skipped)} samples can be read, the first: {skipped[0]}")
        if not pixels:
            return SampleTensors(torch.zeros((0, 28, 28), dtype=torch.uint8), torch.zeros(0, dtype=torch.int64),
                                 tuple(skipped))
        return SampleTensors(torch.from_numpy(np.stack(pixels)), torch.tensor(labels, dtype=torch.int64), tuple(skipped))

    def export_csv(self, path, progress: Callable[[int, int], None] | None = None) -> tuple[int, tuple[str, ...]]:
        """Write the samples as MNIST-as-CSV rows; (rows written, the samples left out and why)."""
        images, labels, skipped = self.tensors(progress)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["label", *(f"pixel{i}" for i in range(784))])
        for image, label in zip(images.numpy(), labels.tolist()):
            writer.writerow([label, *image.reshape(-1).tolist()])
        atomic_write_text(path, buffer.getvalue())
        return len(labels), skipped

    def import_csv(self, path, progress: Callable[[int, int], None] | None = None) -> int:
        """Add the samples of a CSV (label + 784 pixels per row, header optional). Nothing is added
        if any row is malformed; the error names the row. ``progress(done, total)`` as rows are stored."""
        rows = []
        try:
            with open(path, newline="") as f:
                for number, row in enumerate(csv.reader(f), start=1):
                    if not row or (number == 1 and row[0].strip().lower() == "label"):
                        continue
                    if len(row) != 785:
                        raise PersonalDataError(f"{Path(path).name}, row {number}: expected a label and 784 pixels, found {len(row)} values")
                    try:
                        values = np.array([int(v) for v in row])
                    except ValueError:
                        raise PersonalDataError(f"{Path(path).name}, row {number}: values must be whole numbers") from None
                    if not 0 <= values[0] <= 9 or values[1:].min() < 0 or values[1:].max() > 255:
                        raise PersonalDataError(f"{Path(path).name}, row {number}: label must be 0-9 and pixels 0-255")
                    rows.append(values)
        except (OSError, UnicodeDecodeError) as exc:
            raise PersonalDataError(f"{Path(path).name}: cannot be read ({exc})") from None
        return self._store_many([(values[1:].reshape(28, 28).astype(np.uint8), int(values[0])) for values in rows], progress)

    def import_digits(self, path, progress: Callable[[int, int], None] | None = None) -> tuple[int, tuple[str, ...]]:
        """Add the digits of a folder with one subfolder of pictures per digit, or of a UNIPEN pen file,
        read as Evaluate reads them (engine/testsets.py), each kept as its 28×28 network input. Returns
        how many were added and the files left out, each with why."""
        data = load_test_set(path, progress and (lambda _what, done, total, _unit=None: progress(done, total)))
        images = zip(data.test_images.numpy(), data.test_labels.tolist())
        return self._store_many(list(images), progress), data.skipped

    def _store_many(self, drawings: list[tuple[np.ndarray, int]], progress) -> int:
        added = []
        try:
            for number, (drawing, label) in enumerate(drawings, start=1):
                try:
                    added.append(self._store_drawing(drawing, label))
                except PersonalDataError:
                    pass  # an all-black row: nothing to learn from
                if progress and number % PROGRESS_EVERY == 0:
                    progress(number, len(drawings))
        finally:  # the index once, not once per row (a 3,000-row import took 8 s), and also after a failure
            self._update(lambda samples: [*samples, *added])
        return len(added)


@dataclass(frozen=True)
class PersonaliseResult:
    model: torch.nn.Module
    train_samples: int
    held_out_samples: int
    held_out_before: float | None  # accuracy on held-out personal samples; None with too few samples
    held_out_after: float | None
    mnist_before: float
    mnist_after: float
    seconds: float

    def summary(self) -> str:
        """What personalising did, in one sentence for the app's status line and the command line."""
        def percent(value):
            return "n/a" if value is None else f"{value:.0%}"

        held = (f"held-out personal samples {percent(self.held_out_before)} → {percent(self.held_out_after)} "
                f"({self.held_out_samples} samples)" if self.held_out_samples else
                f"no held-out score yet (a digit's {HELD_OUT_EVERY}th sample is held out to score it)")
        return f"{held}; MNIST {self.mnist_before:.2%} → {self.mnist_after:.2%}"


def held_out_split(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held-out) indices: each digit's HELD_OUT_EVERY-th, 2·HELD_OUT_EVERY-th, … sample is held out."""
    index = torch.arange(len(labels))
    rank = F.one_hot(labels, 10).cumsum(0)[index, labels]  # 1 for a digit's first sample, 2 for its second, …
    held = rank % HELD_OUT_EVERY == 0
    return index[~held], index[held]


def _accuracy(model, images, labels) -> float | None:
    if len(labels) == 0:
        return None
    return float((predict_logits(model, images).argmax(1) == labels).float().mean())


def rehearsal_dataset(metadata: dict, data_dir=None, progress=None) -> Dataset:
    """What Personalise mixes with the samples so the model forgets nothing: what it was trained on
    (MNIST, with the pen digits for a model that learned them). MNIST's test set is the probe."""
    if not are_digits(metadata.get("class_names", DIGITS)):
        raise PersonalDataError(f"this model reads {metadata.get('dataset', 'other classes')}, not digits: "
                                "your handwriting samples can only teach a model that reads digits")
    return load_dataset(MIXED if metadata.get("dataset") == MIXED else "mnist", data_dir, progress=progress)


def personalised_metadata(base: dict, result: PersonaliseResult) -> dict:
    """A personalised model's checkpoint metadata: its base model's, plus what personalising did."""
    return base | {
        "metrics": {"mnist_probe_accuracy": result.mnist_after},
        "personalised": {
            "samples": result.train_samples, "held_out": result.held_out_samples,
            "held_out_before": result.held_out_before, "held_out_after": result.held_out_after,
            "from": base.get("created"),
        },
    }


def personalised_path() -> Path:
    """Where a new personalised model is kept unless the user says otherwise."""
    return paths.user_data_dir() / "models" / f"personalised-{datetime.now():%Y%m%d-%H%M%S}.pt"


def personalise(
    model: torch.nn.Module,
    personal: tuple[torch.Tensor, torch.Tensor],
    mnist: Dataset,
    steps: int = 150,
    batch_size: int = 128,
    personal_share: float = 0.25,
    # Chosen by `bench.personalise --cv` on 24 writers no model saw: at 1e-3 four writers were read
    # worse after and MNIST fell to 99.23 %; at 2e-4 none was read worse and MNIST stayed ≥ 99.39 %.
    lr: float = 2e-4,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> PersonaliseResult:
    """Fine-tune a copy of ``model`` on MNIST mixed with the personal samples.

    Each batch is a quarter personal samples (drawn with replacement and augmented), so a handful
    of drawings weigh as much as thousands of MNIST digits without the model forgetting MNIST.
    """
    if steps < 1:
        raise PersonalDataError(f"steps must be at least 1, got {steps}")
    start = time.perf_counter()
    images, labels = personal
    if len(labels) == 0:
        raise PersonalDataError("there are no personal samples yet: confirm or correct a few predictions first")
    train_idx, held_idx = held_out_split(labels)
    probe = torch.arange(0, len(mnist.test_labels), max(1, len(mnist.test_labels) // 2000))  # 2,000 test digits
    mnist_probe = (mnist.test_images[probe], mnist.test_labels[probe])
    configure_cpu()
    tuned = copy.deepcopy(model).cpu()
    held_before = _accuracy(tuned, images[held_idx], labels[held_idx])
    mnist_before = _accuracy(tuned, *mnist_probe)

    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(tuned.parameters(), lr=lr, weight_decay=5e-4)
    n_personal = max(1, int(batch_size * personal_share))
    own_images, own_labels = images[train_idx], labels[train_idx]
    tuned.train()
    for step in range(1, steps + 1):
        mnist_pick = torch.randint(0, len(mnist.train_labels), (batch_size - n_personal,), generator=gen)
        own_pick = torch.randint(0, len(own_labels), (n_personal,), generator=gen)
        x = to_model_input(torch.cat([mnist.train_images[mnist_pick], own_images[own_pick]]))
        y = torch.cat([mnist.train_labels[mnist_pick], own_labels[own_pick]])
        loss = F.cross_entropy(tuned(augment_batch(x, gen)), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress:
            progress(step, steps)
    tuned.eval()
    return PersonaliseResult(
        tuned, len(train_idx), len(held_idx), held_before, _accuracy(tuned, images[held_idx], labels[held_idx]),
        mnist_before, _accuracy(tuned, *mnist_probe), time.perf_counter() - start,
    )
