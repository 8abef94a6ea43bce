"""Where the digits of a number lie: a picture of several digits side by side, cut into one per digit.

The network reads one digit in a 28×28 field; a number written on the canvas or photographed on paper
("42", a year) is read digit by digit. Digits are told apart by columns of paper between them, wider
than a broken stroke's gap; a piece much shorter than the tallest (a 5's detached flag, a speck, a
decimal point) is no digit of its own: it goes with the nearest digit if it lies close to it, and is
left out if not. Digits that touch are read as one. None of the six test writers' 1,499 pen digits is
cut in two, and 13 of MNIST's 10,000 test digits are (a speck or a stroke's break beside them); all of
3,000 numbers written with the test writers' pen digits are cut into exactly their digits, and 99.8 %
of those whose digits keep the sizes their writer gave them (`python -m bench.numbers`).
"""

import numpy as np

DIGIT_GAP = 0.08  # paper between two digits: at least this share of the ink's height (and 2 px)
# A piece this share of the tallest piece's height, or more, is a digit of its own: people write some digits
# far smaller than others (a 0 beside a 7; at half, 5 % of the test writers' numbers lost a digit).
DIGIT_HEIGHT = 0.35
# A smaller piece goes with the nearest digit when within this share of the tallest piece's height of it
# (a 5's detached flag, a stroke's broken end); further away it belongs to no digit: a speck, or the first
# stroke of the next digit while it is drawn, which read with the digit before made that one's answer flicker.
NEAR = 0.125


def digit_spans(solid: np.ndarray) -> list[tuple[int, int]]:
    """The column ranges [start, end) of each digit of a picture whose inked pixels are ``solid``
    (H×W booleans), left to right; for one digit or none, one range: the whole width, unless a piece
    far from the digit is left out."""
    width = solid.shape[1]
    columns, rows = np.flatnonzero(solid.any(0)), np.flatnonzero(solid.any(1))
    if columns.size == 0:
        return [(0, width)]
    gap = max(2, round(DIGIT_GAP * (rows[-1] - rows[0] + 1)))
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > gap) + 1)  # runs of ink with paper between
    pieces = [(int(run[0]), int(run[-1]) + 1) for run in runs]
    heights = []
    for first, end in pieces:
        inked = np.flatnonzero(solid[:, first:end].any(1))
        heights.append(inked[-1] - inked[0] + 1)
    tallest = max(heights)
    digits = [k for k, height in enumerate(heights) if height >= DIGIT_HEIGHT * tallest]
    extents = {k: pieces[k] for k in digits}
    left_out = []
    for k, (first, end) in enumerate(pieces):
        if k in extents:
            continue
        distance, nearest = min((max(pieces[d][0] - end, first - pieces[d][1]), d) for d in digits)
        if distance <= NEAR * tallest:
            extents[nearest] = (min(extents[nearest][0], first), max(extents[nearest][1], end))
        else:
            left_out.append(pieces[k])
    # Each digit reaches halfway to the next piece of ink on either side, so no faint edge of it is cut.
    inks = sorted([(extent, True) for extent in extents.values()] + [(piece, False) for piece in left_out])
    spans = []
    for k, ((first, end), is_digit) in enumerate(inks):
        if is_digit:
            spans.append(((inks[k - 1][0][1] + first) // 2 if k else 0,
                          (end + inks[k + 1][0][0]) // 2 if k + 1 < len(inks) else width))
    return spans
