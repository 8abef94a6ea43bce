"""A feature map's unit worked out by hand agrees with the network's own forward pass."""

import numpy as np
import pytest
import torch

from engine.models import build_model
from engine.predict import Predictor
from engine.unit import dense_work, unit_work


def as_if_trained(net: torch.nn.Module) -> None:
    """Batch norm that is not the identity, as after training."""
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


STRIDED = "conv 6 5x5 stride 2 pad 2 bn tanh, conv 8 4x4 stride 3 sigmoid, dense 16"  # a network written as text


@pytest.mark.parametrize("model", ["digitnet", "seed003", "lenet5", STRIDED])  # batch norm, 5×5 padded, sigmoid, strides, tanh
def test_every_unit_worked_out_by_hand_is_the_maps_value(model, mnist):
    torch.manual_seed(0)
    net = (build_model("custom", layers=model) if model == STRIDED else
           build_model(model, batch_norm=True if model == "seed003" else None))
    as_if_trained(net)
    predictor = Predictor(net)
    pixels = mnist.test_images[0].numpy().astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    for index, (block, layer) in enumerate(zip(net.conv_blocks(), [v for v in predictor.layers(pixels) if v.is_conv])):
        channels, height, width = layer.values.shape
        # Corners and edges, where the window hangs over the zero padding, and places inside.
        places = [(0, 0), (height - 1, width - 1), (0, width // 2)] + [tuple(rng.integers(0, (height, width))) for _ in range(5)]
        for row, col in places:
            channel = int(rng.integers(channels))
            work = unit_work(block, layer.inputs, channel, row, col)
            assert work.value == pytest.approx(float(layer.values[channel, row, col]), abs=1e-4), (model, index, row, col)
            assert work.summed == pytest.approx(float(work.contributions.sum()) + work.bias, abs=1e-5)
            assert (work.normalised is not None) == hasattr(block, "bn")
            top, left, bottom, right = work.window
            kernel = block.conv.kernel_size[0]
            assert 0 <= top < bottom <= layer.inputs.shape[1] and 0 <= left < right <= layer.inputs.shape[2]
            assert bottom - top <= kernel and right - left <= kernel


def test_the_strongest_channels_are_those_that_add_most_either_way():
    from engine.unit import UnitWork

    work = UnitWork(0, 0, (0, 0, 3, 3), np.array([0.1, -0.9, 0.4, 0.0]), 0.0, -0.4, None, 0.0, "ReLU")
    assert work.strongest(2) == [(1, pytest.approx(-0.9)), (2, pytest.approx(0.4))]


def test_what_each_layer_reads_names_the_pooling_between_rows():
    assert build_model("lenet5").what_each_reads() == {
        "conv2": "conv1's maps, average-pooled 2×2", "fc1": "conv2's maps, average-pooled 2×2",
        "fc2": "fc1's units", "fc3": "fc2's units"}
    assert build_model("seed001").what_each_reads()["fc1"] == "conv3's maps"  # flattened as they are


TANH_HEAD = "conv 4 5x5 stride 3, dense 24 bn tanh, dropout 0.1, dense 12 tanh"  # a written network's tanh units


@pytest.mark.parametrize("model", ["digitnet", "seed000", "lenet5", TANH_HEAD])  # batch norm and dropout, plain, sigmoid, tanh
def test_every_dense_unit_and_score_worked_out_by_hand_is_the_networks_own(model, mnist):
    torch.manual_seed(0)
    net = build_model("custom", layers=model) if model == TANH_HEAD else build_model(model)
    as_if_trained(net)
    predictor = Predictor(net)
    for index in range(3):
        pixels = mnist.test_images[index].numpy().astype(np.float32) / 255.0
        dense = [layer for layer in predictor.layers(pixels) if not layer.is_conv]
        for layer in dense:  # every hidden unit: its weighted sum, batch norm and activation
            for unit in range(0, len(layer.values), 7):
                work = dense_work(net.classifier, layer.name, layer.inputs, unit)
                assert work.value == pytest.approx(float(layer.values[unit]), abs=1e-4), (model, layer.name, unit)
                assert work.summed == pytest.approx(float(work.contributions.sum()) + work.bias, abs=1e-5)
                assert work.activation in ("ReLU", "Sigmoid", "Tanh")
        logits = predictor.logits(pixels)
        for klass in range(10):  # and every class's score, from the last hidden layer's units
            work = dense_work(net.classifier, net.output_name(), dense[-1].values, klass)
            assert work.summed == work.value == pytest.approx(float(logits[klass]), abs=1e-4), (model, index, klass)
            assert work.activation == "" and work.normalised is None
