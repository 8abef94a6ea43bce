"""What each filter looks for: the input patches that excite a conv filter most.

For every filter of the first two conv blocks, the nine MNIST test images whose strongest response
in that filter's map is highest (one patch per image), and the patch of each that the strongest
unit sees: its receptive field, cut from the image. Computed once per model and cached on disk,
keyed by the weights themselves.
"""

import hashlib
import logging
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.checkpoint import SaveError, atomic_write
from engine.conv_arithmetic import square
from engine.models import ConvBlock, ZooNet

log = logging.getLogger(__name__)

TOP = 9
CACHE_VERSION = 1  # bump when the computation below changes


@dataclass(frozen=True)
class ReceptiveField:
    size: int  # side of the input square one output unit sees
    jump: int  # input pixels between neighbouring output units
    start: float  # input coordinate of output unit 0's top-left corner

    def box(self, y: int, x: int) -> tuple[int, int]:
        """Top-left input pixel (y, x) of output unit (y, x)'s field (may lie outside the image)."""
        return int(round(self.start + y * self.jump)), int(round(self.start + x * self.jump))


def unit_pictures(model: ZooNet) -> tuple[str, np.ndarray] | None:
    """For a network without conv layers (a multi-layer perceptron): its first dense layer's name and weights,
    one picture per unit of what it weighs each pixel by (units × side × side); None for a network with conv
    layers, whose kernels say that instead."""
    if model.conv_blocks():
        return None
    name, first = next((n, m) for n, m in model.classifier.named_children() if isinstance(m, nn.Linear))
    side = math.isqrt(first.in_features)  # the pixels, or pooled pixels: one channel, square
    return name, first.weight.detach().float().cpu().numpy().reshape(-1, side, side).copy()  # not the live weights


def receptive_fields(model: ZooNet) -> list[ReceptiveField]:
    """The receptive field of each conv block's units, in order."""
    size, jump, centre, fields = 1.0, 1.0, 0.0, []
    for layer in model.features:
        op = layer.conv if isinstance(layer, ConvBlock) else layer
        if isinstance(op, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = (square(getattr(op, a)) for a in ("kernel_size", "stride", "padding"))
            centre += ((k - 1) / 2 - p) * jump
            size += (k - 1) * jump
            jump *= s
        if isinstance(layer, ConvBlock):
            fields.append(ReceptiveField(int(size), int(jump), centre - (size - 1) / 2))
    return fields


@torch.inference_mode()
def top_patches(model: ZooNet, images: torch.Tensor, blocks: int = 2, top: int = TOP,
                batch_size: int = 1000, stop=lambda: False) -> list[np.ndarray] | None:
    """Per conv block (the first ``blocks``): filters × top × size × size patches of ``images``
    (N×28×28 in [0, 1]), strongest first; None when ``stop()`` ends the search early."""
    model = model.eval()
    device = next(model.parameters()).device
    peaks = [[] for _ in range(blocks)]  # per block: N × C strongest responses and where they are
    for start in range(0, len(images), batch_size):
        if stop():
            return None
        x = images[start:start + batch_size].to(device, torch.float32).unsqueeze(1)
        _, traced = model.trace(x)
        for b, t in enumerate(traced[:blocks]):
            flat = t.outputs.flatten(2).float()
            value, where = flat.max(2)
            peaks[b].append((value.cpu(), where.cpu(), t.outputs.shape[-1]))
    fields, padded_cache = receptive_fields(model), {}
    out = []
    for b in range(blocks):
        values = torch.cat([v for v, _, _ in peaks[b]])  # N × C
        wheres = torch.cat([w for _, w, _ in peaks[b]])
        width = peaks[b][0][2]
        field = fields[b]
        pad = field.size
        if pad not in padded_cache:
            padded_cache[pad] = torch.nn.functional.pad(images.float(), (pad, pad, pad, pad))
        padded = padded_cache[pad]
        best = values.topk(min(top, len(values)), dim=0).indices.T  # C × top image indices
        patches = np.zeros((values.shape[1], top, field.size, field.size), np.float32)
        for c in range(values.shape[1]):
            for rank, i in enumerate(best[c].tolist()):
                y, x = divmod(int(wheres[i, c]), width)
                top_y, left_x = field.box(y, x)
                patch = padded[i, top_y + pad: top_y + pad + field.size, left_x + pad: left_x + pad + field.size]
                patches[c, rank] = patch.numpy()
        out.append(patches)
    return out


def weights_key(model: nn.Module) -> str:
    """A digest of the model's weights and buffers: the same model gives the same key."""
    digest = hashlib.sha1(f"v{CACHE_VERSION}".encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:20]


def cached_top_patches(model: ZooNet, images: torch.Tensor, cache_dir: Path, stop=lambda: False) -> list[np.ndarray] | None:
    """``top_patches`` for the first two conv blocks, from the cache when this model's are there (None,
    and nothing cached, when ``stop()`` ends the search)."""
    path = Path(cache_dir) / f"{weights_key(model)}.npz"
    try:
        with np.load(path, allow_pickle=False) as saved:
            return [saved[f"block{b}"] for b in range(len(saved.files))]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # absent or damaged: compute again
        pass
    patches = top_patches(model, images, blocks=min(2, len(model.conv_blocks())), stop=stop)
    if patches is None:
        return None
    try:
        atomic_write(path, lambda tmp: np.savez(open(tmp, "wb"), **{f"block{b}": p for b, p in enumerate(patches)}))
    except SaveError as exc:  # a cache that cannot be written only costs time next time
        log.warning("filter patches not cached: %s", exc)
    return patches


def patches_for(predictor_model: ZooNet, dataset_name: str | None, stop=lambda: False) -> list[np.ndarray] | None:
    """The first two conv blocks' top patches from the test images of the dataset the model knows
    (``pictured_test_set``), cached in the user's cache folder;
    None when ``stop()`` ends the search."""
    from engine.datasets import pictured_test_set
    from engine.paths import cache_dir

    if not predictor_model.conv_blocks():
        return []  # no filters to find patches for
    data = pictured_test_set(dataset_name)
    return cached_top_patches(predictor_model, data.test_images.float() / 255, cache_dir() / "filter-patches", stop)
