"""What the network still reads as a drawing is turned, moved, resized, slanted or drawn bolder.

A convolution looks for the same pattern everywhere, so a moved digit makes moved feature maps; nothing
in the network turns with a digit, so a turned one is read only about as far as training turned its
digits (augmentation: ±12°). A sweep applies one change in steps to the network's 28×28 input, reads
every step in one batch, and says where the answer changes.

One change is not a person's: each pixel nudged by at most a few per cent of full ink in the direction
that most lowers the network's score for its answer (an adversarial example, found by projected gradient
descent), which a person barely sees and the network reads as another digit. Its control: every pixel moved
by as much, up or down at random, which changes the answer only at two to four times the nudge's budget, if at all.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from engine.augment import max_filter3


@dataclass(frozen=True)
class Change:
    name: str  # what the page offers: "Turned"
    axis: str  # the sweep's axis: "angle (°, counter-clockwise)"
    values: tuple[float, ...]  # the steps, the unchanged input among them
    unchanged: float
    unit: str  # after a value in text: "°"


def _steps(low: float, high: float, step: float) -> tuple[float, ...]:
    return tuple(round(v, 4) for v in np.arange(low, high + step / 2, step))


NUDGED = "fool"  # the one change made with the network's own gradient (``nudged_inputs``)
NOISE = "noise"  # the same budgets spent in random directions
_BUDGET_AXIS = "largest change to any pixel (% of full ink)"
CHANGES = {
    "turn": Change("Turned", "angle (°, counter-clockwise)", _steps(-90, 90, 5), 0.0, "°"),
    "move_x": Change("Moved sideways", "shift (pixels of 28, to the right)", _steps(-10, 10, 1), 0.0, " px"),
    "move_y": Change("Moved up or down", "shift (pixels of 28, downwards)", _steps(-10, 10, 1), 0.0, " px"),
    "size": Change("Resized", "size (times the drawing's own)", _steps(0.3, 1.6, 0.05), 1.0, "×"),
    "slant": Change("Slanted", "slant (sideways shift per unit of height)", _steps(-1, 1, 0.1), 0.0, ""),
    "stroke": Change("Thinner or bolder", "stroke (pixels added to each side)", _steps(-2, 2, 0.25), 0.0, " px"),
    NUDGED: Change("Nudged to fool it (adversarial)", _BUDGET_AXIS, _steps(0, 20, 1), 0.0, " %"),
    NOISE: Change("Random noise, as large as the nudge", _BUDGET_AXIS, _steps(0, 20, 1), 0.0, " %"),
}
NUDGE_STEPS = 10  # of projected gradient descent, each a quarter of the budget (a sweep of 21 budgets: 0.2 s on 2 cores)
# Which way random noise moves each pixel: one fixed pattern, so a sweep is the same noise growing and
# the page shows the same picture each time it is asked.
NOISE_SIGNS = torch.randint(0, 2, (1, 1, 28, 28), generator=torch.Generator().manual_seed(0)).float() * 2 - 1


@dataclass(frozen=True)
class Sweep:
    change: Change
    values: np.ndarray  # ascending, the unchanged input among them
    images: np.ndarray  # N×28×28 in [0, 1]: what the network read at each step
    probabilities: np.ndarray  # N×classes, calibrated

    @property
    def answers(self) -> np.ndarray:
        return self.probabilities.argmax(1)

    @property
    def unchanged_index(self) -> int:
        return int(np.argmin(np.abs(self.values - self.change.unchanged)))

    def kept_span(self) -> tuple[float, float]:
        """The steps on either side of the unchanged input through which the answer stays what it is there."""
        answers, at = self.answers, self.unchanged_index
        low = high = at
        while low > 0 and answers[low - 1] == answers[at]:
            low -= 1
        while high < len(answers) - 1 and answers[high + 1] == answers[at]:
            high += 1
        return float(self.values[low]), float(self.values[high])

    def first_other(self) -> tuple[float, int] | None:
        """The nearest step (either side; the smaller change first) read as another class, and that class."""
        answers, at = self.answers, self.unchanged_index
        others = [i for i in range(len(answers)) if answers[i] != answers[at]]
        if not others:
            return None
        nearest = min(others, key=lambda i: (abs(self.values[i] - self.change.unchanged), i))
        return float(self.values[nearest]), int(answers[nearest])

    def amount(self, value: float) -> str:
        """A step as text: "+40°", "-3 px", "0.5×"."""
        change = self.change
        return f"{value:{'+' if change.unchanged == 0 else ''}g}{change.unit}"

    def describe(self, class_names) -> str:
        """In words: "Read as 7 from -25° to +35°; at +40° it is read as 1." """
        answer, amount = class_names[self.answers[self.unchanged_index]], self.amount
        other = self.first_other()
        if other is None:
            return f"Read as {answer} at every step ({amount(self.values[0])} to {amount(self.values[-1])})."
        low, high = self.kept_span()
        return f"Read as {answer} from {amount(low)} to {amount(high)}; at {amount(other[0])} it is read as {class_names[other[1]]}."


def changed_inputs(pixels: np.ndarray, kind: str, values) -> torch.Tensor:
    """The 28×28 input (white ink on black, in [0, 1]) with one change applied at each of ``values`` (any change
    but ``NUDGED``, which needs the network)."""
    x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).reshape(1, 1, 28, 28)
    v = torch.tensor(values, dtype=torch.float32)
    n = len(v)
    if kind == "stroke":
        return _stroke(x, v)
    if kind == NOISE:  # every pixel moved by the budget, up or down as NOISE_SIGNS says, kept in [0, 1]
        return (x + v.view(-1, 1, 1, 1) / 100 * NOISE_SIGNS).clamp(0, 1)
    # affine_grid's map from each output pixel to where it reads the input, in [-1, 1] coordinates
    # (y downwards): the inverse of the change.
    one, zero = torch.ones(n), torch.zeros(n)
    if kind == "turn":  # counter-clockwise as seen: the output at angle a reads the input turned back
        a = v * math.pi / 180
        rows = [(a.cos(), -a.sin(), zero), (a.sin(), a.cos(), zero)]
    elif kind == "move_x":
        rows = [(one, zero, -v * 2 / 28), (zero, one, zero)]
    elif kind == "move_y":
        rows = [(one, zero, zero), (zero, one, -v * 2 / 28)]
    elif kind == "size":
        rows = [(1 / v, zero, zero), (zero, 1 / v, zero)]
    elif kind == "slant":  # the top leans right for a positive slant
        rows = [(one, v, zero), (zero, one, zero)]
    else:
        raise ValueError(f"unknown change {kind!r}; choose from {', '.join(CHANGES)}")
    theta = torch.stack([torch.stack(row, 1) for row in rows], 1)
    grid = F.affine_grid(theta, (n, 1, 28, 28), align_corners=False)
    return F.grid_sample(x.expand(n, -1, -1, -1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _stroke(x: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Strokes grown (positive) or worn away (negative) by these many pixels a side: steps of a 3×3
    maximum (or minimum) from the one input, and between two steps a blend of them."""
    reach = int(math.ceil(pixels.abs().max().item())) + 1
    grown, worn = [x], [x]
    for _ in range(reach):
        grown.append(max_filter3(grown[-1]))
        worn.append(-max_filter3(-worn[-1]))
    ladder = torch.cat([*worn[:0:-1], *grown])  # ladder[reach + k]: k steps, k from -reach to reach
    low = pixels.floor()
    below = ladder[(low + reach).long()]
    above = ladder[(low + reach + 1).long()]
    return below + (pixels - low).view(-1, 1, 1, 1) * (above - below)


