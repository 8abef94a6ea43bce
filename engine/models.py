"""The model zoo: the seed tutorials' networks and Digit Studio's own default, and networks the user
writes as text (``CUSTOM``, ``engine.network_text``).

Every network is a ``ZooNet``: a ``features`` stack whose ``ConvBlock``s (conv, optional batch norm,
activation) are what the Kernels tab shows, followed by a ``classifier`` head. Inputs are
N×1×28×28 images in [0, 1] with white ink on black, like MNIST; outputs are logits.
"""

import functools
import math
from collections import Counter, OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from engine.conv_arithmetic import sliding_layers, square
from engine.network_text import Layer, check, parse, steps, to_text

INITS = ("default", "he", "xavier", "normal0.01")  # normal0.01: seed 002's small Gaussian, std 0.01


class ConvBlock(nn.Sequential):
    """conv → (batch norm) → activation; its output is the block's feature map."""

    def __init__(self, c_in, c_out, kernel, padding=0, batch_norm=False, act=nn.ReLU, stride=1):
        layers = [("conv", nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=not batch_norm))]
        if batch_norm:
            layers.append(("bn", nn.BatchNorm2d(c_out)))
        layers.append(("act", act()))
        super().__init__(OrderedDict(layers))


class ZooNet(nn.Module):
    def __init__(self, name: str, features: OrderedDict, classifier: OrderedDict, default_init: str = "default"):
        super().__init__()
        self.name = name
        self.default_init = default_init
        self.features = nn.Sequential(features)
        self.classifier = nn.Sequential(classifier)

    def forward(self, x):
        return self.classifier(self.features(x))

    def conv_blocks(self) -> list[ConvBlock]:
        """The convolutional blocks in order (conv1, conv2, ...), for visualisation."""
        return [m for m in self.features if isinstance(m, ConvBlock)]

    def layers(self) -> tuple[Layer, ...]:
        """The network as the lines of ``engine.network_text`` that build it again (its output layer left out)."""
        out = []
        for layer in self.features:
            if isinstance(layer, ConvBlock):
                conv = layer.conv
                out.append(Layer("conv", conv.out_channels, conv.kernel_size[0], conv.padding[0], conv.stride[0],
                                 hasattr(layer, "bn"), _activation_name(layer.act)))
            elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
                out.append(Layer("maxpool" if isinstance(layer, nn.MaxPool2d) else "avgpool", square(layer.kernel_size)))
        head = list(self.classifier)
        for i, layer in enumerate(head[:-1]):
            if isinstance(layer, nn.Linear):
                after = head[i + 1:]
                activation = next((m for m in after if isinstance(m, ACTIVATION_TYPES)), None)
                out.append(Layer("dense", layer.out_features, batch_norm=isinstance(after[0], nn.BatchNorm1d),
                                 activation=_activation_name(activation)))
            elif isinstance(layer, nn.Dropout):
                out.append(Layer("dropout", rate=layer.p))
        return tuple(out)

    def output_name(self) -> str:
        """The name of the dense layer that makes the class scores (logits) from the last hidden layer's units."""
        return [name for name, m in self.classifier.named_children() if isinstance(m, nn.Linear)][-1]

    def what_each_reads(self) -> dict[str, str]:
        """What each dense layer reads, and each conv block that reads through a pooling layer (which the
        Layers tab shows no row for): "conv1's maps, max-pooled 2×2", "fc1's units"."""
        reads, above, above_layer, pools = {}, "", None, []
        for name, layer in [*self.features.named_children(), *self.classifier.named_children()]:
            if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
                size = square(layer.kernel_size)
                pools.append(f"{'max' if isinstance(layer, nn.MaxPool2d) else 'average'}-pooled {size}×{size}")
            elif isinstance(layer, (ConvBlock, nn.Linear)):
                source = f"{above}'s maps" if isinstance(above_layer, ConvBlock) else f"{above}'s units" if above else "the input"
                if pools or isinstance(layer, nn.Linear):
                    reads[name] = ", ".join([source, *pools])
                above, above_layer, pools = name, layer, []
        return reads

    def trace(self, x) -> tuple[torch.Tensor, list["Traced"]]:
        """Logits and, in order, what every conv block read and made and what every hidden dense
        layer made (after its activation), in one pass."""
        traced = []
        for name, layer in self.features.named_children():
            out = layer(x)
            if isinstance(layer, ConvBlock):
                traced.append(Traced(name, x, out))
            x = out
        dense = read = None
        for name, layer in self.classifier.named_children():
            if isinstance(layer, nn.Linear):
                dense, read = name, x
            x = layer(x)
            if isinstance(layer, ACTIVATION_TYPES) and dense:
                traced.append(Traced(dense, read, x))
        return x, traced


