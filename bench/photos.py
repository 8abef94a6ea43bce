"""Digits as a camera or a scanner gives them: the whole read (``prepare_image`` and the model) on the
six test writers' pen digits under photo and scan conditions.

    python -m bench.photos [MODEL.pt] [--writers 5 10 15 20 25 30] [--only zoomed]

Each condition is applied to the digit drawn with the default pen on the 280 px canvas (dark on
white), saved as a PNG and read back as ``predict`` reads a file: uneven light (a page lit from one
side, a strong fall-off, a shadow), a light digit on an unevenly glowing dark screen, sensor noise,
JPEG, a small digit on a large page, the sheet on a dark desk, ruled and squared paper, low contrast,
blur, bold strokes framed tightly (a marker photographed close), a form's printed box, part of the
next digit of a number at the side edge, of a digit of the line above at the top or both, small scans
zoomed by repeating pixels. Prints accuracy per condition and how many pictures read as empty.
"""

import argparse
import io

import numpy as np
from PIL import Image, ImageFilter

from engine.datasets import pen_file
from engine.pendigits import TEST_WRITERS, draw, parse_unipen
from engine.predict import Predictor
from engine.preprocess import prepare_image, read_image, small_scan

DEFAULT_PEN_PX = 18.0


def lit(a: np.ndarray, darkest: float, axis: int = 1) -> np.ndarray:
    shape = [1, 1]
    shape[axis] = a.shape[axis]
    return (a * np.linspace(darkest, 1.0, a.shape[axis]).reshape(shape)).astype(np.uint8)


