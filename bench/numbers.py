"""Numbers read digit by digit: are single digits left whole, and are numbers cut between their digits?

    python -m bench.numbers [--model PATH] [--numbers 1000]

Single digits: the pen digits of the six test writers, drawn with the canvas's default pen, MNIST's
10,000 test digits and the 2,000 synthetic drawn digits; printed, how many are cut in two (read as a number). Numbers: 2–4 of those pen
drawings, each cropped to its ink and set side by side, dark on white, with paper between them of a
tenth, a quarter and half of their height (tight handwriting to spaced); printed, the share cut into
exactly their digits, the share read wholly right, the share of their digits read right, and the
milliseconds per number (`Predictor.read`, as the Draw tab and `predict` read a picture).
"""

import argparse
import time

import numpy as np

from bench.drawn_digits import drawn_digit_set
from bench.pen_writers import DEFAULT_PEN_PX
from engine.datasets import load_dataset, pen_file
from engine.device import configure_cpu
from engine.pendigits import TEST_WRITERS, draw, parse_unipen
from engine.predict import Predictor, as_number
from engine.preprocess import prepare_digits

GAPS = (0.1, 0.25, 0.5)


def cut_in_two(pictures) -> int:
    """How many of these pictures of one digit (dark on light, uint8) would be read as a number."""
    return sum(len(prepare_digits(p)) > 1 for p in pictures)


def cropped(drawing: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero((drawing < 128).any(1)), np.flatnonzero((drawing < 128).any(0))
    return drawing[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def number_picture(drawings: list[np.ndarray], gap: float) -> np.ndarray:
    """The drawings side by side on white paper, bottoms aligned, ``gap`` × their height apart, with a margin."""
    height = max(d.shape[0] for d in drawings)
    space = np.full((height, max(1, round(gap * height))), 255, np.uint8)
    parts = []
    for d in drawings:
        parts += [np.vstack([np.full((height - d.shape[0], d.shape[1]), 255, np.uint8), d]), space]
    row = np.hstack(parts[:-1])
    return np.pad(row, height // 4, constant_values=255)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--numbers", type=int, default=1000, help="numbers per gap")
    args = parser.parse_args()
    configure_cpu()
    predictor = Predictor.load(args.model)
    digits = [d for d in parse_unipen(pen_file()) if d.writer in TEST_WRITERS]
    drawings = [draw(d, None, DEFAULT_PEN_PX) for d in digits]
    labels = np.array([d.label for d in digits])
    mnist = load_dataset("mnist", download=False).split("test")[0].numpy()
    synthetic = drawn_digit_set()[0]
    print(f"single digits cut in two: pen test writers {cut_in_two(drawings)} of {len(drawings)}, "
          f"MNIST test {cut_in_two(255 - mnist)} of {len(mnist)}, synthetic drawn digits "
          f"{cut_in_two(synthetic)} of {len(synthetic)}")
    crops = [cropped(d) for d in drawings]
    rng = np.random.default_rng(0)
    for gap in GAPS:
        cut = whole = right_digits = total_digits = 0
        seconds = []
        for _ in range(args.numbers):
            picks = rng.choice(len(crops), size=rng.integers(2, 5), replace=False)
            picture = number_picture([crops[i] for i in picks], gap)
            start = time.perf_counter()
            read = predictor.read(picture)
            seconds.append(time.perf_counter() - start)
            truth = "".join(str(labels[i]) for i in picks)
            cut += len(read) == len(picks)
            whole += as_number(read) == truth
            if len(read) == len(picks):
                right_digits += sum(p.digit == labels[i] for p, i in zip(read, picks))
            total_digits += len(picks)
        print(f"numbers of 2-4 digits, paper between them {gap:.0%} of their height: cut into their digits "
              f"{cut / args.numbers:.2%}, read wholly right {whole / args.numbers:.2%}, digits read right "
              f"{right_digits / total_digits:.2%}, {np.median(seconds) * 1000:.1f} ms per number (median)")


if __name__ == "__main__":
    main()
