"""Real pen-drawn digits: the UCI pendigits trajectories, parsed, drawn like canvas strokes, cached.

The file is UNIPEN text: each ``.SEGMENT DIGIT … "8"`` is one digit, ``.COMMENT label writer
sample`` names its writer, and each ``.PEN_DOWN`` … ``.PEN_UP`` block is one stroke of "x y" tablet
points (y up). A digit becomes canvas strokes (y down, fitted into the canvas as a person draws on it)
and goes through the canvas's own renderer and ``prepare_image``, so the network trains on exactly
the pixels it is shown when someone draws.

Writers are the unit of generalisation: the test split is six whole writers, and validation splits
hold out whole writers too (``datasets.grouped_split``). Training digits are drawn several times
with the variety a hand has (pen width, the digit's shape warped a little, stroke placement, tremor,
writing speed), and some of those drawings are seen as a small scan of paper would show them
(``preprocess.small_scan``); test digits once, without jitter, with a seeded pen width.
"""

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.checkpoint import atomic_write
from engine.idx import DatasetError
from engine.preprocess import KEPT_INK, prepare_image, resize, small_scan
from engine.strokes import Stroke, render_strokes

FILE_NAME = "pendigits-orig.tra.gz"
TEST_WRITERS = (5, 10, 15, 20, 25, 30)  # held out like MNIST's test set: no shipped model trains on them
TRAIN_VARIANTS = 4  # drawings of each training digit
# Further drawings of each training digit seen as a small scan (6–16 px, half binarised), as a
# scanner or a phone photo of paper gives them: at 8×8 a binarised stroke breaks apart in ways the
# batch augmentation of MNIST alone does not teach.
SCAN_VARIANTS = 2
SCAN_SIDES = (6, 16)
SCAN_THRESHOLDS = (0.3, 0.6)  # of full ink, where a binarising scan cuts
# The small binarised scans a mnist+pen run finishes on (``train.Trainer``): each training digit drawn
# this many times, fitted into 6–12 px and cut, the view a general scan drawing reaches least often.
FINISH_SCAN_VARIANTS = 6
FINISH_SCAN_SIDES = (6, 12)
RENDER_VERSION = 5  # bump when the drawing below changes, so cached renderings are redrawn
PEN_RANGE_PX = (5.0, 34.0)  # pen widths drawn from, in pixels of the 280 px canvas (the slider: 2–40)
CITATION = ("Pen-Based Recognition of Handwritten Digits by E. Alpaydin and F. Alimoglu (Boğaziçi University, "
            "1998), UCI Machine Learning Repository, CC BY 4.0")


@dataclass(frozen=True)
class PenDigit:
    label: int
    writer: int
    strokes: tuple[np.ndarray, ...]  # each (N, 2) float tablet coordinates, y up


class PenFormatError(DatasetError):
    def __init__(self, path, line: int, reason: str):
        super().__init__(f"{Path(path).name}, line {line}: {reason}")


def _open_text(path: Path) -> list[str]:
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("ascii").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{Path(path).name}: not a readable UNIPEN text file ({exc.__class__.__name__})") from None


def parse_unipen(path) -> list[PenDigit]:
    """Every digit in a UNIPEN file; a malformed line raises PenFormatError naming file and line."""
    digits: list[PenDigit] = []
    label = writer = None
    strokes: list[np.ndarray] = []
    points: list[tuple[int, int]] | None = None  # the stroke being read, between PEN_DOWN and PEN_UP
    segment_line = 0

    def close_digit(line_no: int) -> None:
        if label is None:
            return
        if points is not None:
            raise PenFormatError(path, line_no, "a stroke was not ended with .PEN_UP")
        if writer is None:
            raise PenFormatError(path, segment_line, "the digit has no .COMMENT line naming its writer")
        if not strokes:
            raise PenFormatError(path, segment_line, "the digit has no strokes")
        digits.append(PenDigit(label, writer, tuple(strokes)))

    lines = _open_text(path)
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        if not text.startswith("."):
            if points is None:
                raise PenFormatError(path, number, "coordinates outside a .PEN_DOWN … .PEN_UP stroke")
            parts = text.split()
            if len(parts) != 2 or not all(p.lstrip("-").isdigit() for p in parts):
                raise PenFormatError(path, number, f"expected two whole numbers 'x y', found {text[:40]!r}")
            points.append((int(parts[0]), int(parts[1])))
            continue
        keyword = text.split()[0]
        if keyword == ".SEGMENT":
            close_digit(number)
            quoted = text.split('"')
            if len(quoted) < 3 or not (quoted[1].isdigit() and len(quoted[1]) == 1):
                raise PenFormatError(path, number, "a .SEGMENT must end with its digit in quotes, like \"8\"")
            label, writer, strokes, points, segment_line = int(quoted[1]), None, [], None, number
        elif keyword == ".COMMENT" and label is not None:
            parts = text.split()[1:]
            if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]) or int(parts[0]) != label:
                raise PenFormatError(path, number, f"expected '.COMMENT {label} WRITER SAMPLE', found {text[:40]!r}")
            writer = int(parts[1])
        elif keyword == ".PEN_DOWN":
            if label is None or points is not None:
                raise PenFormatError(path, number, ".PEN_DOWN outside a digit or inside another stroke")
            points = []
        elif keyword == ".PEN_UP":
            if points is None:
                raise PenFormatError(path, number, ".PEN_UP without a .PEN_DOWN")
            if not points:
                raise PenFormatError(path, number, "a stroke with no points")
            strokes.append(np.array(points, dtype=np.float64))
            points = None
        # Other dot-commands (.INCLUDE, .LEXICON, .HIERARCHY, .DT, …) carry nothing we use.
    close_digit(len(lines))
    if not digits:
        raise DatasetError(f"{Path(path).name}: no digits found (is it a UNIPEN pendigits file?)")
    return digits


