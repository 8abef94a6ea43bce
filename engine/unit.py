"""One unit worked out by hand: the arithmetic a convolution does at one place, and a dense layer's.

A conv block's map at (row, col) is every kernel slice times the window of its input channel it
meets there, summed over the channels, plus a bias (or batch-normalised), through the activation.
A dense unit is every value it reads times its weight, summed, plus a bias (or batch-normalised),
through the activation; a class's score (logit) is the output layer's unit, with no activation. The
Layers tab shows these numbers under the mouse; they are computed from the layers' own weights and
what they read, and agree with the network's forward pass (tests/test_unit.py).
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from engine.models import ACTIVATION_TYPES, ConvBlock


@dataclass(frozen=True)
class UnitWork:
    row: int
    col: int
    window: tuple[int, int, int, int]  # the input rows and columns the kernel meets: top, left, bottom, right (exclusive), within the maps
    contributions: np.ndarray  # (C_in,) what each input channel's kernel slice adds
    bias: float  # the conv's own bias (0 when batch norm follows it)
    summed: float  # the conv's output: the contributions and the bias
    normalised: float | None  # after batch norm, if the block has it
    value: float  # after the activation: the map's value there
    activation: str  # "ReLU", "Sigmoid"…

    def strongest(self, n: int = 2) -> list[tuple[int, float]]:
        """The ``n`` input channels that add most to the sum, either way: (channel, contribution)."""
        order = np.argsort(-np.abs(self.contributions))[:n]
        return [(int(c), float(self.contributions[c])) for c in order]


@torch.no_grad()
def unit_work(block: ConvBlock, inputs: np.ndarray, channel: int, row: int, col: int) -> UnitWork:
    """How ``block`` made map ``channel`` at (row, col) from ``inputs`` (C_in×H×W, the maps it read)."""
    conv = block.conv
    if conv.dilation != (1, 1) or conv.groups != 1:
        raise ValueError("only plain convolutions are worked out by hand")
    (kh, kw), (ph, pw), (sh, sw) = conv.kernel_size, conv.padding, conv.stride
    padded = np.pad(inputs, ((0, 0), (ph, ph), (pw, pw)))  # zero padding, as the conv pads
    window = padded[:, row * sh: row * sh + kh, col * sw: col * sw + kw]  # a stride moves the kernel s pixels a step
    weights = conv.weight[channel].float().cpu().numpy()
    contributions = (weights * window).sum((1, 2))
    bias = float(conv.bias[channel]) if conv.bias is not None else 0.0
    summed = float(contributions.sum()) + bias
    normalised = None
    if hasattr(block, "bn"):
        normalised = _batch_normed(block.bn, channel, summed)
    value = float(block.act(torch.tensor(summed if normalised is None else normalised)))
    height, width = inputs.shape[1:]
    top, left = row * sh - ph, col * sw - pw
    box = (max(top, 0), max(left, 0), min(top + kh, height), min(left + kw, width))
    return UnitWork(row, col, box, contributions, bias, summed, normalised, value, type(block.act).__name__)


def _batch_normed(bn: nn.modules.batchnorm._BatchNorm, index: int, value: float) -> float:
    """``value`` through batch norm's map or unit ``index``: in evaluation, a fixed scale and shift."""
    scale = float(bn.weight[index]) / float(torch.sqrt(bn.running_var[index] + bn.eps))
    return (value - float(bn.running_mean[index])) * scale + float(bn.bias[index])


@dataclass(frozen=True)
class DenseWork:
    contributions: np.ndarray  # (inputs,) what each value the layer read adds: the value times its weight
    bias: float
    summed: float  # the contributions and the bias; for the output layer, the class's score (logit)
    normalised: float | None  # after batch norm, if the layer has it
    value: float  # after the activation; the output layer has none: its score
    activation: str  # "ReLU", "Sigmoid"…; "" for the output layer


@torch.no_grad()
def dense_work(classifier: nn.Sequential, name: str, inputs: np.ndarray, unit: int) -> DenseWork:
    """How the dense layer ``name`` of ``classifier`` made ``unit`` from ``inputs`` (the values it read),
    through the batch norm and activation after it; for the output layer, a class's score."""
    layers = dict(classifier.named_children())
    linear = layers[name]
    contributions = linear.weight[unit].float().cpu().numpy() * inputs
    bias = float(linear.bias[unit]) if linear.bias is not None else 0.0
    summed = float(contributions.sum()) + bias
    normalised, value, activation = None, summed, ""
    for layer in list(layers.values())[list(layers).index(name) + 1:]:
        if isinstance(layer, nn.BatchNorm1d):
            normalised = _batch_normed(layer, unit, summed)
        elif isinstance(layer, ACTIVATION_TYPES):
            activation = type(layer).__name__
            value = float(layer(torch.tensor(summed if normalised is None else normalised)))
            break
        elif isinstance(layer, nn.Linear):
            break
    return DenseWork(contributions, bias, summed, normalised, value, activation)
