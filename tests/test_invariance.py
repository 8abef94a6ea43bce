"""Sweeps of one change over the network's input: each change goes the way its axis says, and the answers
are the network's own."""

import numpy as np
import pytest

from engine.invariance import CHANGES, NOISE, NUDGED, changed_inputs, nudged_inputs, sweep
from engine.predict import Predictor
from engine.preprocess import sample_input


def bar() -> np.ndarray:
    """An upright bar two pixels wide, rows 4-23 and columns 13-14."""
    pixels = np.zeros((28, 28), np.float32)
    pixels[4:24, 13:15] = 1
    return pixels


def ink_columns(image: np.ndarray, rows: slice) -> float:
    return float(np.nonzero(image[rows] > 0.3)[1].mean())


def test_every_change_goes_the_way_its_axis_says_and_its_unchanged_step_is_the_input():
    pixels = bar()
    for kind, change in CHANGES.items():
        if kind == NUDGED:
            continue  # made with the network (below)
        unchanged = changed_inputs(pixels, kind, [change.unchanged])[0, 0].numpy()
        assert np.allclose(unchanged, pixels, atol=1e-5), kind
    turned = changed_inputs(pixels, "turn", [30.0])[0, 0].numpy()  # counter-clockwise: the top goes left
    assert ink_columns(turned, slice(5, 8)) < 12 < 16 < ink_columns(turned, slice(20, 23))
    moved = changed_inputs(pixels, "move_x", [3.0, -2.0])[:, 0].numpy()
    assert np.nonzero(moved[0][10] > 0.5)[0].tolist() == [16, 17] and np.nonzero(moved[1][10] > 0.5)[0].tolist() == [11, 12]
    down = changed_inputs(pixels, "move_y", [3.0])[0, 0].numpy()
    assert np.nonzero(down[:, 13] > 0.5)[0][[0, -1]].tolist() == [7, 26]
    half = changed_inputs(pixels, "size", [0.5])[0, 0].numpy()
    rows = np.nonzero(half.max(1) > 0.3)[0]
    assert 9 <= len(rows) <= 11 and abs(rows.mean() - 13.5) < 1  # half as tall, about the centre
    slanted = changed_inputs(pixels, "slant", [0.5])[0, 0].numpy()  # the top leans right
    assert ink_columns(slanted, slice(5, 7)) > 16 and ink_columns(slanted, slice(21, 23)) < 12
    ink = changed_inputs(pixels, "stroke", [-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])[:, 0].numpy().sum((1, 2))
    assert ink[0] == 0 and np.all(np.diff(ink) > 0)  # a 2-pixel stroke worn away by a pixel a side is gone
    assert ink[4] == pytest.approx(22 * 4)  # a pixel added to each side (and to each end)
    grey = np.full((28, 28), 0.5, np.float32)  # nothing clipped: every pixel moves by the whole budget
    fogged = changed_inputs(grey, "noise", [10.0, 20.0])[:, 0].numpy()
    assert np.allclose(np.abs(fogged - grey), [[[0.1]], [[0.2]]], atol=1e-6)
    up = fogged[0] > grey
    assert 0.4 < up.mean() < 0.6 and np.array_equal(up, fogged[1] > grey)  # up or down at random, one pattern
    assert np.array_equal(changed_inputs(grey, "noise", [10.0])[0, 0].numpy(), fogged[0])  # the same noise each time
    on_bar = changed_inputs(pixels, "noise", [20.0])[0, 0].numpy()
    assert on_bar.min() >= 0 and on_bar.max() <= 1 and np.abs(on_bar - pixels).max() == pytest.approx(0.2)


def test_a_sweep_reads_each_changed_input_as_the_network_does_and_says_where_the_answer_changes():
    predictor = Predictor.load()
    pixels = sample_input(7)
    made = sweep(predictor, pixels, "turn")
    assert made.values[0] == -90 and made.values[-1] == 90 and made.values[made.unchanged_index] == 0
    np.testing.assert_allclose(made.probabilities, predictor.probabilities(made.images), atol=1e-6)
    np.testing.assert_allclose(made.probabilities.sum(1), 1, atol=1e-5)
    assert made.answers[made.unchanged_index] == predictor.probabilities(pixels).argmax() == 7
    low, high = made.kept_span()
    inside = (made.values >= low) & (made.values <= high)
    assert low < 0 < high and np.all(made.answers[inside] == 7)  # one unbroken span around the unchanged input
    at, other = made.first_other()
    assert other != 7 and made.answers[list(made.values).index(at)] == other
    assert min(abs(at - low), abs(at - high)) == 5  # the first step past the span, on the nearer side
    moved = sweep(predictor, pixels, "move_x")  # a convolution finds the strokes wherever they are
    assert moved.kept_span()[0] <= -3 and moved.kept_span()[1] >= 3


def test_a_nudge_within_a_few_percent_of_ink_fools_the_network_and_its_gradient_chose_it():
    import torch
    import torch.nn.functional as F

    predictor = Predictor.load()
    pixels = sample_input(7)
    budgets = [0.0, 2.0, 10.0, 20.0]
    nudged = nudged_inputs(predictor.model, pixels, budgets)[:, 0].numpy()
    assert np.array_equal(nudged[0], pixels.astype(np.float32))  # no budget, no change
    changes = np.abs(nudged - pixels).max((1, 2))
    assert np.all(changes <= np.array(budgets) / 100 + 1e-6) and changes[-1] == pytest.approx(0.2, abs=1e-6)
    assert nudged.min() >= 0 and nudged.max() <= 1
    with torch.no_grad():  # each nudge raises the loss of the answer more than as much random change does
        answer = torch.full((4,), 7)
        loss = F.cross_entropy(predictor.model(torch.from_numpy(nudged).unsqueeze(1)), answer, reduction="none")
        noise = np.clip(pixels + np.sign(np.random.default_rng(0).normal(size=(4, 28, 28))) * np.array(budgets)[:, None, None] / 100, 0, 1)
        random = F.cross_entropy(predictor.model(torch.from_numpy(noise.astype(np.float32)).unsqueeze(1)), answer, reduction="none")
    assert np.all(np.diff(loss.numpy()) > 0) and np.all(loss.numpy()[1:] > 5 * random.numpy()[1:])
    made = sweep(predictor, pixels, NUDGED)
    fogged = sweep(predictor, pixels, NOISE)  # the same budgets spent at random change the answer far later, if at all
    at, other = made.first_other()
    assert fogged.kept_span()[1] >= 2 * at
    assert 1 <= at <= 10 and other != 7  # a change of a few per cent of full ink reads as another digit
    assert made.answers[-1] != 7 and made.probabilities[-1].max() > 0.9  # and surely so at 20 %
    assert made.describe(predictor.class_names).startswith("Read as 7 from +0 % to ")