@dataclass(frozen=True)
class Traced:
    name: str  # the layer's name in the model: "conv1", "fc1"…
    inputs: torch.Tensor  # what the layer read: a conv block N×C×H×W maps, a dense layer N×values
    outputs: torch.Tensor  # after the activation: N×C×H×W maps or N×units


def _seed000(bn: bool = False) -> ZooNet:
    # Keras tutorial (seed 000): one 3×3 conv of 8 filters, max-pool, dense 120, He-uniform init.
    return ZooNet(
        "seed000",
        OrderedDict(conv1=ConvBlock(1, 8, 3, batch_norm=bn), pool1=nn.MaxPool2d(2)),
        OrderedDict(flatten=nn.Flatten(), fc1=nn.Linear(8 * 13 * 13, 120), act=nn.ReLU(), fc2=nn.Linear(120, 10)),
        default_init="he",
    )


def _seed001(bn: bool = False) -> ZooNet:
    # TensorFlow 2 tutorial (seed 001): conv 32/64/64 3×3 (valid), two max-pools, dense 64.
    return ZooNet(
        "seed001",
        OrderedDict(
            conv1=ConvBlock(1, 32, 3, batch_norm=bn), pool1=nn.MaxPool2d(2),
            conv2=ConvBlock(32, 64, 3, batch_norm=bn), pool2=nn.MaxPool2d(2),
            conv3=ConvBlock(64, 64, 3, batch_norm=bn),
        ),
        OrderedDict(flatten=nn.Flatten(), fc1=nn.Linear(64 * 3 * 3, 64), act=nn.ReLU(), fc2=nn.Linear(64, 10)),
    )


def _seed003(bn: bool = False) -> ZooNet:
    # PyTorch tutorial (seed 003): conv 4@5×5 and 8@5×5 with padding 2, max-pools, dense 512, dropout.
    return ZooNet(
        "seed003",
        OrderedDict(
            conv1=ConvBlock(1, 4, 5, padding=2, batch_norm=bn), pool1=nn.MaxPool2d(2),
            conv2=ConvBlock(4, 8, 5, padding=2, batch_norm=bn), pool2=nn.MaxPool2d(2),
        ),
        OrderedDict(
            flatten=nn.Flatten(), fc1=nn.Linear(8 * 7 * 7, 512), act=nn.ReLU(),
            dropout=nn.Dropout(0.5), fc2=nn.Linear(512, 10),
        ),
    )


def _lenet5(bn: bool = False) -> ZooNet:
    # LeNet-5 as in d2l (seed 004): sigmoid activations, average pooling, 6/16 channels, dense 120/84.
    return ZooNet(
        "lenet5",
        OrderedDict(
            conv1=ConvBlock(1, 6, 5, padding=2, batch_norm=bn, act=nn.Sigmoid), pool1=nn.AvgPool2d(2),
            conv2=ConvBlock(6, 16, 5, batch_norm=bn, act=nn.Sigmoid), pool2=nn.AvgPool2d(2),
        ),
        OrderedDict(
            flatten=nn.Flatten(), fc1=nn.Linear(16 * 5 * 5, 120), act1=nn.Sigmoid(),
            fc2=nn.Linear(120, 84), act2=nn.Sigmoid(), fc3=nn.Linear(84, 10),
        ),
        default_init="xavier",
    )


def _digitnet(bn: bool = True) -> ZooNet:
    # Digit Studio's default: batch-normed 3×3 convs that widen as the image shrinks (16 at 28×28,
    # 32 at 14×14, 64 at 7×7), so the compute stays small enough to train fast on a laptop CPU.
    head = [("flatten", nn.Flatten()), ("fc1", nn.Linear(64 * 3 * 3, 128, bias=not bn))]
    head += [("bn", nn.BatchNorm1d(128))] if bn else []
    head += [("act", nn.ReLU()), ("dropout", nn.Dropout(0.2)), ("fc2", nn.Linear(128, 10))]
    return ZooNet(
        "digitnet",
        OrderedDict(
            conv1=ConvBlock(1, 16, 3, padding=1, batch_norm=bn),
            pool1=nn.MaxPool2d(2),
            conv2=ConvBlock(16, 32, 3, padding=1, batch_norm=bn),
            conv3=ConvBlock(32, 32, 3, padding=1, batch_norm=bn),
            pool2=nn.MaxPool2d(2),
            conv4=ConvBlock(32, 64, 3, padding=1, batch_norm=bn),
            conv5=ConvBlock(64, 64, 3, padding=1, batch_norm=bn),
            pool3=nn.MaxPool2d(2),
        ),
        OrderedDict(head),
    )


ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}  # the names engine.network_text reads
ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