def shadow(a: np.ndarray) -> np.ndarray:
    b = a.astype(np.float32)
    b[:, : a.shape[1] * 2 // 5] *= 0.6
    return b.astype(np.uint8)


def glowing_screen(a: np.ndarray) -> np.ndarray:
    return np.clip((255 - a.astype(np.float32)) * 0.8 + np.linspace(0, 90, a.shape[1])[None, :], 0, 255).astype(np.uint8)


def noise(a: np.ndarray, sigma: float, rng) -> np.ndarray:
    return np.clip(a + rng.normal(0, sigma * 255, a.shape), 0, 255).astype(np.uint8)


def jpeg(a: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(a).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


def on_a_page(a: np.ndarray, rng) -> np.ndarray:
    h, w = a.shape
    page = np.full((h * 3, w * 3), 255, np.uint8)
    y, x = rng.integers(0, 2 * h), rng.integers(0, 2 * w)
    page[y:y + h, x:x + w] = a
    return page


def ruled(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    y = int(a.shape[0] * 0.82)
    b[y:y + 3] = np.minimum(b[y:y + 3], 150)
    return b


def tilted(picture: np.ndarray, degrees: float, fill: int) -> np.ndarray:
    """The whole picture turned a little, as a hand-held phone takes it."""
    return np.asarray(Image.fromarray(picture).rotate(degrees, resample=Image.Resampling.BILINEAR, fillcolor=fill))


def squared(a: np.ndarray) -> np.ndarray:
    """Squared paper: grey lines every fifth of the picture, both ways."""
    b = a.copy()
    for k in range(1, 5):
        at = a.shape[0] * k // 5
        b[at:at + 2] = np.minimum(b[at:at + 2], 170)
        b[:, at:at + 2] = np.minimum(b[:, at:at + 2], 170)
    return b


def on_a_desk(a: np.ndarray) -> np.ndarray:
    """The sheet photographed lying on a dark desk, filling 70 % of the picture each way."""
    h, w = a.shape
    desk = np.full((int(h / 0.7), int(w / 0.7)), 80, np.uint8)
    y, x = (desk.shape[0] - h) // 2, (desk.shape[1] - w) // 2
    desk[y:y + h, x:x + w] = a
    return desk


def framed_tightly(a: np.ndarray) -> np.ndarray:
    """Cropped to the ink with a few pixels of paper, 100 px high."""
    rows, cols = np.flatnonzero((a < 128).any(1)), np.flatnonzero((a < 128).any(0))
    crop = a[max(0, rows[0] - 4): rows[-1] + 5, max(0, cols[0] - 4): cols[-1] + 5]
    return np.asarray(Image.fromarray(crop).resize((max(1, crop.shape[1] * 100 // crop.shape[0]), 100)))


def in_a_box(a: np.ndarray) -> np.ndarray:
    """A form's printed box around the digit: black lines 4 px wide, 2 % in from the picture's edges."""
    b = a.copy()
    h, w = a.shape
    i, t = h // 50, 4
    for rows, cols in ((slice(i, i + t), slice(i, w - i)), (slice(h - i - t, h - i), slice(i, w - i)),
                       (slice(i, h - i), slice(i, i + t)), (slice(i, h - i), slice(w - i - t, w - i))):
        b[rows, cols] = 0
    return b


def with_a_neighbour(a: np.ndarray, neighbour: np.ndarray, share: float, above: bool = False) -> np.ndarray:
    """Cropped from a written number: the left ``share`` of the next digit's ink at the right edge;
    or, ``above``, from a page: the bottom ``share`` of a digit of the line above at the top edge."""
    if above:  # turned a quarter clockwise, the top edge is the right one and the neighbour's foot its left
        return np.rot90(with_a_neighbour(np.rot90(a, -1), np.rot90(neighbour, -1), share)).copy()
    cols = np.flatnonzero((neighbour < 128).any(0))
    k = max(1, int(share * (cols[-1] - cols[0])))
    b = a.copy()
    b[:, -k:] = np.minimum(b[:, -k:], neighbour[:, cols[0]:cols[0] + k])
    return b


def zoomed(a: np.ndarray, side: int, threshold: float | None, size: int) -> np.ndarray:
    """A small scan (side×side, binarised at ``threshold`` or grey) enlarged to size×size by repeating
    pixels, as an image viewer's zoom or `F.interpolate`'s default gives it."""
    scan = Image.fromarray((255 * (1 - small_scan(a, side, threshold))).astype(np.uint8))
    return np.asarray(scan.resize((size, size), Image.Resampling.NEAREST))


def as_file(picture: np.ndarray) -> np.ndarray:
    """Read back through ``read_image``, as `predict` and the app's Open read a file."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    return read_image(buffer)


def conditions(rng, neighbours: list[np.ndarray]) -> dict:
    return {
        "as drawn": lambda d: d(DEFAULT_PEN_PX),
        "lit from one side (55 % at the far edge)": lambda d: lit(d(DEFAULT_PEN_PX), 0.55),
        "strong fall-off (30 % at the far edge)": lambda d: lit(d(DEFAULT_PEN_PX), 0.3, axis=0),
        "a shadow over two fifths": lambda d: shadow(d(DEFAULT_PEN_PX)),
        "light digit, unevenly glowing screen": lambda d: glowing_screen(d(DEFAULT_PEN_PX)),
        "uneven light + noise + JPEG 40": lambda d: jpeg(noise(lit(d(DEFAULT_PEN_PX), 0.55), 0.03, rng), 40),
        "sensor noise (σ 8 %)": lambda d: noise(d(DEFAULT_PEN_PX), 0.08, rng),
        "JPEG quality 20": lambda d: jpeg(d(DEFAULT_PEN_PX), 20),
        "small on a page (a third of it)": lambda d: on_a_page(d(DEFAULT_PEN_PX), rng),
        "the sheet on a dark desk": lambda d: on_a_desk(d(DEFAULT_PEN_PX)),
        "the sheet on a desk, photo turned 5°": lambda d: tilted(on_a_desk(d(DEFAULT_PEN_PX)), 5, 80),
        "a ruled line under the digit": lambda d: ruled(d(DEFAULT_PEN_PX)),
        "squared paper": lambda d: squared(d(DEFAULT_PEN_PX)),
        "squared paper, photo turned 2°": lambda d: tilted(squared(np.pad(d(DEFAULT_PEN_PX), 40, constant_values=255)), 2, 255),
        "low contrast (grey ink on grey paper)": lambda d: (110 + d(DEFAULT_PEN_PX) * (100 / 255)).astype(np.uint8),
        "out of focus (blur 3 px)": lambda d: np.asarray(Image.fromarray(d(DEFAULT_PEN_PX)).filter(ImageFilter.GaussianBlur(3))),
        "marker framed tightly (34 px pen)": lambda d: framed_tightly(d(34.0)),
        "thick marker framed tightly (50 px pen)": lambda d: framed_tightly(d(50.0)),
        "in a form's printed box (black, 4 px)": lambda d: in_a_box(d(DEFAULT_PEN_PX)),
        "a fifth of the next digit at the edge": lambda d: with_a_neighbour(
            d(DEFAULT_PEN_PX), neighbours[rng.integers(len(neighbours))], 0.2),
        "a tenth of a digit of the line above at the top": lambda d: with_a_neighbour(
            d(DEFAULT_PEN_PX), neighbours[rng.integers(len(neighbours))], 0.1, above=True),
        "a fifth of a digit of the line above at the top": lambda d: with_a_neighbour(
            d(DEFAULT_PEN_PX), neighbours[rng.integers(len(neighbours))], 0.2, above=True),
        "both: the next digit at the side, the line above at the top": lambda d: with_a_neighbour(
            with_a_neighbour(d(DEFAULT_PEN_PX), neighbours[rng.integers(len(neighbours))], 0.2),
            neighbours[rng.integers(len(neighbours))], 0.1, above=True),
        "8×8 binary scan zoomed to 28 px": lambda d: zoomed(d(DEFAULT_PEN_PX), 8, 0.5, 28),
        "8×8 binary scan zoomed to 280 px": lambda d: zoomed(d(DEFAULT_PEN_PX), 8, 0.5, 280),
        "8×8 grey scan zoomed to 28 px": lambda d: zoomed(d(DEFAULT_PEN_PX), 8, None, 28),
        "16×16 binary scan zoomed to 28 px": lambda d: zoomed(d(DEFAULT_PEN_PX), 16, 0.5, 28),
        "16×16 grey scan zoomed to 64 px": lambda d: zoomed(d(DEFAULT_PEN_PX), 16, None, 64),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="a checkpoint (default: the shipped model)")
    parser.add_argument("--writers", type=int, nargs="+", default=list(TEST_WRITERS))
    parser.add_argument("--only", metavar="TEXT", help="only the conditions whose name contains TEXT")
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    digits = [d for d in parse_unipen(pen_file()) if d.writer in set(args.writers)]
    labels = np.array([d.label for d in digits])
    print(f"{len(digits)} pen digits of writers {args.writers}; model {args.model or 'shipped'}")
    rng = np.random.default_rng(0)
    neighbours = [draw(d, None, DEFAULT_PEN_PX) for d in digits[::30]]
    for name, make in conditions(rng, neighbours).items():
        if args.only and args.only not in name:
            continue
        pixels, empty = [], []
        for digit in digits:
            prepared = prepare_image(as_file(make(lambda pen_px, digit=digit: draw(digit, None, pen_px))))
            empty.append(prepared.empty)
            pixels.append(np.zeros((28, 28), np.float32) if prepared.empty else prepared.pixels)
        right = ((predictor.probabilities(np.stack(pixels)).argmax(1) == labels) & ~np.array(empty)).mean()
        print(f"{name:62s} {right * 100:6.2f} %" + (f"   ({sum(empty)} read as empty)" if any(empty) else ""), flush=True)


if __name__ == "__main__":
    main()
