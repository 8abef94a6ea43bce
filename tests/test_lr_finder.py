"""The learning-rate range test: its smoothing and suggestion, and real short tests on MNIST subsets."""

import numpy as np
import pytest
import torch

from engine.config import TrainConfig
from engine.events import Failed, LrFound, RangeStep
from engine.lr_finder import RangeTest, smoothed, suggest
from engine.paths import runs_dir

FAST = dict(dataset="mnist", batch_size=64, device="cpu")


def test_the_smoothed_loss_starts_where_the_loss_does_and_follows_it():
    assert np.allclose(smoothed([2.0] * 5), 2.0)  # corrected for the average's start at zero
    rising = smoothed([1.0] * 20 + [3.0] * 40)
    assert rising[19] == pytest.approx(1.0) and 1.0 < rising[25] < 3.0 and rising[-1] == pytest.approx(3.0, abs=0.05)


def test_the_suggestion_is_a_third_of_the_lowest_point():
    rates = np.logspace(-6, 1, 71)
    log = np.log10(rates)
    losses = 2.3 - 2 / (1 + np.exp(-3 * (log + 3.5))) + np.where(log > -1, 5 * (log + 1) ** 2, 0)  # falls around 3e-4, lowest near 0.1
    suggested, lowest, steepest = suggest(rates, losses)
    assert lowest == pytest.approx(rates[losses.argmin()]) and 0.03 < lowest <= 0.1
    assert suggested == pytest.approx(lowest / 3)
    assert steepest == pytest.approx(10 ** -3.5, rel=0.3)  # where the fall is steepest
    assert suggest(rates, np.linspace(2.3, 3.0, 71)) == (None, None, None)  # it never fell: nothing to suggest
    dip = 2.38 - 0.06 * np.exp(-((log + 0.5) ** 2))  # 2.38 → 2.32, as a deep sigmoid network: noise, not learning
    assert suggest(rates, dip) == (None, None, None)


def test_a_range_test_finds_where_the_loss_falls_and_saves_nothing(small_mnist):
    events = []
    found = RangeTest(TrainConfig(**FAST), events.append, steps=50, start=1e-5, end=10.0, dataset=small_mnist).run()
    assert isinstance(found, LrFound) and events[-1] is found and not found.stopped
    steps = [e for e in events if isinstance(e, RangeStep)]
    assert [e.step for e in steps] == list(range(1, len(steps) + 1)) and steps[0].steps == 50
    rates = np.array(found.rates)
    assert rates[0] == pytest.approx(1e-5) and np.allclose(rates[1:] / rates[:-1], (10 / 1e-5) ** (1 / 49))
    losses = np.array(found.losses)
    assert losses[0] > 2.0 and losses.min() < 0.7 * losses[0]  # it learned while the rate was useful…
    assert found.diverged and losses[-1] > 4 * losses.min()  # …and ran away before adamw's 10
    assert found.suggested == pytest.approx(found.lowest / 3) and 1e-4 < found.suggested < 0.3
    assert found.steepest < found.lowest
    assert not runs_dir().exists() or not any(runs_dir().iterdir())  # no run folder: nothing saved


def test_a_range_test_stops_when_asked(small_mnist):
    tester = RangeTest(TrainConfig(**FAST), dataset=small_mnist, steps=50)
    tester.on_event = lambda event: isinstance(event, RangeStep) and event.step == 5 and tester.stop()
    found = tester.run()
    assert isinstance(found, LrFound) and found.stopped and len(found.rates) == 5


def test_a_range_test_on_a_missing_gpu_fails_with_the_reason(small_mnist):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    found = RangeTest(TrainConfig(**dict(FAST, device="cuda")), dataset=small_mnist).run()
    assert isinstance(found, Failed) and found.kind == "device" and "no CUDA GPU" in found.message


def test_a_range_that_does_not_grow_is_refused():
    with pytest.raises(ValueError, match="0 < start < end"):
        RangeTest(TrainConfig(**FAST), start=1.0, end=0.1)
