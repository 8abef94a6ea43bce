"""Numbers read digit by digit: are single digits left whole, and are numbers cut between their digits?

    python -m bench.numbers [--model PATH] [--numbers 1000]

Single digits: the pen digits of the six test writers, drawn with the canvas's default pen, MNIST's
10,000 test digits and the 2,000 synthetic drawn digits; printed, how many are cut in two (read as a
number). Numbers: 2–4 of those pen drawings, each cropped to its ink and set side by side, dark on
white, with paper between them of a tenth, a quarter and half of their height (tight handwriting to
spaced), and with each digit at the size its writer wrote it; printed, the share cut into exactly
their digits, the share read wholly right, the share of their digits read right, and the
milliseconds per number (`Predictor.read`, as the Draw tab and `predict` read a picture). While
drawn: two of those digits written on the canvas as a person writes a number, the second one's first
stroke read as it grows (every third pen sample, as the Draw tab reads while a stroke is drawn);
printed, how many numbers see the first digit's answer change meanwhile (the answer flickers).
"""

import argparse
import time

import numpy as np
from PIL import Image

from bench.drawn_digits import drawn_digit_set
from bench.pen_writers import DEFAULT_PEN_PX
from engine.datasets import load_dataset, pen_file
from engine.device import configure_cpu
from engine.pendigits import TEST_WRITERS, PenDigit, draw, parse_unipen
from engine.predict import Predictor, as_number
from engine.preprocess import prepare_digits
from engine.strokes import Stroke, render_strokes

GAPS = (0.1, 0.25, 0.5)


def cut_in_two(pictures) -> int:
    """How many of these pictures of one digit (dark on light, uint8) would be read as a number."""
    return sum(len(prepare_digits(p)) > 1 for p in pictures)


def cropped(drawing: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero((drawing < 128).any(1)), np.flatnonzero((drawing < 128).any(0))
    return drawing[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def scaled(drawing: np.ndarray, factor: float) -> np.ndarray:
    """A cropped drawing at ``factor`` of its size (a digit written smaller)."""
    height, width = drawing.shape
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(drawing).resize(size, Image.Resampling.LANCZOS))


def number_picture(drawings: list[np.ndarray], gap: float) -> np.ndarray:
    """The drawings side by side on white paper, bottoms aligned, ``gap`` × their height apart, with a margin."""
    height = max(d.shape[0] for d in drawings)
    space = np.full((height, max(1, round(gap * height))), 255, np.uint8)
    parts = []
    for d in drawings:
        parts += [np.vstack([np.full((height - d.shape[0], d.shape[1]), 255, np.uint8), d]), space]
    row = np.hstack(parts[:-1])
    return np.pad(row, height // 4, constant_values=255)


def on_canvas(digit: PenDigit, left: float, height: float = 0.4, base: float = 0.7) -> tuple[list[np.ndarray], float]:
    """The digit's pen strokes placed on the canvas (0..1) with its left edge at ``left``, ``height`` tall, its
    bottom at ``base``; and its width."""
    strokes = [s * np.array([1.0, -1.0]) for s in digit.strokes]  # tablet y points up
    every = np.concatenate(strokes)
    low, high = every.min(0), every.max(0)
    scale = height / max(high[1] - low[1], 1.0)
    placed = [np.column_stack([(p[:, 0] - low[0]) * scale + left, (p[:, 1] - high[1]) * scale + base]) for p in strokes]
    return placed, (high[0] - low[0]) * scale


def flickers_while_drawn(predictor: Predictor, digits: list[PenDigit], gap: float, count: int,
                         rng: np.random.Generator) -> int:
    """Of ``count`` two-digit numbers drawn on the canvas with paper ``gap`` × the ink's height between the
    digits, how many see the first digit's answer change while the second's first stroke is drawn."""
    pen = DEFAULT_PEN_PX / 280
    flickered = 0
    for _ in range(count):
        a, b = rng.choice(len(digits), 2, replace=False)
        first, width = on_canvas(digits[a], 0.1)
        second, _ = on_canvas(digits[b], 0.1 + width + pen + gap * (0.4 + pen))
        strokes = [Stroke(points, pen) for points in first]
        answer = predictor.read(render_strokes(strokes))[0].digit
        growing = second[0]
        flickered += any(predictor.read(render_strokes(strokes + [Stroke(growing[:n], pen)]))[0].digit != answer
                         for n in range(1, len(growing) + 1, 3))
    return flickered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--numbers", type=int, default=1000, help="numbers per gap")
    parser.add_argument("--drawn", type=int, default=200, help="numbers per gap drawn stroke by stroke")
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
    # As people write them: each digit at the size its writer wrote it (the pen digits keep their tablet
    # size), the number's digits all of one writer; a small 0 beside a tall 7 is common.
    writers, heights = np.array([d.writer for d in digits]), np.array([np.ptp(np.concatenate(d.strokes)[:, 1]) for d in digits])
    cut = whole = 0
    for _ in range(args.numbers):
        own = np.flatnonzero(writers == rng.choice(TEST_WRITERS))
        picks = rng.choice(own, size=rng.integers(2, 5), replace=False)
        # Each drawing was fitted to the canvas on its own (a wide digit drawn smaller): scale them so that
        # their heights keep the proportions the writer gave them, none enlarged.
        size = np.array([heights[i] / crops[i].shape[0] for i in picks])
        picture = number_picture([scaled(crops[i], f) for i, f in zip(picks, size / size.max())], 0.25)
        read = predictor.read(picture)
        cut += len(read) == len(picks)
        whole += as_number(read) == "".join(str(labels[i]) for i in picks)
    print(f"numbers of 2-4 digits of one writer, each at the size it was written, paper between them 25% of the "
          f"tallest's height: cut into their digits {cut / args.numbers:.2%}, read wholly right {whole / args.numbers:.2%}")
    for gap in GAPS:
        flickered = flickers_while_drawn(predictor, digits, gap, args.drawn, rng)
        print(f"two digits drawn on the canvas, paper between them {gap:.0%} of their height: the first digit's answer "
              f"changed while the second's first stroke was drawn in {flickered} of {args.drawn}")


if __name__ == "__main__":
    main()