def to_canvas(digit: PenDigit, rng: np.random.Generator | None, pen_px: float) -> list[Stroke]:
    """A digit as canvas strokes, fitted as a person draws in the box: with ``rng``, with the variety of
    a hand (size, place, a smooth warp of the shape, per-stroke shifts and turns, tremor, a faster or
    slower pen)."""
    strokes = [s * np.array([1.0, -1.0]) for s in digit.strokes]  # tablet y points up
    every = np.concatenate(strokes)
    low, high = every.min(0), every.max(0)
    extent = max(high[1] - low[1], (high[0] - low[0]) / 0.8, 1.0)
    height = rng.uniform(0.45, 0.85) if rng is not None else 0.65  # of the canvas side
    scale = height / extent
    centre = np.array([0.5, 0.5]) + (rng.uniform(-0.08, 0.08, 2) if rng is not None else 0.0)
    mid = (low + high) / 2
    if rng is not None:
        strokes = _warped(strokes, low, high, rng)
    out = []
    for points in strokes:
        if rng is not None:
            step = int(rng.integers(1, 4))  # a faster pen: fewer samples, corners cut
            if step > 1 and len(points) > 2:
                keep = np.arange(int(rng.integers(0, step)), len(points) - 1, step)
                points = np.concatenate([points[:1], points[keep[keep > 0]], points[-1:]])
            angle = rng.normal(0.0, np.radians(3))
            c, s = np.cos(angle), np.sin(angle)
            own = points.mean(0)
            points = (points - own) @ np.array([[c, s], [-s, c]]) + own
            points = points + rng.normal(0.0, 0.012 * extent, 2) + rng.normal(0.0, 0.004 * extent, points.shape)
        canvas_points = np.clip((points - mid) * scale + centre, 0.0, 1.0)
        out.append(Stroke(canvas_points, pen_px / 280))
    return out


WARP = 0.03  # of the digit's size: how far a smooth random warp moves its strokes (a hand's variety of shapes)
WARP_GRID = 3  # the warp's random offsets sit on a WARP_GRID×WARP_GRID grid over the digit, bilinear between


