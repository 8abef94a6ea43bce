"""Batched evaluation: logits, accuracy, per-class accuracy and the confusion matrix."""

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.calibrate import confidence_bin, confidence_bins, expected_calibration_error
from engine.datasets import MIXED, Dataset, load_dataset
from engine.download import Progress
from engine.predict import questioned
from engine.testsets import load_test_set


def to_model_input(images_uint8: torch.Tensor) -> torch.Tensor:
    """N×28×28 uint8 → N×1×28×28 float in [0, 1], on the images' device, channels-last (NHWC),
    which convolutions run faster in on both CPU (oneDNN) and GPU (cuDNN)."""
    return images_uint8.unsqueeze(1).float().div_(255).contiguous(memory_format=torch.channels_last)


@torch.inference_mode()
def in_batches(model, images_uint8: torch.Tensor, run, device=None, batch_size: int = 256, progress=None) -> list:
    """``run(inputs)`` on each batch of the images as the network reads them, on the model's device
    (or ``device``), in eval mode; the list of what it returned. ``progress(done, total)`` after each
    batch (it may raise to stop the work)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        out = []
        for start in range(0, len(images_uint8), batch_size):
            out.append(run(to_model_input(images_uint8[start:start + batch_size].to(device))))
            if progress:
                progress(min(start + batch_size, len(images_uint8)), len(images_uint8))
        return out
    finally:
        model.train(was_training)


def predict_logits(model, images_uint8: torch.Tensor, device=None, batch_size: int = 256, progress=None) -> torch.Tensor:
    """Logits for every image, in eval mode, batched; returned on the CPU (copied once, not per batch)."""
    out = in_batches(model, images_uint8, lambda inputs: model(inputs).float(), device, batch_size, progress)
    return torch.cat(out).cpu() if out else torch.empty(0, 10)


CONFIDENCE_BINS = 15


@dataclass(frozen=True)
class EvalResult:
    accuracy: float
    loss: float
    per_class_accuracy: np.ndarray  # (classes,), nan where a class has no samples
    confusion: np.ndarray  # (true, predicted) counts
    predictions: np.ndarray  # (N,)
    probabilities: np.ndarray  # (N, classes)
    labels: np.ndarray  # (N,)
    writers: np.ndarray | None = None  # (N,) the writer of each sample, when the test set knows them

    def per_writer(self) -> list[tuple[int, int, float]]:
        """(writer, samples, accuracy) for each writer, in the writers' order; empty without writers."""
        if self.writers is None:
            return []
        writers, which = np.unique(self.writers, return_inverse=True)
        samples = np.bincount(which)
        right = np.bincount(which, weights=self.predictions == self.labels)
        return [(int(w), int(n), float(r / n)) for w, n, r in zip(writers, samples, right)]

    def calibration_error(self) -> float:
        """How far its confidence is from its accuracy (ECE over 15 bins, as the checkpoint records it)."""
        return expected_calibration_error(self.probabilities, self.labels, CONFIDENCE_BINS)

    def as_sure_as(self, confidence: float) -> np.ndarray:
        """The answers in the same confidence bin as ``confidence``, least sure first."""
        which = confidence_bins(self.probabilities, CONFIDENCE_BINS)
        indices = np.flatnonzero(which == confidence_bin(confidence, CONFIDENCE_BINS))
        return indices[np.argsort(self.probabilities[indices].max(1), kind="stable")]

    def not_sure(self) -> tuple[int, int, float]:
        """How well the app's "Not sure" tells the mistakes: (mistakes it flags, mistakes, share of the
        right answers it questions)."""
        flagged, wrong = questioned(self.probabilities), self.predictions != self.labels
        return int(flagged[wrong].sum()), int(wrong.sum()), float(flagged[~wrong].mean()) if (~wrong).any() else 0.0

    def confidence_line(self) -> str:
        """The calibration error and "Not sure"'s record, in one line for the Evaluate tab and `evaluate`."""
        flagged, mistakes, questioned_right = self.not_sure()
        caught = f"flags {flagged} of {mistakes} mistakes" if mistakes else "has no mistakes to flag"
        return (f"calibration error (ECE) {self.calibration_error():.2%}; \"Not sure\" {caught}, "
                f"questions {questioned_right:.1%} of right answers")

    def misclassified(self) -> np.ndarray:
        return np.flatnonzero(self.predictions != self.labels)

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Indices of the samples of class ``true`` predicted as ``predicted``."""
        return np.flatnonzero((self.labels == true) & (self.predictions == predicted))

    def to_csv(self, class_names) -> str:
        """The confusion matrix with each true class's count and accuracy, for a spreadsheet."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["true \\ predicted", *class_names, "samples", "accuracy"])
        for name, row, accuracy in zip(class_names, self.confusion, self.per_class_accuracy):
            writer.writerow([name, *row.tolist(), int(row.sum()), "" if np.isnan(accuracy) else f"{accuracy:.6f}"])
        writer.writerow(["all", *self.confusion.sum(0).tolist(), int(self.confusion.sum()), f"{self.accuracy:.6f}"])
        if self.writers is not None:
            writer.writerow([])
            writer.writerow(["writer", "samples", "accuracy"])
            writer.writerows([w, n, f"{accuracy:.6f}"] for w, n, accuracy in self.per_writer())
        return buffer.getvalue()


