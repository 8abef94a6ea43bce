"""A feature map switched off: the copy reads zeros from it and nothing else changes; what each map of a
layer is worth is the accuracy of that copy, map by map."""

import numpy as np
import torch

from engine.ablation import knocked_out, maps_needed
from engine.predict import Predictor
from engine.preprocess import sample_input


def test_a_map_switched_off_is_zero_in_a_copy_and_the_model_itself_is_untouched():
    predictor = Predictor.load()
    pixels = sample_input(7)
    before = predictor.layers(pixels)
    copy = Predictor(knocked_out(predictor.model, "conv1", 8), "cpu", predictor.metadata)
    after = copy.layers(pixels)
    assert before[0].values[8].max() > 0.5 and np.all(after[0].values[8] == 0)  # the map itself, gone
    np.testing.assert_array_equal(np.delete(after[0].values, 8, 0), np.delete(before[0].values, 8, 0))  # its neighbours kept
    assert np.abs(after[1].values - before[1].values).max() > 0.1  # every layer after it reads the zeros
    np.testing.assert_array_equal(predictor.layers(pixels)[0].values, before[0].values)  # the model shown is the same
    assert not predictor.model.features.conv1._forward_hooks


def test_each_maps_worth_is_the_accuracy_without_it(mnist):
    predictor = Predictor.load()
    images, labels = mnist.test_images[:300].float() / 255, mnist.test_labels[:300]
    needed = maps_needed(predictor.model, "conv1", images, labels, 10, batch=128)  # batches that split the digits
    with torch.no_grad():
        def accuracy(model) -> float:
            return float((model(images.unsqueeze(1)).argmax(1) == labels).float().mean())
        assert needed.accuracy == accuracy(predictor.model)
        costs = needed.accuracy - needed.without
        for channel in (int(costs.argmax()), int(costs.argmin())):
            assert needed.without[channel] == accuracy(knocked_out(predictor.model, "conv1", channel))
    assert len(needed.without) == 16 and costs.max() > 0.01  # one of the first layer's maps costs over a point
    assert needed.rank(int(costs.argmax())) == 1 and needed.rank(int(costs.argmin())) >= 2
    worst, drop = needed.hardest_hit(int(costs.argmax()))
    on = labels == worst
    assert drop == needed.per_class[worst] - needed.without_per_class[int(costs.argmax()), worst] > costs.max()
    assert needed.per_class[worst] == float((predictor.model(images[on].unsqueeze(1)).argmax(1) == worst).float().mean())
    assert maps_needed(predictor.model, "conv2", images, labels, 10, stop=lambda: True) is None