def _activation_name(module) -> str:
    return next(name for name, kind in ACTIVATIONS.items() if isinstance(module, kind))


def _written(layers: tuple[Layer, ...], batch_norm: bool | None = None, classes: int = 10) -> ZooNet:
    """A network from the lines of ``engine.network_text``; ``batch_norm`` on or off overrides every conv and
    hidden dense layer's own. Its layers are named as the zoo names them (conv1, pool1, fc1; act, or act1
    and act2 when the head has several), so a zoo network written out as text builds the same network."""
    check(layers, classes)
    features, head = OrderedDict(), [("flatten", nn.Flatten())]
    counts, last = Counter(), None
    for layer, before, last in steps(layers):
        counts[layer.kind] += 1
        normed = layer.batch_norm if batch_norm is None else batch_norm
        activation = ACTIVATIONS[layer.activation]
        if layer.kind == "conv":
            features[f"conv{counts['conv']}"] = ConvBlock(before.channels, layer.size, layer.kernel, layer.padding, normed,
                                                          activation, layer.stride)
        elif layer.kind == "dense":
            head.append((f"fc{counts['dense']}", nn.Linear(before.values, layer.size, bias=not normed)))
            head += [("bn", nn.BatchNorm1d(layer.size))] if normed else []
            head.append(("act", activation()))
        elif layer.kind == "dropout":
            head.append(("dropout", nn.Dropout(layer.rate)))
        else:
            pools = counts["maxpool"] + counts["avgpool"]
            features[f"pool{pools}"] = (nn.MaxPool2d if layer.kind == "maxpool" else nn.AvgPool2d)(layer.size)
    head.append((f"fc{counts['dense'] + 1}", nn.Linear(last.values, classes)))
    several = {name for name, n in Counter(name for name, _ in head).items() if n > 1}
    numbered = Counter()
    for i, (name, module) in enumerate(head):
        if name in several:
            numbered[name] += 1
            head[i] = (f"{name}{numbered[name]}", module)
    return ZooNet(CUSTOM, features, OrderedDict(head))


@dataclass(frozen=True)
class ZooEntry:
    build: callable
    description: str


ZOO: dict[str, ZooEntry] = {
    "digitnet": ZooEntry(_digitnet, "Digit Studio default: 5 batch-normed 3×3 convs (16-32-32-64-64), dense 128"),
    "seed000": ZooEntry(_seed000, "Seed 000 (Keras): conv 8@3×3, max-pool, dense 120, He init"),
    "seed001": ZooEntry(_seed001, "Seed 001 (TF2): conv 32/64/64 @3×3, two max-pools, dense 64"),
    "seed003": ZooEntry(_seed003, "Seed 003 (PyTorch): conv 4 and 8 @5×5 pad 2, max-pools, dense 512, dropout"),
    "lenet5": ZooEntry(_lenet5, "LeNet-5 (seed 004): 6/16 channels 5×5, sigmoid, average pooling, dense 120/84"),
}
DEFAULT_MODEL = "digitnet"
CUSTOM = "custom"  # a network the user writes as text (its layers in the checkpoint's "layers" option)


@functools.cache
def zoo_text(name: str, **switches) -> str:
    """A zoo network written as the lines of ``engine.network_text`` (the same for every build of it), as
    build_model's ``switches`` (batch_norm, dropout, activation) make it."""
    return to_text(build_model(name, **switches).layers())


