"""Batched data augmentation that runs on the training device (no per-sample Python).

One ``grid_sample`` applies a random affine map (rotation, slant, size, aspect, position) plus a
smooth elastic warp; then strokes are randomly thickened or thinned with a soft morphological step.
Together these imitate how people's drawings differ from MNIST: pen width, slant, size, wobble.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentSpec:
    rotate_deg: float = 12.0
    shear: float = 0.3  # horizontal slant, tan(angle)
    zoom: tuple[float, float] = (0.8, 1.15)
    aspect: float = 0.15  # relative change of width vs height
    shift_px: float = 2.5
    elastic_px: float = 1.2  # displacement amplitude of the elastic warp
    thickness: float = 0.8  # in [0, 1]: how far towards one dilation/erosion step


def _uniform(n, low, high, gen, device, *shape):
    return torch.rand(n, *shape, generator=gen, device=device) * (high - low) + low


# The elastic warp draws its random displacements on a coarse square grid this many points wide,
# then upsamples them smoothly to the image.
ELASTIC_GRID = 4


@lru_cache(maxsize=8)
def _upsampling_matrix(coarse: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    """Bicubic upsampling of a coarse×coarse grid to h×w as one (coarse², h·w) matrix: upsampling is
    linear, so a matmul does per batch what ``F.interpolate`` does at twice the cost."""
    basis = torch.eye(coarse * coarse, device=device).view(-1, 1, coarse, coarse)
    return F.interpolate(basis, size=(h, w), mode="bicubic", align_corners=False).view(coarse * coarse, h * w)


def augment_batch(x: torch.Tensor, gen: torch.Generator, spec: AugmentSpec = AugmentSpec()) -> torch.Tensor:
    """Return augmented copies of ``x`` (N×1×H×W floats in [0, 1], white ink on black)."""
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
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    if spec.elastic_px > 0:
        coarse = _uniform(n, -1, 1, gen, dev, 2, ELASTIC_GRID * ELASTIC_GRID) * (spec.elastic_px * 2 / w)
        field = (coarse @ _upsampling_matrix(ELASTIC_GRID, h, w, dev)).view(n, 2, h, w)
        grid = grid + field.permute(0, 2, 3, 1)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if spec.thickness > 0:
        amount = _uniform(n, -spec.thickness, spec.thickness, gen, dev, 1, 1, 1)
        thicker = F.max_pool2d(x, 3, 1, 1)
        thinner = -F.max_pool2d(-x, 3, 1, 1)
        x = torch.where(amount > 0, x + amount * (thicker - x), x - amount * (thinner - x))
    return x.clamp_(0, 1)
