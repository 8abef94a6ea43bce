"""Where the digits of a number lie: a picture of several digits side by side, cut into one per digit.

The network reads one digit in a 28×28 field; a number written on the canvas or photographed on paper
("42", a year) is read digit by digit. Digits are told apart by columns of paper between them, wider
than a broken stroke's gap; a piece much shorter than the tallest (a 5's detached flag, a speck, a
decimal point) is no digit of its own and goes with the digit nearest to it. Digits that touch are
read as one. None of the six test writers' 1,499 pen digits is cut in two, and 9 of MNIST's 10,000
test digits are (a speck or a stroke's break beside them); 99.8–99.9 % of numbers written with the
test writers' pen digits are cut into exactly their digits (`python -m bench.numbers`).
"""

import numpy as np

DIGIT_GAP = 0.08  # paper between two digits: at least this share of the ink's height (and 2 px)
DIGIT_HEIGHT = 0.5  # a piece this share of the tallest piece's height, or more, is a digit of its own


def digit_spans(solid: np.ndarray) -> list[tuple[int, int]]:
    """The column ranges [start, end) of each digit of a picture whose inked pixels are ``solid``
    (H×W booleans), left to right; one range (the whole width) when it holds one digit or none."""
    whole = [(0, solid.shape[1])]
    columns, rows = np.flatnonzero(solid.any(0)), np.flatnonzero(solid.any(1))
    if columns.size == 0:
        return whole
    gap = max(2, round(DIGIT_GAP * (rows[-1] - rows[0] + 1)))
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > gap) + 1)  # runs of ink with paper between
    pieces = [(int(run[0]), int(run[-1]) + 1) for run in runs]
    heights = []
    for first, end in pieces:
        inked = np.flatnonzero(solid[:, first:end].any(1))
        heights.append(inked[-1] - inked[0] + 1)
    digits = [piece for piece, height in zip(pieces, heights) if height >= DIGIT_HEIGHT * max(heights)]
    if len(digits) < 2:
        return whole
    # Each digit reaches halfway to its neighbours, so a small piece between them goes with the nearer.
    cuts = [0] + [(left[1] + right[0]) // 2 for left, right in zip(digits, digits[1:])] + [solid.shape[1]]
    return list(zip(cuts, cuts[1:]))
