"""A network written as text, one layer a line, as a learner would sketch it:

    conv 16 3x3 pad 1 bn
    maxpool 2
    dense 128
    dropout 0.2

The last layer, dense to the classes, is added for it. Parsing, checking that every layer has
something left to read, and writing a network back as text live here; torch builds it in
``engine.models``. Like ConvNetJS's layer definitions, but checked as they are written, with a message
that names the line (or, written on one line, the layer) and says what is wrong.
"""

import re
from dataclasses import dataclass, field

ACTIVATIONS = ("relu", "sigmoid", "tanh")
POOLS = ("maxpool", "avgpool")
KINDS = ("conv", *POOLS, "dense", "dropout")
MOST_UNITS = 1024  # filters of a conv, units of a dense layer
MOST_LAYERS = 32
MOST_PARAMETERS = 20_000_000  # ~80 MB of weights; far beyond what trains in minutes on a laptop
EXAMPLE = "conv 16 3x3 pad 1, maxpool 2, dense 64"
GRAMMAR = ("conv FILTERS KxK [pad P] [stride S] [bn] [sigmoid|tanh] · maxpool K · avgpool K · "
           "dense UNITS [bn] [sigmoid|tanh] · dropout RATE; ReLU unless sigmoid or tanh is written; "
           "the output layer is added")


class NetworkTextError(ValueError):
    """A line that is not a layer, or a layer with nothing left to read; the message says where."""


@dataclass(frozen=True)
class Layer:
    kind: str  # one of KINDS
    size: int = 0  # conv: filters; dense: units; pool: its window (and stride)
    kernel: int = 0  # conv: the side of its square kernel
    padding: int = 0
    stride: int = 1
    batch_norm: bool = False
    activation: str = "relu"
    rate: float = 0.0  # dropout
    where: str = field(default="", compare=False)  # where it was written, for messages: "line 3" or "layer 3"

    def text(self) -> str:
        if self.kind == "conv":
            words = [f"conv {self.size} {self.kernel}x{self.kernel}"]
            words += [f"pad {self.padding}"] if self.padding else []
            words += [f"stride {self.stride}"] if self.stride != 1 else []
        elif self.kind == "dense":
            words = [f"dense {self.size}"]
        elif self.kind == "dropout":
            return f"dropout {self.rate:g}"
        else:
            return f"{self.kind} {self.size}"
        words += ["bn"] if self.batch_norm else []
        words += [self.activation] if self.activation != "relu" else []
        return " ".join(words)


@dataclass(frozen=True)
class Shape:
    """What a layer hands on: maps of channels × side × side, or (side 0) a vector of channels values."""
    channels: int
    side: int = 0

    @property
    def values(self) -> int:
        """How many numbers it is, as a dense layer reads them."""
        return self.channels * self.side ** 2 if self.side else self.channels

    def __str__(self) -> str:
        return f"{self.channels}×{self.side}×{self.side}" if self.side else str(self.channels)


def _whole(word: str, what: str, low: int, high: int) -> int:
    if not re.fullmatch(r"\d+", word):
        raise ValueError(f"{what} should be a whole number, not {word!r}")
    value = int(word)
    if not low <= value <= high:
        raise ValueError(f"{what} should be {low} to {high}, not {value}")
    return value


def _side(word: str, what: str = "kernel") -> int:
    """A square's side, written 3x3, 3×3 or 3."""
    match = re.fullmatch(r"(\d+)(?:[x×*](\d+))?", word)
    if not match:
        raise ValueError(f"the {what} should be written like 3x3, not {word!r}")
    side, other = match.groups()
    if other is not None and other != side:
        raise ValueError(f"{what}s here are square (3x3, 5x5); {word} is not")
    return _whole(side, f"the {what}'s side", 1, 28)


def _options(words: list[str], kind: str) -> dict:
    """pad P, stride S, bn and an activation, in any order."""
    options, words = {}, list(words)
    while words:
        word = words.pop(0)
        if word in ("pad", "padding", "stride") and kind == "conv":
            if not words:
                raise ValueError(f"{word} needs a number after it")
            name = "stride" if word == "stride" else "padding"
            if name in options:
                raise ValueError(f"{word} is given twice")
            options[name] = _whole(words.pop(0), word, 1 if name == "stride" else 0, 28)
        elif word in ("bn", "batchnorm"):
            options["batch_norm"] = True
        elif word in ACTIVATIONS:
            if "activation" in options:
                raise ValueError("one activation per layer")
            options["activation"] = word
        else:
            extra = "pad, stride, bn" if kind == "conv" else "bn"
            raise ValueError(f"{word!r} is not an option of {kind} (it takes {extra}, "
                             f"{', '.join(ACTIVATIONS[:-1])} or {ACTIVATIONS[-1]})")
    return options


