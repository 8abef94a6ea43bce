"""Where the network puts each digit: test images laid out on a plane so that those its last hidden
layer makes alike lie close together (t-SNE, van der Maaten and Hinton 2008), and the digits nearest
to any one of them, or to a new drawing, as the network sees them.

Digits of one class gather in one island when the network has learned to tell them apart; a digit
read wrong usually sits on the island of the class it was taken for, and a new drawing lands among
the digits the network finds most like it: an answer to "why this digit?" by example. For the
Evaluate tab's map and ``evaluate --map``.

t-SNE is written here in a few lines of PyTorch rather than taken from scikit-learn or openTSNE:
either would add SciPy (~100 MB) to the bundle, and exact t-SNE on the ≤1,500 points of a map takes
seconds with tensors (7 s for 1,499 digits on 2 cores; bench/digit_map.py).
"""

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from engine.evaluate import EvalResult, in_batches

MAP_LIMIT = 1500  # digits on a map: t-SNE's work grows with the square of their number
PERPLEXITY = 30.0  # about how many neighbours each digit keeps near it
ITERATIONS = 750
# The usual early exaggeration: attraction ×12 for the first 250 steps, so islands form before they spread.
EXAGGERATION, EXAGGERATION_ITERATIONS = 12.0, 250
FRAME_EVERY = 25  # steps between the pictures of the map forming
NEIGHBOURS = 10  # the digits a new drawing is placed among


def hidden_features(model: torch.nn.Module, images_uint8: torch.Tensor, batch_size: int = 256) -> tuple[str, torch.Tensor]:
    """The name of the model's last hidden layer and what it makes of every image (N×units, float32, on the CPU)."""
    def last_hidden(inputs: torch.Tensor) -> tuple[str, torch.Tensor]:
        _, traced = model.trace(inputs)
        return traced[-1].name, traced[-1].outputs.flatten(1).float().cpu()

    batches = in_batches(model, images_uint8, last_hidden, batch_size=batch_size)
    return (batches[0][0], torch.cat([features for _, features in batches])) if batches else ("", torch.empty(0, 0))


def map_sample(result: EvalResult, limit: int = MAP_LIMIT, seed: int = 0) -> np.ndarray:
    """The test digits to map, in order: all of them when there are at most ``limit``; else every
    mistake (what a map is looked at for) and the others drawn at random, the same each time."""
    n = len(result.labels)
    if n <= limit:
        return np.arange(n)
    wrong = result.misclassified()[:limit]
    right = np.flatnonzero(result.predictions == result.labels)
    others = np.random.default_rng(seed).choice(right, limit - len(wrong), replace=False)
    return np.sort(np.concatenate([wrong, others]))


def _neighbourhoods(features: torch.Tensor, perplexity: float) -> torch.Tensor:
    """Row i: a Gaussian around digit i over the others, its width found by bisection (every row at
    once) so that it keeps ``perplexity`` neighbours in effect (its entropy is log(perplexity))."""
    distances = torch.cdist(features, features).square_()
    distances.fill_diagonal_(math.inf)  # a digit is not its own neighbour: exp(-inf) = 0
    distances -= distances.min(1, keepdim=True).values  # the nearest at 0, so no row underflows to all zeros
    finite = distances.masked_fill(distances.isinf(), 0.0)
    target = math.log(max(1.0, min(perplexity, (len(features) - 1) / 3)))  # fewer digits keep fewer neighbours
    beta = 1 / finite.mean(1, keepdim=True).clamp_min(1e-12)
    low, high = torch.zeros_like(beta), torch.full_like(beta, math.inf)
    for _ in range(64):
        weights = torch.exp(-distances * beta)
        total = weights.sum(1, keepdim=True)
        entropy = total.log() + beta * (finite * weights).sum(1, keepdim=True) / total
        too_wide = entropy > target
        low, high = torch.where(too_wide, beta, low), torch.where(too_wide, high, beta)
        beta = torch.where(high.isinf(), beta * 2, (low + high) / 2)
    return weights / total


def _affinities(features: torch.Tensor, perplexity: float) -> torch.Tensor:
    """t-SNE's joint probabilities: the neighbourhoods made symmetric, summing to 1."""
    conditional = _neighbourhoods(features, perplexity)
    return ((conditional + conditional.T) / (2 * len(features))).clamp_min(1e-12)


