"""Batched data augmentation that runs on the training device (no per-sample Python).

One ``grid_sample`` applies a random affine map (rotation, slant, size, aspect, position) plus a
smooth elastic warp; then strokes are randomly thickened or thinned with a soft morphological step.
Together these imitate how people's drawings differ from MNIST: pen width, slant, size, wobble.
Last, a share of the batch is seen at low resolution, as a scanner or a small photo gives a digit
(6–16 px high, grey or binarised) and ``prepare_image`` scales it back up.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from engine.preprocess import KEPT_INK


@dataclass(frozen=True)
class AugmentSpec:
    rotate_deg: float = 12.0
    shear: float = 0.3  # horizontal slant, tan(angle)
    zoom: tuple[float, float] = (0.8, 1.15)
    aspect: float = 0.15  # relative change of width vs height
    shift_px: float = 2.5
    elastic_px: float = 1.2  # displacement amplitude of the elastic warp
    thickness: float = 0.8  # in [0, 1]: how far towards one dilation/erosion step
    lowres: float = 0.25  # share of images reduced to a low resolution and scaled back up


def _uniform(n, low, high, gen, device, *shape):
    return torch.rand(n, *shape, generator=gen, device=device) * (high - low) + low


# Low-resolution views: the digit's height in pixels, and where a binarising step cuts (of full ink).
LOWRES_BOX = (6, 16)
LOWRES_THRESHOLDS = (0.3, 0.6)
LOWRES_BLOCKS = 0.5  # the share of them scaled back up by repeating pixels rather than smoothly
# The elastic warp draws its random displacements on a coarse square grid this many points wide,
# then upsamples them smoothly to the image.
ELASTIC_GRID = 4


@lru_cache(maxsize=8)
def _upsampling_matrix(coarse: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    """Bicubic upsampling of a coarse×coarse grid to h×w as one (coarse², h·w) matrix: upsampling is
    linear, so a matmul does per batch what ``F.interpolate`` does at twice the cost."""
    basis = torch.eye(coarse * coarse, device=device).view(-1, 1, coarse, coarse)
    return F.interpolate(basis, size=(h, w), mode="bicubic", align_corners=False).view(coarse * coarse, h * w)


@lru_cache(maxsize=8)
def _grid_basis(h: int, w: int, coarse: int, device: torch.device) -> torch.Tensor:
    """The rows a sampling grid is a linear combination of: each output pixel's (x, y, 1) in
    ``affine_grid``'s coordinates (align_corners=False), then the elastic upsampling rows if coarse > 0."""
    xs = (torch.arange(w, device=device) * 2 + 1) / w - 1
    ys = (torch.arange(h, device=device) * 2 + 1) / h - 1
    rows = torch.stack([xs.repeat(h), ys.repeat_interleave(w), torch.ones(h * w, device=device)])
    return torch.cat([rows, _upsampling_matrix(coarse, h, w, device)]) if coarse else rows


def _sampling_grid(theta: torch.Tensor, elastic: torch.Tensor | None, h: int, w: int) -> torch.Tensor:
    """``affine_grid(theta)`` plus the bicubically upsampled elastic displacements (N×2×g×g), as one
    matmul: on a CPU a tenth of the time of ``affine_grid``'s batched matmul and a separate upsampling."""
    n = len(theta)
    coef = theta if elastic is None else torch.cat([theta, elastic.flatten(2)], 2)
    basis = _grid_basis(h, w, 0 if elastic is None else elastic.shape[-1], theta.device)
    return (coef.reshape(2 * n, -1) @ basis).view(n, 2, h, w).permute(0, 2, 3, 1)


def max_filter3(x: torch.Tensor) -> torch.Tensor:
    """``max_pool2d(x, 3, 1, 1)`` as a row pass then a column pass: on a CPU 9× faster for one channel."""
    p = F.pad(x, (1, 1, 1, 1), value=float("-inf"))
    rows = torch.maximum(torch.maximum(p[..., :-2], p[..., 1:-1]), p[..., 2:])
    return torch.maximum(torch.maximum(rows[..., :-2, :], rows[..., 1:-1, :]), rows[..., 2:, :])