def initialise(model: nn.Module, init: str) -> None:
    """Re-initialise conv and linear weights: "he" (Kaiming), "xavier" (Glorot), "normal0.01" (a
    Gaussian of std 0.01, seed 002's small init) or PyTorch's default."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose from {', '.join(INITS)}")
    if init == "default":
        return
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if init == "he":
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            elif init == "xavier":
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.normal_(m.weight, std=0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def set_dropout(model: ZooNet, rate: float) -> None:
    """Every dropout layer at ``rate``; a model without one gets one before its last layer."""
    layers = [m for m in model.classifier if isinstance(m, nn.Dropout)]
    for layer in layers:
        layer.p = rate
    if not layers and rate > 0:
        children = list(model.classifier.named_children())
        children.insert(len(children) - 1, ("dropout", nn.Dropout(rate)))
        model.classifier = nn.Sequential(OrderedDict(children))


def set_activation(model: ZooNet, activation: str) -> None:
    """Every conv block's and hidden dense layer's activation made ``activation`` (one of ACTIVATIONS); they
    hold no weights, so the model's parameters stay as they are."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, ACTIVATION_TYPES):
                setattr(parent, name, ACTIVATIONS[activation]())


def build_model(name: str, init: str | None = None, batch_norm: bool | None = None,
                dropout: float | None = None, layers: str = "", activation: str | None = None) -> ZooNet:
    """A fresh model from the zoo, or (``CUSTOM``) the one ``layers`` writes. ``None`` keeps the model's own
    (the seed's) initialisation, batch norm, dropout and activations; the switches are what the Experiments
    comparisons vary. A network that cannot be built raises ValueError (a NetworkTextError names the line)."""
    if layers and name != CUSTOM:
        raise ValueError(f"layers are written for a {CUSTOM} network, not for {name}")
    if name == CUSTOM:
        model = _written(parse(layers), batch_norm)
    elif name in ZOO:
        model = ZOO[name].build() if batch_norm is None else ZOO[name].build(batch_norm)
    else:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join((*ZOO, CUSTOM))}")
    if dropout is not None:
        set_dropout(model, dropout)
    if activation is not None:
        set_activation(model, activation)
    initialise(model, init or model.default_init)
    return model


def architecture(model_name: str, batch_norm: bool | None, dropout: float | None, layers: str = "",
                 activation: str | None = None) -> dict:
    """The build_model arguments that change the layers, as checkpoints keep them ("kwargs")."""
    kwargs = {"layers": layers} if model_name == CUSTOM else {}
    if batch_norm is not None:
        kwargs["batch_norm"] = bool(batch_norm)
    if dropout is not None:
        kwargs["dropout"] = float(dropout)
    if activation is not None:
        kwargs["activation"] = activation
    return kwargs


@dataclass(frozen=True)
class SummaryRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int


def summarize(model: ZooNet, side: int = 28) -> list[SummaryRow]:
    """One row per leaf layer with its output shape and parameter count, worked out from the layers' own
    settings (``engine.conv_arithmetic``) rather than by running an input through them: a network built on
    the meta device, no weights in memory, is summarised at once however large it is."""
    sides = {layer.name: layer.sliding.out for layer in sliding_layers(model, side)}
    rows, shape = [], (1, side, side)

    def add(name: str, module: nn.Module) -> None:
        rows.append(SummaryRow(name, type(module).__name__, shape, sum(p.numel() for p in module.parameters())))

    for name, block in model.features.named_children():
        channels = block.conv.out_channels if isinstance(block, ConvBlock) else shape[0]
        out = sides.get(name, shape[1])
        shape = (channels, out, out)
        for part, leaf in block.named_children() if isinstance(block, ConvBlock) else [("", block)]:
            add(f"features.{name}.{part}" if part else f"features.{name}", leaf)
    for name, layer in model.classifier.named_children():
        if isinstance(layer, nn.Flatten):
            shape = (math.prod(shape),)
        elif isinstance(layer, nn.Linear):
            shape = (layer.out_features,)
        add(f"classifier.{name}", layer)
    return rows


def format_summary(model: nn.Module) -> str:
    """A table like Keras' ``model.summary()``."""
    rows = summarize(model)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    width = max(len(f"{r.name} ({r.kind})") for r in rows) + 2
    rule = "=" * (width + 34)
    lines = [f"Model: {getattr(model, 'name', type(model).__name__)}", rule,
             f"{'Layer (type)':<{width}}{'Output shape':<22}{'Params':>12}", rule]
    for r in rows:
        lines.append(f"{f'{r.name} ({r.kind})':<{width}}{str(r.output_shape):<22}{r.params:>12,}")
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", f"Size (float32): {total * 4 / 1024:,.1f} KiB"]
    return "\n".join(lines)