def _layer(text: str, where: str) -> Layer:
    words = text.lower().replace("=", " ").split()
    kind, args = words[0], words[1:]
    if kind in ("fc", "linear"):
        kind = "dense"
    if kind not in KINDS:
        raise ValueError(f"{words[0]!r} is not a layer; a line starts with {', '.join(KINDS)}")
    if kind == "dropout":
        if len(args) != 1 or not re.fullmatch(r"0?\.\d+|0", args[0]):
            raise ValueError("dropout takes the share of units dropped, from 0 to 0.9: dropout 0.5")
        rate = float(args[0])
        if rate > 0.9:
            raise ValueError(f"a dropout of {rate:g} leaves too little; use at most 0.9")
        return Layer("dropout", rate=rate, where=where)
    if kind in POOLS:
        if len(args) != 1:
            raise ValueError(f"{kind} takes its window's side: {kind} 2")
        return Layer(kind, size=_side(args[0], "window"), where=where)
    if not args:
        raise ValueError(f"{kind} needs its number of {'filters' if kind == 'conv' else 'units'}: "
                         + ("conv 16 3x3" if kind == "conv" else "dense 128"))
    size = _whole(args[0], "filters" if kind == "conv" else "units", 1, MOST_UNITS)
    if kind == "dense":
        return Layer("dense", size=size, where=where, **_options(args[1:], kind))
    if len(args) < 2:
        raise ValueError(f"conv needs its kernel after the filters: conv {size} 3x3")
    options = _options(args[2:], kind)
    kernel = _side(args[1])
    if options.get("padding", 0) >= kernel:
        raise ValueError(f"padding of {options['padding']} is as wide as the {kernel}×{kernel} kernel; "
                         f"use at most {kernel - 1}")
    return Layer("conv", size=size, kernel=kernel, where=where, **options)


def parse(text: str) -> tuple[Layer, ...]:
    """The layers written in ``text``: one a line (or separated by commas or semicolons); ``#`` starts a
    comment. NetworkTextError names the first that is not a layer: by its line, or on one line (as a
    command line gives them) by its place."""
    rows = [(number, [p.strip() for p in re.split(r"[;,]", row.split("#", 1)[0]) if p.strip()])
            for number, row in enumerate(text.splitlines(), 1)]
    one_line = sum(bool(parts) for _, parts in rows) == 1
    layers = []
    for number, parts in rows:
        for part in parts:
            where = f"layer {len(layers) + 1}" if one_line else f"line {number}"
            try:
                layers.append(_layer(part, where))
            except ValueError as exc:
                raise NetworkTextError(f"{where} ({part}): {exc}") from None
    if not layers:
        raise NetworkTextError(f"no layers written; write one a line, e.g. {EXAMPLE}")
    if len(layers) > MOST_LAYERS:
        raise NetworkTextError(f"{len(layers)} layers; this app builds at most {MOST_LAYERS}")
    return tuple(layers)


def shapes(layers: tuple[Layer, ...], side: int = 28, channels: int = 1) -> list[Shape]:
    """What each layer hands on, from an input of channels × side × side. NetworkTextError names a layer
    that would have nothing left to read, or a picture's layer after the flattening."""
    shape, out = Shape(channels, side), []
    for i, layer in enumerate(layers):
        where = f"{layer.where} ({layer.text()})"
        if layer.kind == "conv" or layer.kind in POOLS:
            if not shape.side:
                raise NetworkTextError(f"{where}: comes after a dense layer, whose units are no longer a picture; "
                                       "put conv and pool layers first")
            if layer.kind == "conv":
                reach = shape.side + 2 * layer.padding - layer.kernel
                if reach < 0:
                    raise NetworkTextError(f"{where}: the maps are {shape.side}×{shape.side} here, smaller than the "
                                           f"{layer.kernel}×{layer.kernel} kernel; pad them or use a smaller kernel")
                shape = Shape(layer.size, reach // layer.stride + 1)
            else:
                if layer.size > shape.side:
                    raise NetworkTextError(f"{where}: the maps are {shape.side}×{shape.side} here, smaller than the "
                                           f"{layer.size}×{layer.size} window")
                shape = Shape(shape.channels, shape.side // layer.size)
        elif layer.kind == "dense":
            shape = Shape(layer.size)
        elif shape.side and any(later.kind not in ("dense", "dropout") for later in layers[i + 1:]):
            raise NetworkTextError(f"{where}: dropout here works on dense units; put it after the last conv or pool")
        out.append(shape)
    return out


def steps(layers: tuple[Layer, ...], side: int = 28, channels: int = 1):
    """Each layer with what it reads and what it hands on: (layer, before, after)."""
    before = Shape(channels, side)
    for layer, after in zip(layers, shapes(layers, side, channels)):
        yield layer, before, after
        before = after


def parameters(layers: tuple[Layer, ...], classes: int = 10, side: int = 28, channels: int = 1) -> int:
    """How many weights the network holds, the output layer to ``classes`` included."""
    total, last = 0, Shape(channels, side)
    for layer, before, last in steps(layers, side, channels):
        if layer.kind in ("conv", "dense"):
            reads = before.channels * layer.kernel ** 2 if layer.kind == "conv" else before.values
            total += layer.size * (reads + (2 if layer.batch_norm else 1))  # bias, or batch norm's scale and shift
    return total + classes * (last.values + 1)


def multiply_adds(layers: tuple[Layer, ...], classes: int = 10, side: int = 28, channels: int = 1) -> int:
    """The multiplications (each with its addition) one image costs going through the network: what makes a
    network slow, as the parameters make it large. A conv's kernel is applied once for every place of its map."""
    total, last = 0, Shape(channels, side)
    for layer, before, last in steps(layers, side, channels):
        if layer.kind == "conv":
            total += last.values * before.channels * layer.kernel ** 2
        elif layer.kind == "dense":
            total += layer.size * before.values
    return total + classes * last.values


def check(layers: tuple[Layer, ...], classes: int = 10) -> tuple[Layer, ...]:
    """The layers, once it is sure a network of them can be built here (NetworkTextError if not)."""
    count = parameters(layers, classes)
    if count > MOST_PARAMETERS:
        raise NetworkTextError(f"{count:,} parameters; this app builds networks of at most {MOST_PARAMETERS:,} "
                               "(fewer filters or units, or a pool before the first dense layer)")
    return layers


def to_text(layers: tuple[Layer, ...]) -> str:
    """The layers written one a line, as ``parse`` reads them."""
    return "\n".join(layer.text() for layer in layers)