def augment_batch(x: torch.Tensor, gen: torch.Generator, spec: AugmentSpec = AugmentSpec(),
                  return_reduced: bool = False):
    """Return augmented copies of ``x`` (N×1×H×W floats in [0, 1], white ink on black); with ``return_reduced``,
    also which of them were made a small scan (N bools, on x's device), as the Train tab's Batches page marks them."""
    n, _, h, w = x.shape
    dev = x.device
    angle = _uniform(n, -1, 1, gen, dev) * math.radians(spec.rotate_deg)
    shear = _uniform(n, -spec.shear, spec.shear, gen, dev)
    zoom = _uniform(n, *spec.zoom, gen, dev)
    aspect = _uniform(n, -spec.aspect, spec.aspect, gen, dev)
    sx, sy = 1 / (zoom * (1 + aspect)), 1 / (zoom * (1 - aspect))
    cos, sin = angle.cos(), angle.sin()
    # Output→input map, in affine_grid's [-1, 1] coordinates: rotate · shear · scale, then shift.
    theta = torch.stack([
        torch.stack([cos * sx, (cos * shear - sin) * sy, _uniform(n, -1, 1, gen, dev) * spec.shift_px * 2 / w], 1),
        torch.stack([sin * sx, (sin * shear + cos) * sy, _uniform(n, -1, 1, gen, dev) * spec.shift_px * 2 / h], 1),
    ], 1)
    elastic = None
    if spec.elastic_px > 0:
        elastic = _uniform(n, -1, 1, gen, dev, 2, ELASTIC_GRID, ELASTIC_GRID) * (spec.elastic_px * 2 / w)
    grid = _sampling_grid(theta, elastic, h, w)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if spec.thickness > 0:
        amount = _uniform(n, -spec.thickness, spec.thickness, gen, dev, 1, 1, 1)
        thicker = max_filter3(x)
        thinner = -max_filter3(-x)
        x = torch.where(amount > 0, x + amount * (thicker - x), x - amount * (thinner - x))
    reduced = None
    if spec.lowres > 0:
        x, reduced = _low_resolution(x.clamp(0, 1), spec.lowres, gen)
    x = x.clamp_(0, 1)
    if not return_reduced:
        return x
    return x, reduced if reduced is not None else torch.zeros(n, dtype=torch.bool, device=dev)


def _low_resolution(x: torch.Tensor, share: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Reduce a random share of the images so the digit (20 px of 28) is 6–16 px high, binarise half
    of those at 30–60 % of full ink, either at that size (a binarising scanner) or after scaling back
    up (a small picture enlarged, then thresholded), and scale back up, smoothly or by repeating
    pixels as an image viewer's zoom does: one size per batch keeps it a few whole-batch tensor
    operations. Also gives which images were reduced."""
    n, _, h, w = x.shape
    dev = x.device
    picked = torch.rand(n, 1, 1, 1, generator=gen, device=dev) < share
    binary = torch.rand(n, 1, 1, 1, generator=gen, device=dev) < 0.5
    late = torch.rand(n, 1, 1, 1, generator=gen, device=dev) < 0.5  # binarised after scaling back up
    blocks = torch.rand(n, 1, 1, 1, generator=gen, device=dev) < LOWRES_BLOCKS
    threshold = _uniform(n, *LOWRES_THRESHOLDS, gen, dev, 1, 1, 1)
    # The size must reach the host; drawing it on the GPU would stall every batch for it, so a GPU run
    # draws it from the CPU generator (the trainer seeds it every epoch).
    host_gen = gen if gen.device.type == "cpu" else None
    box = LOWRES_BOX[0] + int(torch.randint(0, LOWRES_BOX[1] - LOWRES_BOX[0] + 1, (1,), generator=host_gen))
    side = round(h * box / 20)
    small = F.interpolate(x, size=(side, side), mode="area")
    early = _kept_binary(small, (small > threshold).to(small.dtype))
    small = torch.where(binary & ~late, early, small)
    big = torch.where(blocks, F.interpolate(small, size=(h, w), mode="nearest-exact"),
                      F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False))
    big = torch.where(binary & late, _kept_binary(big, (big > threshold).to(big.dtype)), big)
    return torch.where(picked, big, x), picked.view(n)


def _kept_binary(grey: torch.Tensor, binary: torch.Tensor) -> torch.Tensor:
    """The binarised images that kept at least KEPT_INK of their ink; the others stay grey: a thin
    stroke cut down to a dot or two is no longer the digit its label names."""
    kept = binary.sum((1, 2, 3), keepdim=True) >= KEPT_INK * grey.sum((1, 2, 3), keepdim=True)
    return torch.where(kept, binary, grey)
