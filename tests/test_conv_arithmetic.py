"""The sizes and windows of sliding layers, checked against PyTorch's own layers."""

import itertools

import torch
from torch import nn

from engine.conv_arithmetic import Sliding, sliding_layers
from engine.models import ZOO, build_model


def test_the_output_size_and_each_outputs_window_are_pytorchs():
    for size, kernel, padding, stride, dilation in itertools.product((5, 7, 8), (1, 2, 3, 5), (0, 1, 2), (1, 2, 3), (1, 2)):
        sliding = Sliding(size, kernel, padding, stride, dilation)
        if sliding.reach > size + 2 * padding:  # PyTorch refuses a kernel larger than the padded input
            continue
        conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation, bias=False)
        nn.init.ones_(conv.weight)
        assert conv(torch.zeros(1, 1, size, size)).shape[-1] == sliding.out, sliding
        for pixel in range(size):  # a single lit pixel reaches exactly the outputs whose taps include it
            impulse = torch.zeros(1, 1, size, size)
            impulse[0, 0, pixel, pixel] = 1
            reached = conv(impulse)[0, 0].diagonal().nonzero().flatten().tolist()
            assert reached == [i for i in range(sliding.out) if pixel in sliding.taps(i)], (sliding, pixel)
        read = {t for i in range(sliding.out) for t in sliding.taps(i) if 0 <= t < size}
        assert sliding.unread() == size - 1 - max(read), sliding  # the far rows the stride left over


def test_the_formula_reads_as_it_computes():
    assert Sliding(28, 3, 1).formula() == "⌊(28 + 2×1 − 3) / 1⌋ + 1 = 28"
    assert Sliding(28, 2, 0, 2).formula() == "⌊(28 + 2×0 − 2) / 2⌋ + 1 = 14"
    assert Sliding(7, 3, 0, 1, 2).formula() == "⌊(7 + 2×0 − (2×(3−1)+1)) / 1⌋ + 1 = 3"


def test_every_zoo_models_sliding_layers_give_the_map_sizes_its_layers_make():
    for name in ZOO:
        model = build_model(name).eval()
        layers = sliding_layers(model)
        x = torch.zeros(1, 1, 28, 28)
        made = {}
        for child_name, child in model.features.named_children():
            x = child(x)
            made[child_name] = x.shape[-1]
        assert [layer.name for layer in layers] == [n for n in made if n.startswith(("conv", "pool"))], name
        for before, layer in zip([28, *[l.sliding.out for l in layers]], layers):
            assert layer.sliding.size == before and layer.sliding.out == made[layer.name], (name, layer)
    digitnet = sliding_layers(build_model("digitnet"))
    assert [(l.name, l.kind, l.sliding.size, l.sliding.out) for l in digitnet[:2]] == [
        ("conv1", "convolution", 28, 28), ("pool1", "max pooling", 28, 14)]
