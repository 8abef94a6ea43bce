"""Probabilities that mean what they say: temperature scaling and its yardstick, calibration error.

A network trained with cross-entropy and heavy augmentation is usually over- or under-confident on
new writers. Dividing its logits by one number, the temperature, fitted on held-out data, fixes most
of that without changing any answer (Guo et al., 2017, "On Calibration of Modern Neural Networks").
"""

import math

import numpy as np
import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``: a golden-section
    search on log T in [1/20, 20] (the loss is convex in 1/T, so one minimum)."""
    logits, labels = logits.float(), labels.long()

    def nll(log_t: float) -> float:
        return F.cross_entropy(logits / math.exp(log_t), labels).item()

    low, high = math.log(0.05), math.log(20.0)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(b)
    return float(math.exp((low + high) / 2))


def confidence_bins(probabilities: np.ndarray, bins: int = 15) -> np.ndarray:
    """Each answer's bin of equal-width confidence (its top probability): 0 … bins − 1."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(probabilities.max(1), edges[1:-1], right=True), 0, bins - 1)


def confidence_bin(confidence: float, bins: int = 15) -> int:
    """The bin of ``confidence_bins`` that one confidence falls in."""
    return int(confidence_bins(np.array([[confidence]]), bins)[0])


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> list[tuple[float, float, int]]:
    """Per confidence bin: (mean confidence, accuracy, count); bins with no samples are left out."""
    confidence = probabilities.max(1)
    right = probabilities.argmax(1) == labels
    which = confidence_bins(probabilities, bins)
    return [(float(confidence[which == b].mean()), float(right[which == b].mean()), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """The gap between confidence and accuracy, averaged over equal-width confidence bins by size."""
    table = reliability(probabilities, labels, bins)
    total = sum(n for _, _, n in table)
    return float(sum(n * abs(conf - acc) for conf, acc, n in table) / max(1, total))


def calibration_record(logits: torch.Tensor, labels: torch.Tensor, fitted_on: str) -> dict:
    """Fit a temperature and describe it for a checkpoint's metadata."""
    temperature = fit_temperature(logits, labels)
    truth = labels.numpy()
    return {
        "temperature": temperature, "fitted_on": fitted_on, "samples": int(len(labels)),
        "ece_before": expected_calibration_error(logits.softmax(1).numpy(), truth),
        "ece_after": expected_calibration_error((logits / temperature).softmax(1).numpy(), truth),
    }


def temperature_of(metadata: dict) -> float:
    """A checkpoint's fitted temperature; 1 (the raw softmax) when it has none."""
    record = metadata.get("calibration")
    value = record.get("temperature", 1.0) if isinstance(record, dict) else 1.0
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 1.0
    return value if math.isfinite(value) and value > 0 else 1.0