def evaluate(model, images_uint8: torch.Tensor, labels: torch.Tensor, num_classes: int = 10, device=None,
             temperature: float = 1.0, writers: torch.Tensor | None = None, progress: Progress | None = None) -> EvalResult:
    """Score a model; ``probabilities`` are divided by ``temperature`` (a calibrated model's own);
    ``writers`` (one per sample) adds the accuracy of each writer; ``progress`` hears of each batch read."""
    logits = predict_logits(model, images_uint8, device,
                            progress=progress and (lambda done, total: progress("reading the test images", done, total, "images")))
    labels = labels.cpu()
    loss = F.cross_entropy(logits, labels).item() if len(labels) else float("nan")
    predictions = logits.argmax(1)
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    confusion.index_put_((labels, predictions), torch.ones_like(labels), accumulate=True)
    confusion = confusion.numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.diag(confusion) / confusion.sum(1)
    return EvalResult(
        accuracy=float(np.trace(confusion) / max(1, confusion.sum())),
        loss=loss,
        per_class_accuracy=per_class,
        confusion=confusion,
        predictions=predictions.numpy(),
        probabilities=(logits / temperature).softmax(1).numpy(),
        labels=labels.numpy(),
        writers=None if writers is None else writers.cpu().numpy(),
    )


def default_test_set(metadata: dict) -> str:
    """The test set a model is scored on unless the user picks another: that of the data it learned
    (MNIST's for a model of MNIST and pen digits)."""
    trained_on = metadata.get("dataset", "mnist")
    return "mnist" if trained_on == MIXED else trained_on


def evaluate_on(predictor, dataset: str | Path | None = None, data_dir=None, progress=None) -> tuple[Dataset, EvalResult]:
    """Load a test set (a dataset's name, default the model's own; or the path of digits the user
    brings, see engine/testsets.py) and score a ``Predictor`` on it, with its temperature: the one
    route for the Evaluate tab and the ``evaluate`` command."""
    if isinstance(dataset, Path):
        data = load_test_set(dataset, progress)
    else:
        data = load_dataset(dataset or default_test_set(predictor.metadata), data_dir, progress=progress,
                            test_only=True)
    return data, evaluate(predictor.model, data.test_images, data.test_labels, len(data.class_names),
                          temperature=predictor.temperature, writers=data.test_groups, progress=progress)


def mismatch_note(metadata: dict, data) -> str | None:
    """A warning when a model is scored on a test set whose classes are not the ones it learned (a
    digit model on Fashion-MNIST scores near chance, which says nothing about the model)."""
    learned = tuple(metadata.get("class_names") or ())
    if not learned or learned == tuple(data.class_names):
        return None
    return (f"This model was trained on {metadata.get('dataset', 'another dataset')}, whose classes are not "
            f"{data.name}'s: this accuracy only shows it was not made for these images.")