def nudged_inputs(model: torch.nn.Module, pixels: np.ndarray, percents, toward: int | None = None) -> torch.Tensor:
    """The 28×28 input with each pixel changed by at most each of ``percents`` (of full ink), in the direction
    that most raises the network's loss for its own answer, or lowers it for class ``toward``: ``NUDGE_STEPS``
    steps of projected gradient descent, each a quarter of the budget along the gradient's sign, kept within
    the budget and in [0, 1]."""
    device = next(model.parameters()).device
    x0 = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).reshape(1, 1, 28, 28).to(device)
    budget = torch.tensor(percents, dtype=torch.float32, device=device).view(-1, 1, 1, 1) / 100
    with torch.no_grad():  # not inference mode: its tensors cannot take part in the gradient below
        answer = model(x0).argmax(1)
    label, sign = (answer, 1.0) if toward is None else (torch.tensor([toward], device=device), -1.0)
    label = label.expand(len(budget))
    x = x0.expand(len(budget), -1, -1, -1).clone()
    with torch.enable_grad():
        for _ in range(NUDGE_STEPS):
            x.requires_grad_(True)
            (gradient,) = torch.autograd.grad(F.cross_entropy(model(x), label, reduction="sum"), x)
            x = x.detach() + sign * budget / 4 * gradient.sign()
            x = torch.minimum(torch.maximum(x, x0 - budget), x0 + budget).clamp(0, 1)
    return x.cpu()


def _nudged_sweep(predictor, pixels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nudged away from the answer at each budget, then all of them toward the class the smallest budget
    reached: a budget's own nudge may land on any class, and one class all along reads as one story."""
    images = nudged_inputs(predictor.model, pixels, values)[:, 0].numpy()
    answers = predictor.probabilities(images).argmax(1)
    other = next((int(a) for a in answers if a != answers[0]), None)
    if other is not None:
        images = nudged_inputs(predictor.model, pixels, values, toward=other)[:, 0].numpy()
    return images, predictor.probabilities(images)


def sweep(predictor, pixels: np.ndarray, kind: str) -> Sweep:
    """Read ``pixels`` (the network's 28×28 input) changed by each of the ``kind`` change's steps."""
    change = CHANGES[kind]
    values = np.unique(np.asarray(change.values, dtype=np.float64))
    if kind == NUDGED:
        return Sweep(change, values, *_nudged_sweep(predictor, pixels, values))
    images = changed_inputs(pixels, kind, values).clamp(0, 1)[:, 0].numpy()
    return Sweep(change, values, images, predictor.probabilities(images))
