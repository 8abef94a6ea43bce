"""Why this digit: how much each pixel of the network's 28×28 input pushes it toward an answer.

Integrated gradients (Sundararajan et al., 2017) from a blank input: the gradients of the chosen
logits, averaged along the straight path from nothing drawn to the drawing, times the ink. The
attributions of a pixel sum, over the image, to the change in the logit from blank to drawn, so
they are in the units of the network's own evidence; pixels without ink get none. A contrast (the
answer's logit minus the runner-up's) shows in one map which strokes make it the answer (positive)
and which make it the runner-up (negative).

The other way to ask (``occlusion``, Zeiler and Fergus, 2014): cover a small patch of the drawing (erase it)
and see how far the same score falls, patch after patch; each inked pixel gets the mean fall of the patches
that cover it, times its ink. No gradient: only what the network reads with a part of the drawing gone.

Faithfulness (``deletion_drops``): erasing the most-attributed tenth of the ink should lower the
answer's probability far more than erasing a random tenth (bench/explain.py measures the ratio).
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image

# 32 midpoint steps: the attributions sum to the logit's change within ~7-11 % on average (64 steps:
# ~3-4 %) for the shipped model, and a map takes ~7 ms on 2 CPU cores (bench/explain.py), within a frame.
STEPS = 32
INK = 0.1  # an input pixel at least this bright counts as ink when erasing


@torch.enable_grad()
def integrated_gradients(model: torch.nn.Module, pixels: np.ndarray, weights: np.ndarray,
                         steps: int = STEPS) -> np.ndarray:
    """Signed 28×28 attributions of ``w · logits`` for each row ``w`` of ``weights`` (k × classes;
    one-hot: one class, +1/−1: a contrast), for one 28×28 input in [0, 1]: k × 28 × 28. One forward
    pass serves every row. The model must be in eval mode."""
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(pixels, np.float32), device=device).reshape(1, 1, 28, 28)
    alphas = (torch.arange(steps, device=device, dtype=torch.float32) + 0.5) / steps
    path = (alphas.reshape(-1, 1, 1, 1) * x).requires_grad_(True)
    logits = model(path).float().sum(0)  # the steps are independent: the sum's gradient is each one's
    rows = torch.as_tensor(np.atleast_2d(weights), device=device, dtype=torch.float32)
    maps = []
    for i, row in enumerate(rows):
        (grads,) = torch.autograd.grad(logits @ row, path, retain_graph=i < len(rows) - 1)
        maps.append(x[0, 0] * grads.mean(0)[0])
    return torch.stack(maps).cpu().numpy()


# 4×4 patches every 3 pixels: 100 covered copies, one batch (~12 ms on 2 CPU cores, within a frame), and as
# faithful by erasing as the gradients (bench/explain.py); every 2 pixels is twice the work for the same.
PATCH, PATCH_STRIDE = 4, 3


@lru_cache(maxsize=4)
def _covers(device: torch.device) -> torch.Tensor:
    """One mask per patch: P×1×28×28, 0 where the patch covers, 1 elsewhere (patches overhang the edges)."""
    starts = range(-(PATCH // 2), 28 - PATCH // 2, PATCH_STRIDE)
    masks = torch.ones(len(starts) ** 2, 1, 28, 28, device=device)
    for i, (top, left) in enumerate((t, l) for t in starts for l in starts):
        masks[i, 0, max(0, top):top + PATCH, max(0, left):left + PATCH] = 0
    return masks


@torch.inference_mode()
def occlusion(model: torch.nn.Module, pixels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Signed 28×28 maps of how far ``w · logits`` falls when a patch over each pixel is erased, for each row
    ``w`` of ``weights`` (as ``integrated_gradients`` takes them): k × 28 × 28, the mean fall over the patches
    covering a pixel, times its ink. One batch of covered copies serves every row. The model must be in eval mode."""
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(pixels, np.float32), device=device).reshape(1, 1, 28, 28)
    masks = _covers(device)
    rows = torch.as_tensor(np.atleast_2d(weights), device=device, dtype=torch.float32)
    falls = (model(x).float() - model(x * masks).float()) @ rows.T  # P × k
    covered = 1 - masks[:, 0]  # P × 28 × 28
    per_pixel = torch.einsum("pk,phw->khw", falls, covered) / covered.sum(0)
    return (per_pixel * x[0]).cpu().numpy()


