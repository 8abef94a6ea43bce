"""How a kernel sliding over a map sets the size of what it makes: kernel size, padding, stride and
dilation, for a convolution and a pooling layer alike (Dumoulin and Visin's convolution arithmetic),
and the sizes every sliding layer of a network gives its maps."""

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class Sliding:
    size: int  # the input's side, in pixels
    kernel: int
    padding: int = 0
    stride: int = 1
    dilation: int = 1

    @property
    def reach(self) -> int:
        """The side of the patch one output reads: a dilated kernel's taps spread over more pixels."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def out(self) -> int:
        """The output's side (0 when the kernel does not fit even once)."""
        return max(0, (self.size + 2 * self.padding - self.reach) // self.stride + 1)

    def taps(self, position: int) -> list[int]:
        """The input coordinates output ``position`` reads along one side: below 0 or from ``size`` on
        they are padding (zeros)."""
        start = position * self.stride - self.padding
        return [start + k * self.dilation for k in range(self.kernel)]

    def unread(self) -> int:
        """Input rows (or columns) at the far side past the last one any output reads: the stride left
        them over."""
        read = [t for i in range(self.out) for t in self.taps(i) if 0 <= t < self.size]
        return self.size - 1 - max(read) if read else self.size

    def formula(self) -> str:
        """⌊(28 + 2×1 − 3) / 1⌋ + 1 = 28, with the dilated reach written out when there is one."""
        reach = f"{self.reach}" if self.dilation == 1 else f"({self.dilation}×({self.kernel}−1)+1)"
        return f"⌊({self.size} + 2×{self.padding} − {reach}) / {self.stride}⌋ + 1 = {self.out}"


@dataclass(frozen=True)
class SlidingLayer:
    name: str  # "conv1", "pool1"
    kind: str  # "convolution", "max pooling", "average pooling"
    sliding: Sliding


def square(value) -> int:
    """A layer's square setting (3, or (3, 3)) as one number."""
    return value if isinstance(value, int) else value[0]


def sliding_layers(model: nn.Module, size: int = 28) -> list[SlidingLayer]:
    """Every layer of ``model.features`` that slides a window (convolutions, poolings), in order, each
    with the side of the map it reads."""
    layers = []
    for name, layer in model.features.named_children():
        conv = getattr(layer, "conv", layer)
        if isinstance(conv, nn.Conv2d):
            kind, settings = "convolution", (conv.kernel_size, conv.padding, conv.stride, conv.dilation)
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            kind = "max pooling" if isinstance(layer, nn.MaxPool2d) else "average pooling"
            settings = (layer.kernel_size, layer.padding, layer.stride or layer.kernel_size,
                        getattr(layer, "dilation", 1))
        else:
            continue
        sliding = Sliding(size, *(square(v) for v in settings))
        layers.append(SlidingLayer(name, kind, sliding))
        size = sliding.out
    return layers
