"""What the network takes each digit to be: inputs made to maximise each class's score."""

import numpy as np

from engine.predict import Predictor
from engine.prototypes import class_prototypes


def test_each_prototype_is_read_as_its_digit_and_leaves_the_model_as_it_was():
    predictor = Predictor.load()
    before = [p.detach().clone() for p in predictor.model.parameters()]
    pictures = class_prototypes(predictor.model, steps=150)
    assert pictures.shape == (10, 28, 28) and 0 <= pictures.min() and pictures.max() <= 1
    probabilities = predictor.probabilities(pictures)
    assert (probabilities.argmax(1) == np.arange(10)).all() and probabilities.max(1).min() > 0.9
    assert 0.02 < pictures.mean() < 0.3  # strokes on a dark field, not a field of ink
    assert all(p.grad is None for p in predictor.model.parameters())  # the app reads with it meanwhile
    assert all((a == b).all() for a, b in zip(before, predictor.model.parameters())) and not predictor.model.training
    np.testing.assert_array_equal(pictures, class_prototypes(predictor.model, steps=150))  # the same each time


def test_making_prototypes_stops_when_asked():
    calls = []
    pictures = class_prototypes(Predictor.load().model, stop=lambda: calls.append(1) or len(calls) > 3)
    assert len(calls) == 4 and pictures.max() < 0.5  # three steps from a blank input: barely begun