def _warped(strokes: list[np.ndarray], low: np.ndarray, high: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """The strokes moved by one smooth random displacement field over the digit's box: a flag grows or
    shrinks, a loop opens, a bar tilts, while each stroke stays one continuous line of the same pen."""
    size = np.maximum(high - low, 1.0)
    offsets = rng.normal(0.0, WARP, (WARP_GRID, WARP_GRID, 2)) * size.max()
    out = []
    for points in strokes:
        u = (points - low) / size * (WARP_GRID - 1)  # position on the grid, 0 … WARP_GRID-1
        i = np.clip(np.floor(u).astype(int), 0, WARP_GRID - 2)
        f = u - i
        fx, fy = f[:, :1], f[:, 1:]
        shift = (offsets[i[:, 0], i[:, 1]] * (1 - fx) * (1 - fy) + offsets[i[:, 0] + 1, i[:, 1]] * fx * (1 - fy)
                 + offsets[i[:, 0], i[:, 1] + 1] * (1 - fx) * fy + offsets[i[:, 0] + 1, i[:, 1] + 1] * fx * fy)
        out.append(points + shift)
    return out


def draw(digit: PenDigit, rng: np.random.Generator | None, pen_px: float) -> np.ndarray:
    """The digit as the canvas would hand it over: 280×280 uint8, dark on white."""
    return render_strokes(to_canvas(digit, rng, pen_px))


def random_pen_width(rng: np.random.Generator) -> float:
    low, high = np.log(PEN_RANGE_PX[0]), np.log(PEN_RANGE_PX[1])
    return float(np.exp(rng.uniform(low, high)))


def _as_scan(drawing: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The drawing seen as a small scan: grey, or binarised at its size or after a smooth enlargement
    (a small picture scaled up, then thresholded)."""
    side = int(rng.integers(SCAN_SIDES[0], SCAN_SIDES[1] + 1))
    grey = small_scan(drawing, side)
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            grey = resize(grey, 4 * side, 4 * side)
        return _binarised(grey, rng.uniform(*SCAN_THRESHOLDS))
    return grey


def _binarised(grey: np.ndarray, threshold: float) -> np.ndarray:
    """``grey`` cut at ``threshold``, unless that loses more than half its ink: a thin pen's strokes
    cut down to a dot or two are no longer the digit the label names, so the grey picture is kept."""
    binary = (grey > threshold).astype(np.float32)
    return binary if binary.sum() >= KEPT_INK * grey.sum() else grey


def render_digits(digits: list[PenDigit], variants: int, seed: int, jitter: bool,
                  progress=None, scans: int = 0) -> np.ndarray:
    """Each digit drawn ``variants`` times, the last ``scans`` of them seen as small scans, and prepared
    like a canvas drawing: (N·variants)×28×28 uint8, all variants of a digit next to each other."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(digits) * variants, 28, 28), np.uint8)
    for i, digit in enumerate(digits):
        for v in range(variants):
            drawing = draw(digit, rng if jitter else None, random_pen_width(rng))
            pixels = prepare_image(_as_scan(drawing, rng)).pixels if v >= variants - scans else None
            if pixels is None:  # not a scan, or a scan that kept only a speck: train on the drawing itself
                pixels = prepare_image(drawing).pixels
            if pixels is not None:
                out[i * variants + v] = np.round(pixels * 255).astype(np.uint8)
        if progress and (i % 250 == 249 or i == len(digits) - 1):
            progress("drawing the pen digits (first use only)", i + 1, len(digits), "digits")
    return out


def draw_small_scans(digits: list[PenDigit], variants: int, seed: int, progress=None) -> "PenSplit":
    """Each digit drawn ``variants`` times (jittered, random pen) and seen as a small binarised scan: fitted
    into 6–12 px, cut at 30–60 % of full ink, half of them enlarged 4× smoothly before the cut. A cut that
    kept less than half the grey ink (a thin pen's strokes gone to specks) is left out."""
    rng = np.random.default_rng(seed)
    images, labels, writers = [], [], []
    for i, digit in enumerate(digits):
        for _ in range(variants):
            side = int(rng.integers(FINISH_SCAN_SIDES[0], FINISH_SCAN_SIDES[1] + 1))
            grey = small_scan(draw(digit, rng, random_pen_width(rng)), side)
            if rng.random() < 0.5:
                grey = resize(grey, 4 * side, 4 * side)
            binary = _binarised(grey, rng.uniform(*SCAN_THRESHOLDS))
            pixels = prepare_image(binary).pixels if binary is not grey else None
            if pixels is not None:
                images.append(np.round(pixels * 255).astype(np.uint8))
                labels.append(digit.label)
                writers.append(digit.writer)
        if progress and (i % 250 == 249 or i == len(digits) - 1):
            progress("drawing small scans of the pen digits (first use only)", i + 1, len(digits), "digits")
    return PenSplit(np.stack(images) if images else np.zeros((0, 28, 28), np.uint8),
                    np.array(labels, np.int64), np.array(writers, np.int64))


@dataclass(frozen=True)
class PenSplit:
    images: np.ndarray  # uint8 N×28×28
    labels: np.ndarray  # int64 N
    writers: np.ndarray  # int64 N


def _drawn_split(digits: list[PenDigit], variants: int, seed: int, jitter: bool, progress, scans: int = 0) -> PenSplit:
    images = render_digits(digits, variants, seed, jitter, progress, scans)
    labels = np.repeat([d.label for d in digits], variants).astype(np.int64)
    writers = np.repeat([d.writer for d in digits], variants).astype(np.int64)
    return PenSplit(images, labels, writers)


def draw_for_testing(digits: list[PenDigit], progress=None) -> PenSplit:
    """Digits drawn once each, as the test writers are: seeded random pens, no jitter, no scans."""
    return _drawn_split(digits, 1, 2, False, progress)


def draw_file_for_testing(path: Path, cache_dir: Path, progress=None) -> tuple[list[PenDigit], PenSplit]:
    """A UNIPEN file's digits, and their drawings as ``draw_for_testing`` makes them, kept on disk by the
    file's content: a user's file of thousands of digits is drawn once, not at every evaluation."""
    digits = parse_unipen(path)
    digest = file_digest(path)

    drawn = cached_split(Path(cache_dir) / f"pentest-{digest}-r{RENDER_VERSION}.npz",
                         lambda: draw_for_testing(digits, progress), f"pentest-{digest}-r*.npz",
                         accept=lambda split: len(split.labels) == len(digits))  # not a cache of other digits
    return digits, drawn


def file_digest(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()[:12]


def first_drawings(count: int) -> np.ndarray:
    """Which of a drawn training split's ``count`` samples are each digit's first drawing, as a canvas
    shows it (its further drawings and scans follow it)."""
    return np.arange(count) % (TRAIN_VARIANTS + SCAN_VARIANTS) == 0


def scanned_drawings(count: int) -> np.ndarray:
    """Which of a drawn training split's ``count`` samples are seen as a small scan would show them (each
    digit's last ``SCAN_VARIANTS`` drawings)."""
    return np.arange(count) % (TRAIN_VARIANTS + SCAN_VARIANTS) >= TRAIN_VARIANTS


def load_pen_split(path: Path, part: str, cache_dir: Path, progress=None) -> PenSplit:
    """The ``"train"`` or ``"test"`` split drawn from the trajectories, or the training writers'
    ``"scans"`` to finish a run on, each cached on disk after the first time on its own: the test
    writers (drawn once each, seconds) are ready without the training writers' many drawings (a minute
    or two each). The bundled file's drawings ship beside it (``packaging/draw_pen_digits.py``), so no
    one waits for them; a file of other digits, or another way of drawing them, is drawn here."""
    name, earlier = split_file_name(file_digest(path), part)

    def draw_split() -> PenSplit:
        return draw_part([d for d in parse_unipen(path) if (d.writer in TEST_WRITERS) == (part == "test")], part, progress)
    # An earlier version's drawings (up to 8 MB each) are removed: nothing reads them any more.
    return cached_split(Path(cache_dir) / name, draw_split, earlier, shipped=Path(path).parent / name)


def split_file_name(digest: str, part: str) -> tuple[str, str]:
    """The file that keeps a part's drawings of the pen file with this digest, and a pattern of the files
    that kept it in earlier versions."""
    if part == "test":
        return f"pendigits-{digest}-r{RENDER_VERSION}-test.npz", f"pendigits-{digest}-r*-test.npz"
    if part == "train":  # the earlier pattern also takes the splits an earlier version kept in one file
        return (f"pendigits-{digest}-r{RENDER_VERSION}-train-v{TRAIN_VARIANTS + SCAN_VARIANTS}.npz",
                f"pendigits-{digest}-r*-v*.npz")
    if part == "scans":
        return f"pendigits-{digest}-r{RENDER_VERSION}-scans-{FINISH_SCAN_VARIANTS}.npz", f"pendigits-{digest}-r*-scans-*.npz"
    raise ValueError(f"unknown split {part!r}")


def draw_part(digits: list[PenDigit], part: str, progress=None) -> PenSplit:
    """A part's drawings of these digits (the test writers' or the training writers'): drawn in order from
    one seeded generator, so the first digits' drawings are the same whatever follows them."""
    if part == "test":
        return draw_for_testing(digits, progress)
    if part == "scans":
        return draw_small_scans(digits, FINISH_SCAN_VARIANTS, 3, progress)
    return _drawn_split(digits, TRAIN_VARIANTS + SCAN_VARIANTS, 1, True, progress, SCAN_VARIANTS)


def cached_split(cache: Path, make: Callable[[], PenSplit], earlier: str = "",
                 accept: Callable[[PenSplit], bool] = lambda _split: True, shipped: Path | None = None) -> PenSplit:
    """What ``make()`` draws, kept in the .npz file ``cache`` and read back from it next time, or the
    same drawing ``shipped`` with the app. A damaged file, or one ``accept`` refuses, is drawn again;
    files matching ``earlier`` beside the cache are removed; an unwritable cache costs time next time,
    nothing else."""
    for kept_in in (cache, shipped):
        if kept_in is not None and kept_in.is_file():
            try:
                with np.load(kept_in) as z:
                    kept = PenSplit(z["images"], z["labels"], z["writers"])
                if accept(kept):
                    return kept
            except (OSError, ValueError, KeyError, EOFError):
                pass  # drawn again
    made = make()

    def save(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, images=made.images, labels=made.labels, writers=made.writers)
    try:
        atomic_write(cache, save)
        for stale in cache.parent.glob(earlier) if earlier else ():
            if stale != cache:
                stale.unlink()
    except OSError:
        pass
    return made
