"""Temperature scaling: it finds the temperature that generated the data, and the app uses it."""

import numpy as np
import pytest
import torch

from engine.calibrate import expected_calibration_error, fit_temperature, temperature_of
from engine.checkpoint import load_checkpoint, save_checkpoint
from engine.paths import default_model_path
from engine.predict import Predictor


def sampled(temperature: float, n: int = 20000, seed: int = 0):
    """Logits whose labels are drawn from softmax(logits / temperature): calibrated at that temperature."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 10, generator=gen) * 4
    labels = torch.multinomial((logits / temperature).softmax(1), 1, generator=gen).flatten()
    return logits, labels


def test_fit_recovers_the_temperature_that_made_the_labels():
    for true_t in (0.5, 1.0, 2.5):
        logits, labels = sampled(true_t)
        assert abs(fit_temperature(logits, labels) - true_t) / true_t < 0.05


def test_calibration_error_drops_to_near_zero_at_the_fitted_temperature():
    logits, labels = sampled(2.0)
    truth = labels.numpy()
    before = expected_calibration_error(logits.softmax(1).numpy(), truth)
    after = expected_calibration_error((logits / fit_temperature(logits, labels)).softmax(1).numpy(), truth)
    assert before > 0.1 and after < 0.02


def test_a_checkpoints_temperature_reaches_the_predictions(tmp_path):
    base = load_checkpoint(default_model_path())
    pixels = np.zeros((28, 28), np.float32)
    pixels[4:24, 13:15] = 1.0  # a plain 1
    plain = Predictor(base.model, "cpu", {**base.metadata, "calibration": None})
    path = save_checkpoint(tmp_path / "hot.pt", base.model, {**base.metadata, "calibration": {"temperature": 3.0}})
    hot = Predictor.load(path)
    assert hot.temperature == 3.0 and plain.temperature == 1.0
    p_plain, p_hot = plain.probabilities(pixels), hot.probabilities(pixels)
    assert p_plain.argmax() == p_hot.argmax() and p_hot.max() < p_plain.max()  # same answer, less sure
    for broken in ({"calibration": {"temperature": "x"}}, {"calibration": {"temperature": -1}}, {"calibration": 5}, {}):
        assert temperature_of(broken) == 1.0, broken


def test_not_sure_is_scored_on_the_mistakes_it_flags_and_the_right_answers_it_questions():
    from engine.evaluate import EvalResult

    probabilities = np.array([[0.97, 0.03], [0.60, 0.40], [0.95, 0.05], [0.30, 0.70], [0.92, 0.08]])
    labels = np.array([0, 0, 1, 0, 0])  # right, right but unsure, wrong and sure, wrong and unsure, right
    predictions = probabilities.argmax(1)
    result = EvalResult(0.6, 0.0, np.array([2 / 3, 0.0]), np.zeros((2, 2), int), predictions, probabilities, labels)
    assert result.not_sure() == (1, 2, pytest.approx(1 / 3))
    assert result.confidence_line().endswith('"Not sure" flags 1 of 2 mistakes, questions 33.3% of right answers')