METHODS = {"gradients": integrated_gradients, "occlusion": occlusion}  # how a map of why is made


def one_hot(index: int, classes: int) -> np.ndarray:
    weights = np.zeros(classes, np.float32)
    weights[index] = 1.0
    return weights


def deletion_drops(probability, pixels: np.ndarray, saliency: np.ndarray, target: int,
                   fraction: float = 0.1, random_trials: int = 8, seed: int = 0) -> tuple[float, float]:
    """How much ``target``'s probability falls when the most-attributed ``fraction`` of the ink is
    erased, and on average when a random ``fraction`` of it is. ``probability`` maps N×28×28 inputs
    to N×classes probabilities."""
    flat = pixels.reshape(-1)
    ink = np.flatnonzero(flat >= INK)
    count = max(1, int(round(fraction * len(ink))))
    top = ink[np.argsort(-saliency.reshape(-1)[ink], kind="stable")[:count]]
    rng = np.random.default_rng(seed)
    erased = [top] + [rng.choice(ink, count, replace=False) for _ in range(random_trials)]
    batch = np.repeat(flat[None], len(erased) + 1, 0)
    for row, where in enumerate(erased, start=1):
        batch[row, where] = 0.0
    probs = probability(batch.reshape(-1, 28, 28))[:, target]
    drops = probs[0] - probs[1:]
    return float(drops[0]), float(drops[1:].mean())


# Diverging colours for signed maps, as in the Kernels tab: blue negative, red positive.
_RED = np.array([214, 39, 40], np.float32)
_BLUE = np.array([31, 119, 180], np.float32)


def smooth(saliency: np.ndarray, sigma: float = 0.8) -> np.ndarray:
    """A light Gaussian blur for display: per-pixel gradients alternate in sign along a stroke, and
    the map reads as regions once neighbours are pooled (the sums over regions are unchanged)."""
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    rows = np.apply_along_axis(np.convolve, 1, saliency, kernel, mode="same")
    return np.apply_along_axis(np.convolve, 0, rows, kernel, mode="same").astype(np.float32)


def symmetric_scale(saliency: np.ndarray) -> float:
    """The value drawn at full strength: the 99th percentile of |attribution|, so one hot pixel
    does not wash out the rest."""
    magnitude = np.abs(saliency)
    return float(np.percentile(magnitude[magnitude > 0], 99)) if (magnitude > 0).any() else 1.0


def overlay_rgba(saliency: np.ndarray, opacity: float = 0.85) -> np.ndarray:
    """The map as it is shown, smoothed: H×W×4 uint8, red where positive, blue where negative,
    transparent at zero."""
    saliency = smooth(saliency)
    scale = symmetric_scale(saliency)
    strength = np.clip(np.abs(saliency) / scale, 0.0, 1.0)
    rgba = np.zeros((*saliency.shape, 4), np.uint8)
    rgba[..., :3] = np.where((saliency >= 0)[..., None], _RED, _BLUE).astype(np.uint8)
    rgba[..., 3] = (strength * opacity * 255).astype(np.uint8)
    return rgba


def overlay_picture(pixels: np.ndarray, saliency: np.ndarray, scale: int = 10) -> Image.Image:
    """The network's input (white ink on black, dimmed) with the map laid over it, enlarged."""
    base = Image.fromarray((np.clip(pixels, 0, 1) * 140).astype(np.uint8)).convert("RGBA")
    picture = Image.alpha_composite(base, Image.fromarray(overlay_rgba(saliency), "RGBA")).convert("RGB")
    return picture.resize((28 * scale, 28 * scale), Image.Resampling.NEAREST)


@dataclass(frozen=True)
class Explanation:
    """Why the network read a drawing as ``digit``: per input pixel, how much it adds to the digit's
    logit, or with ``versus`` to the digit's logit minus that class's (positive: strokes that make it
    ``digit``; negative: strokes that make it ``versus``)."""
    digit: int
    versus: int | None
    saliency: np.ndarray  # 28×28
    method: str = "gradients"  # a key of METHODS