def tsne(features: torch.Tensor, perplexity: float = PERPLEXITY, iterations: int = ITERATIONS,
         frame: Callable[[int, np.ndarray], None] | None = None, stop: Callable[[], bool] = lambda: False) -> np.ndarray:
    """N×2 points, one per row of ``features``, near each other where the rows are (exact t-SNE).

    It starts from the rows' first two principal components, so the same features give the same map
    and islands keep their places between runs. ``frame(step, points)`` sees the map forming every
    ``FRAME_EVERY`` steps; ``stop()`` ends early, with the points reached so far."""
    x = features.float()
    n = len(x)
    if n < 3:  # nothing to lay out
        return np.zeros((n, 2))
    x = x - x.mean(0)
    p = _affinities(x, perplexity)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    y = x @ v[:2].T
    y *= torch.where(y.abs().max(0).values == y.max(0).values, 1.0, -1.0)  # a component's sign, fixed
    y = y / y[:, 0].std().clamp_min(1e-12) * 1e-4
    rate = max(n / EXAGGERATION / 4, 50.0)  # the learning rate scikit-learn's "auto" picks
    velocity, gains = torch.zeros_like(y), torch.ones_like(y)
    for step in range(iterations):
        if stop():
            break
        early = step < EXAGGERATION_ITERATIONS
        kernel = 1 / (1 + torch.cdist(y, y).square_())  # Student-t: far islands repel but never fly apart
        kernel.fill_diagonal_(0.0)
        pull = ((EXAGGERATION if early else 1.0) * p - kernel / kernel.sum()) * kernel
        gradient = 4 * (pull.sum(1, keepdim=True) * y - pull @ y)
        gains = torch.where((gradient > 0) != (velocity > 0), gains + 0.2, gains * 0.8).clamp_min(0.01)
        velocity = (0.5 if early else 0.8) * velocity - rate * gains * gradient
        y = y + velocity
        y -= y.mean(0)
        if frame and (step + 1) % FRAME_EVERY == 0:
            frame(step + 1, y.cpu().numpy())  # the only wait for the device, once per frame
    return y.cpu().numpy()


def _closest(features: torch.Tensor, queries: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of ``queries``, the distances to and rows of the ``count`` nearest rows of ``features``."""
    # Exact differences, not the faster matrix product, which puts a digit ~1e-3 away from itself.
    distances = torch.cdist(queries.to(features.dtype), features, compute_mode="donot_use_mm_for_euclid_dist")
    return distances.topk(min(count, distances.shape[1]), largest=False)


def nearest(features: torch.Tensor, feature: torch.Tensor | np.ndarray, count: int = NEIGHBOURS) -> np.ndarray:
    """The rows of ``features`` nearest to ``feature`` (what the same layer made of another input), nearest first."""
    return _closest(features, torch.as_tensor(feature).reshape(1, -1), count)[1][0].numpy()


@dataclass(frozen=True)
class DigitMap:
    """Test digits on a plane: ``indices`` into their test set, ``points`` (N×2) where each lies, and
    ``features`` (N×units), what the model's layer ``layer`` made of each."""

    indices: np.ndarray
    points: np.ndarray
    features: torch.Tensor
    layer: str

    def nearest(self, feature: torch.Tensor | np.ndarray, count: int = NEIGHBOURS) -> np.ndarray:
        """Positions on the map (not test indices) of the ``count`` digits whose features are nearest, nearest first."""
        return nearest(self.features, feature, count)

    def place(self, feature: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where a new input goes and the digits it goes among: t-SNE has no place for a point it was not
        given, so the mean of its ``NEIGHBOURS`` nearest digits' places, the nearer weighing more."""
        at, near = self.place_all(torch.as_tensor(feature).reshape(1, -1))
        return at[0], near[0]

    def place_all(self, features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """``place`` for each row of ``features`` (N×units): N×2 places and, for each, the positions it goes among."""
        near_distances, near = _closest(self.features, features, NEIGHBOURS)
        weights = (1 / (near_distances + 1e-6)).numpy()
        near = near.numpy()
        return (self.points[near] * weights[..., None]).sum(1) / weights.sum(1, keepdims=True), near

    def to_csv(self, result: EvalResult, class_names, sources=None) -> str:
        """One row per digit on the map: which test image, where it lies, what it is and what it was read as."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["test image", "x", "y", "true", "predicted", "confidence"] + (["writer"] if result.writers is not None else []))
        for index, (x, y) in zip(self.indices, self.points):
            row = [sources[index] if sources else int(index), f"{x:.4f}", f"{y:.4f}", class_names[result.labels[index]],
                   class_names[result.predictions[index]], f"{result.probabilities[index].max():.6f}"]
            writer.writerow(row + ([int(result.writers[index])] if result.writers is not None else []))
        return buffer.getvalue()


def place_inputs(model: torch.nn.Module, made: DigitMap, images_uint8: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
    """Where other inputs (the user's own samples) go on a map, each placed as a drawing is (N×2), and
    what the model's last hidden layer made of them."""
    _, features = hidden_features(model, images_uint8)
    if not len(images_uint8) or not len(made.indices):
        return np.zeros((0, 2), np.float32), features
    return made.place_all(features)[0], features


def digit_map(model: torch.nn.Module, images_uint8: torch.Tensor, indices: np.ndarray,
              frame: Callable[[int, np.ndarray], None] | None = None, stop: Callable[[], bool] = lambda: False) -> DigitMap:
    """The map of the test images at ``indices`` (``map_sample`` picks them from a scored test set)."""
    layer, features = hidden_features(model, images_uint8[torch.from_numpy(indices)])
    # Laid out where the model runs (a GPU does 1,500 digits in a fraction of the CPU's seconds); the features
    # stay on the CPU, where drawings are placed among them.
    device = next(model.parameters()).device
    return DigitMap(indices, tsne(features.to(device), frame=frame, stop=stop), features, layer)
