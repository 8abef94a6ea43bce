"""Turning any picture of a digit into the 28×28 input the networks expect, the way MNIST was made.

Every prediction path (the canvas, image files, the command line) goes through ``prepare_image``, or
``prepare_digits``, which prepares each digit of a number the same way:

1. to grayscale in [0, 1] (RGBA is laid on paper of the contrasting colour);
2. find the paper (the side of the grey levels that is not thin strokes), even out uneven lighting
   (a photo of a page lit from one side), and turn it into an ink map: 1 = full ink, 0 = paper,
   whether the ink is dark on light or light on dark;
3. crop to the ink and scale the longer side to 20 px, keeping the aspect ratio (anti-aliased);
4. thicken strokes that would come out thinner than MNIST's thinnest (a fine pen on a big digit);
5. paste into 28×28 so the centre of mass lands where MNIST puts it, at pixel (14, 14).

A picture with no ink gives an empty result with a message instead of a guess.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps

from engine.paths import sample_digit_path
from engine.segment import digit_spans

SIZE = 28
BOX = 20  # MNIST fits each digit's longer side to 20 px
CENTRE = 14.0  # where MNIST's centre of mass lies, in pixel-index coordinates
INK_LEVEL = 0.2  # ink strength that counts as drawn when cropping
# Measured this way (2·area/perimeter at 4× resolution), MNIST's strokes are 1.6 px wide at the
# 5th percentile and 2.5 px at the median; only strokes thinner than almost all of MNIST are thickened.
MIN_STROKE = 1.5
TARGET_STROKE = 2.5
_WORK = 4  # strokes are measured and thickened at 4× the final resolution
NOTHING_DRAWN = "Nothing drawn: the image has no ink."
# Strokes as wide as this in the 20 px box make a blob, not a digit: a tap of the pen or a speck left
# of a scan measures 9-11, MNIST's boldest digits under 8 (2·area/perimeter, as MIN_STROKE).
DOT_WIDTH = 8.5
ONLY_A_DOT = "Only a dot: draw a whole digit."
BORDER_WEIGHT = 0.2  # how much a border of paper counts toward deciding which side is ink
RULING_COVER = 0.9  # a row inked across this share of a photo may be a line of ruled paper…
RULING_INK = 0.1  # …counting fainter ink than a stroke's (a thin grey line, blurred by JPEG)…
RULING_MARGIN = 0.05  # …if the digit keeps this share of the width free on both sides…
RULING_THINNER = 0.75  # …and the line is thinner than this share of the digit's strokes
RULING_FRINGE = 2  # rows either side of a line painted too: a tilted line's steps and blur
# Slopes a line may have, level first: up to about 5° either way, in steps of about a quarter degree.
RULING_SLOPES = tuple(sorted(np.linspace(-0.0875, 0.0875, 41), key=abs))
NEIGHBOUR_GAP = 0.03  # ink at an edge, set apart from the digit by paper this share of the picture across…
NEIGHBOUR_MARGIN = 0.05  # …with this share of the picture free on the digit's two other sides
# A piece at a side as wide as this share of the digit's height, or wider, is a whole digit, the end of a
# number cropped close, not a neighbour's piece (a crop around one digit catches a fifth of the next one or so).
WHOLE_DIGIT = 0.4
SHEET_DARK_BORDER = 0.6  # a photo whose border is this much darker than mid-grey shows a desk…
SHEET_MIN = 0.2  # …around a sheet at least this share of the picture each way…
SHEET_BRIGHT = 0.8  # …that is at least this bright all over (paper, a little ink)
SHEET_EDGE_BRIGHT = 0.98  # an edge of the crop darker than this still shows the desk
LIGHTING_MIN_SIDE = 48  # smaller pictures are scans or crops, not photos of a lit page
LIGHTING_WORK_SIDE = 32  # the paper's brightness is followed on a copy this size
LIGHTING_UNEVEN = 0.08  # paper brighter in one place than another by more than this is evened out
# A binarised low-resolution view in training keeps this share of its grey version's ink, or stays
# grey: a thin pen's strokes cut down to a dot or two are no longer the digit the label names.
KEPT_INK = 0.5
NATIVE_MIN_CELLS = 8  # an enlarged picture is taken back to no fewer cells a side than an 8×8 scan has
OPEN_PAPER_MIN = 16  # pixels of the reduced copy; with less paper than this, lighting is not judged
# Modes whose pixels map straight onto grey levels; anything else goes through RGB(A).
_DIRECT_MODES = {"1", "L", "I", "I;16", "I;16B", "I;16L", "F", "RGB", "RGBA"}


@dataclass(frozen=True)
class PreparedImage:
    pixels: np.ndarray | None  # 28×28 float32 in [0, 1], white ink on black; None when empty
    message: str = ""  # why it is empty
    # Where the 28×28 field lies on the source picture, in its pixels: (x, y, width, height). Maps
    # anything drawn over the network's input (a saliency map) back onto the picture.
    frame: tuple[float, float, float, float] | None = None

    @property
    def empty(self) -> bool:
        return self.pixels is None


def to_grayscale(image) -> np.ndarray:
    """A PIL image or an H×W, H×W×3 or H×W×4 array (8, 16 or 32 bits, integer or float) → H×W float32
    in [0, 1]."""
    if isinstance(image, Image.Image):
        if image.mode not in _DIRECT_MODES:  # palette, grey+alpha, CMYK, YCbCr…: through RGB(A)
            image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
        image = np.asarray(image)
    array = np.asarray(image)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        array = array.astype(np.float32) / 65535.0
    elif array.dtype == bool:
        array = array.astype(np.float32)
    else:  # 32-bit integer or float images: scale by the range their values use, not clip at 1
        array = np.nan_to_num(array.astype(np.float32))
        peak = float(array.max()) if array.size else 0.0
        if peak > 1.0:
            array /= 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
        array = np.clip(array, 0.0, 1.0)
    if array.ndim == 2:
        return array
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected a grayscale, RGB or RGBA image, got an array of shape {array.shape}")
    gray = array[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if array.shape[2] == 4:
        alpha = array[..., 3]
        opaque = alpha > 0.5
        # Lay the strokes on paper of the opposite colour, so both black-on-transparent and
        # white-on-transparent drawings keep their ink.
        ink_is_light = opaque.any() and gray[opaque].mean() > 0.5
        paper = 0.0 if ink_is_light else 1.0
        gray = gray * alpha + paper * (1.0 - alpha)
    return gray


@dataclass(frozen=True)
class Paper:
    level: float  # the paper's grey level
    dark_ink: bool  # ink darker than the paper


def find_paper(gray: np.ndarray) -> Paper:
    """Which grey level is the paper and which side of it the ink lies on.

    Split the picture at the middle of its range: ink is the side made of thin strokes, most of
    whose pixels touch the other side; paper is the side with an inside. Neither "the paper is the
    majority" nor "the border is paper" holds for a tightly cropped small scan (an 8×8 zero's border
    is mostly ink), but strokes are thin at every size; the border only settles near ties."""
    # Decided on at most ~128×128 pixels: strokes stay strokes at that scale, and it keeps the
    # drawing → prediction path fast (a 280×280 canvas costs a quarter of the work).
    step = max(1, min(gray.shape) // 128)
    sample = gray[::step, ::step]
    low, high = np.percentile(sample, (1, 99))
    if high - low < 1e-3:
        return Paper(float(np.median(sample)), True)
    dark = sample < (low + high) / 2
    edge = np.pad(dark, 1, mode="edge")
    touches = ((edge[1:-1, :-2] != dark) | (edge[1:-1, 2:] != dark) | (edge[:-2, 1:-1] != dark) | (edge[2:, 1:-1] != dark))

    def thinness(side: np.ndarray) -> float:
        count = int(side.sum())
        return float(touches[side].sum()) / count if count else 0.0

    # The border, mostly paper in a photo or a scan with any margin, breaks the tie when both sides
    # look alike: bold strokes cropped tightly leave the paper in pieces as thin as the strokes.
    border = np.concatenate([dark[0], dark[-1], dark[1:-1, 0], dark[1:-1, -1]])
    dark_ink = thinness(dark) - thinness(~dark) + BORDER_WEIGHT * (0.5 - float(border.mean())) >= 0
    paper = sample[~dark] if dark_ink else sample[dark]
    return Paper(float(np.median(paper)) if paper.size else float(np.median(sample)), dark_ink)


def _max_filter(image: np.ndarray, size: int) -> np.ndarray:
    """Grey-level dilation with a size×size square (odd), keeping the shape. The border is extended
    by point reflection, which continues a brightness ramp instead of flattening it."""
    pad = size // 2
    extended = np.pad(image, pad, mode="reflect", reflect_type="odd")
    return _dilate(extended, size)[pad:-pad, pad:-pad] if pad else image


def even_out_lighting(gray: np.ndarray, dark_ink: bool) -> np.ndarray:
    """A photo of paper lit from one side, or with a shadow across it, as if evenly lit.

    The paper's brightness is followed with a grey-level closing much wider than any stroke (a
    quarter of the picture's shorter side, on a reduced copy), so each stroke is measured against
    the paper next to it rather than the picture's overall paper level; otherwise the darker part
    of the page counts as ink and the crop takes it all in. Evenly lit pictures (every drawing on
    the canvas, every clean scan) and small ones are returned unchanged."""
    if min(gray.shape) < LIGHTING_MIN_SIDE:
        return gray
    scale = LIGHTING_WORK_SIDE / min(gray.shape)
    w, h = max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale))
    small = np.asarray(Image.fromarray(gray, mode="F").resize((w, h), Image.Resampling.BOX))
    # Open paper (away from every stroke's anti-aliased edge) already even: nothing to do. This keeps
    # bold strokes on an even page, whose closing below would dip where ink fills a window, as they are.
    low, high = np.percentile(small, (1, 99))
    paper_side = small > (low + high) / 2 if dark_ink else small < (low + high) / 2
    open_paper = -_max_filter(-paper_side.astype(np.float32), 3) > 0.5  # eroded by one pixel
    if open_paper.sum() < OPEN_PAPER_MIN or np.ptp(np.percentile(small[open_paper], (2, 98))) < LIGHTING_UNEVEN:
        return gray
    window = (LIGHTING_WORK_SIDE // 4) | 1
    paper = _max_filter(small if dark_ink else -small, window)  # the paper where strokes are
    paper = -_max_filter(-paper, window)  # a closing: back to the paper's own extent
    if float(paper.max() - paper.min()) < LIGHTING_UNEVEN:  # uneven only between strokes, not the page
        return gray
    if not dark_ink:
        paper = -paper
    paper = np.asarray(Image.fromarray(paper.astype(np.float32), mode="F").resize(gray.shape[::-1], Image.Resampling.BILINEAR))
    if dark_ink:  # light falls on the paper and the ink alike: divide it out
        return np.clip(gray / np.maximum(paper, 1e-3) * float(paper.max()), 0.0, 1.0)
    return np.clip(gray - (paper - float(paper.min())), 0.0, 1.0)  # a glowing background: take it away


def ink_map(gray: np.ndarray) -> np.ndarray:
    """1 where there is full ink, 0 on the paper."""
    paper = find_paper(gray)
    evened = even_out_lighting(gray, paper.dark_ink)
    if evened is not gray:
        gray, paper = evened, find_paper(evened)
    if paper.dark_ink:
        ink = (paper.level - gray) / max(paper.level, 1e-6)
    else:
        ink = (gray - paper.level) / max(1.0 - paper.level, 1e-6)
    return np.clip(ink, 0.0, 1.0)


def crop_to_sheet(gray: np.ndarray) -> np.ndarray:
    """A photo of a sheet of paper lying on a darker desk, cropped to the sheet. Files only.

    Otherwise the desk, large and dark, is taken for the ink (or the sheet for a stroke) and the
    digit is lost. The sheet is the rows and columns that are mostly bright, in a picture whose
    border is mostly dark; it must be nearly all bright itself (paper with a little ink), so a light
    digit on a dark background, whose rows are never mostly bright, is left alone."""
    if min(gray.shape) < LIGHTING_MIN_SIDE:
        return gray
    step = max(1, min(gray.shape) // 128)
    sample = gray[::step, ::step]
    low, high = np.percentile(sample, (1, 99))
    bright = sample > (low + high) / 2
    border = np.concatenate([bright[0], bright[-1], bright[1:-1, 0], bright[1:-1, -1]])
    if high - low < 0.1 or border.mean() > 1 - SHEET_DARK_BORDER:
        return gray
    rows, cols = np.flatnonzero(bright.mean(1) > 0.5), np.flatnonzero(bright.mean(0) > 0.5)
    if rows.size < SHEET_MIN * bright.shape[0] or cols.size < SHEET_MIN * bright.shape[1]:
        return gray
    inset_y, inset_x = max(1, rows.size // 50), max(1, cols.size // 50)  # off the sheet's edge
    top, bottom, left, right = rows[0] + inset_y, rows[-1] + 1 - inset_y, cols[0] + inset_x, cols[-1] + 1 - inset_x
    if bright[top:bottom, left:right].mean() < SHEET_BRIGHT:
        return gray
    # A sheet photographed askew leaves the desk in the box's corners: move each side in, by an
    # eighth of the box at most, while its edge still shows desk.
    top, bottom = _off_the_desk(bright[:, left:right], top, bottom)
    left, right = _off_the_desk(bright[top:bottom].T, left, right)
    inner = step - 1  # the sample saw one pixel in ``step``: stay that much further in at full size
    return gray[top * step + inner: bottom * step - inner, left * step + inner: right * step - inner]


def _off_the_desk(bright: np.ndarray, first: int, end: int) -> tuple[int, int]:
    """Rows ``first`` and ``end - 1`` of ``bright`` moved inward while they are not paper."""
    limit = (end - first) // 8
    for _ in range(limit):
        if bright[first].mean() >= SHEET_EDGE_BRIGHT:
            break
        first += 1
    for _ in range(limit):
        if bright[end - 1].mean() >= SHEET_EDGE_BRIGHT:
            break
        end -= 1
    return first, end


def _shear(image: np.ndarray, slope: float, fill) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row ``y`` of the result follows the line ``y + slope·(x - centre)`` through ``image``: a line
    at that slope becomes a row. Also the source row of every pixel, and whether it lies inside."""
    h, w = image.shape
    source = np.arange(h)[:, None] + np.round(slope * (np.arange(w) - w / 2)).astype(int)[None, :]
    inside = (source >= 0) & (source < h)
    return np.where(inside, image[np.clip(source, 0, h - 1), np.arange(w)[None, :]], fill), source, inside


def _ruling_slope(solid: np.ndarray) -> float:
    """The slope at which rows of ``solid`` are most nearly inked across (0 first, so it wins ties),
    found on a copy at most 128 pixels wide."""
    step = max(1, max(solid.shape) // 128)
    small = solid[::step, ::step]
    covers = [_shear(small, slope, False)[0].mean(1).max() for slope in RULING_SLOPES]
    return RULING_SLOPES[int(np.argmax(covers))]


def erase_ruling(gray: np.ndarray) -> np.ndarray:
    """A photo or scan of ruled or squared paper without its lines, each painted over with the
    paper beside it. Files only: a drawing on the canvas has no ruling, and a bar drawn from edge to
    edge there is part of the digit.

    A line is a run of rows (or columns), level or tilted by a few degrees as in a hand-held photo,
    inked across the whole picture while the rest of the ink, the digit, keeps a margin on both sides
    along it; a stroke of the digit reaches the picture's edge only when the digit does (a tightly
    cropped 7's bar), and such a picture is left alone, as is a "line" as thick as the digit's
    strokes. Where a stroke crosses a line, inked on both sides of it, the ink is kept."""
    if min(gray.shape) < LIGHTING_MIN_SIDE:
        return gray
    ink_level = ink_map(gray)
    solid, faint = ink_level > INK_LEVEL, ink_level > RULING_INK  # printed lines may be fainter than ink
    found, on_lines = [], np.zeros_like(solid)
    for transposed in (False, True):
        ink, marks = (faint.T, on_lines.T) if transposed else (faint, on_lines)
        if ink.any(0).mean() < RULING_COVER:  # a line across would ink nearly every column: none does
            continue
        slope = _ruling_slope(ink)
        sheared, source, inside = _shear(ink, slope, False)
        ruled = sheared.mean(1) >= RULING_COVER
        if not ruled.any() or ruled.all():
            continue
        fringed = np.convolve(ruled, np.ones(2 * RULING_FRINGE + 1), mode="same") > 0
        for r in np.flatnonzero(fringed):
            marks[source[r][inside[r]], np.flatnonzero(inside[r])] |= sheared[r][inside[r]]  # its ink only
        found.append((transposed, slope, ruled))
    rest = solid & ~on_lines  # the digit: what is ink apart from the lines
    ys, xs = np.flatnonzero(rest.any(1)), np.flatnonzero(rest.any(0))
    if not found or ys.size == 0:
        return gray

    def keeps_margin(extent: np.ndarray, length: int) -> bool:
        return extent[0] >= RULING_MARGIN * length and extent[-1] < length - RULING_MARGIN * length

    stroke = _stroke_width(rest.astype(np.float32))
    out = gray.copy()
    painted = False
    for transposed, slope, ruled in found:
        view, ink = (out.T, solid.T) if transposed else (out, solid)  # views: painting them paints ``out``
        if not keeps_margin(ys if transposed else xs, view.shape[1]):
            continue
        grey_sheared, source, inside = _shear(view, slope, np.nan)
        ink_sheared = _shear(ink, slope, False)[0]
        rows = np.flatnonzero(ruled)
        for band in np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1):
            if len(band) > RULING_THINNER * stroke:  # as thick as the writing: a stroke, not a printed line
                continue
            band = np.arange(max(band[0] - RULING_FRINGE, 0), min(band[-1] + RULING_FRINGE + 1, view.shape[0]))
            outside = [r for r in (band[0] - 1, band[-1] + 1) if 0 <= r < view.shape[0]]
            if not outside:
                continue
            crossing = np.logical_and.reduce([ink_sheared[r] for r in outside])  # a stroke runs through here
            paper = grey_sheared[outside[0]]
            for r in band:
                paint = inside[r] & ~crossing & ~np.isnan(paper)
                cols = np.flatnonzero(paint)
                view[source[r][paint], cols] = paper[paint]
                ink[source[r][paint], cols] = False  # painted: the columns' pass sees it as paper
            painted = True
    return out if painted else gray


def _edge_cut(inked: np.ndarray, size: int) -> tuple[int, int] | None:
    """Along one axis of ``size`` lines, of which ``inked`` hold ink: where pieces of neighbours end
    at its start and begin at its end (0 and ``size`` where there is none), or None when there is no
    piece or nothing but pieces."""
    if inked.size == 0:
        return None
    runs = np.split(inked, np.flatnonzero(np.diff(inked) > max(2, round(NEIGHBOUR_GAP * size))) + 1)
    edge = 1  # a piece is cut by the crop; a whole digit beside a margin of paper, however thin, is not
    first, last = int(runs[0][0] <= edge), int(runs[-1][-1] >= size - 1 - edge)
    if not (first or last) or len(runs) <= first + last:
        return None
    return (runs[0][-1] + 1 if first else 0), (runs[-1][0] if last else size)


def erase_neighbours(gray: np.ndarray) -> np.ndarray:
    """A digit cropped out of a page of writing, without the pieces of its neighbours that the crop
    caught at its edges (the digits beside it at the left and right, the lines above and below at
    the top and bottom, or both at a corner), each painted over with the paper beside it. Files only.

    A piece is ink that reaches an edge and is set apart from the rest by lines of paper across. The
    rest, the digit, must be one digit (the digits at the ends of a number are its own, whatever the
    margin) with paper on the two other sides; a piece at a side must be narrower than 0.4 of the
    digit's height (wider, it is a whole digit at the end of a number cropped close); and the picture
    must not be a small scan enlarged: a scan, whose strokes a low resolution may break apart, is left
    alone, and so is a digit that fills the picture."""
    if min(gray.shape) < LIGHTING_MIN_SIDE:
        return gray
    solid = ink_map(gray) > INK_LEVEL
    h, w = solid.shape
    inked = np.flatnonzero(solid.any(0))
    sides, ends = _edge_cut(inked, w), _edge_cut(np.flatnonzero(solid.any(1)), h)
    if sides is None and ends is None:
        return gray
    (left, right), (top, bottom) = sides or (0, w), ends or (0, h)
    digit = solid[top:bottom, left:right]  # the pieces of both axes set aside, so each leaves the other's margins free
    rows, cols = np.flatnonzero(digit.any(1)) + top, np.flatnonzero(digit.any(0)) + left
    if rows.size == 0 or len(digit_spans(digit)) > 1:  # a number: the digits at its ends are its own
        return gray
    if max(left - inked[0], inked[-1] + 1 - right) >= WHOLE_DIGIT * (rows[-1] + 1 - rows[0]):
        return gray  # a piece at a side as wide as a digit: a number, its end digits at the edges

    def clear_of(edges: np.ndarray, size: int) -> bool:
        return edges[0] >= NEIGHBOUR_MARGIN * size and edges[-1] < size - NEIGHBOUR_MARGIN * size

    sides, ends = (sides if clear_of(rows, h) else None), (ends if clear_of(cols, w) else None)
    if sides is None and ends is None:
        return gray
    if native_grid(gray)[0].shape != gray.shape:  # only once pieces are found: most pictures have none
        return gray
    out = gray.copy()
    for view, cut in ((out, sides), (out.T, ends)):  # out.T is a view: painting it paints ``out``
        if cut is None:
            continue
        start, end = cut  # painted with the first line of paper past the piece
        if start:
            view[:, :start] = view[:, start, None]
        if end < view.shape[1]:
            view[:, end:] = view[:, end - 1, None]
    return out


def resize(ink: np.ndarray, width: int, height: int) -> np.ndarray:
    """A float picture scaled bilinearly. Pillow widens its filter when shrinking, so this
    anti-aliases like MNIST's own scaling; enlarging, it is a viewer's smooth zoom."""
    return np.asarray(Image.fromarray(ink, mode="F").resize((width, height), Image.Resampling.BILINEAR))


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels, as 2·area / perimeter of the thresholded strokes."""
    solid = ink > 0.5
    area = int(solid.sum())
    if area == 0:
        return 0.0
    padded = np.pad(solid, 1)
    interior = solid & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    perimeter = area - int(interior.sum())
    return 2.0 * area / max(perimeter, 1)


def _dilate(ink: np.ndarray, size: int) -> np.ndarray:
    """Grey-level dilation with a size×size square, separable, in O(size) numpy passes."""
    pad = size // 2
    out = np.pad(ink, pad)
    rows = out[:, : out.shape[1] - 2 * pad].copy()
    for k in range(1, 2 * pad + 1):
        np.maximum(rows, out[:, k: k + rows.shape[1]], out=rows)
    cols = rows[: rows.shape[0] - 2 * pad].copy()
    for k in range(1, 2 * pad + 1):
        np.maximum(cols, rows[k: k + cols.shape[0]], out=cols)
    return cols


def _box_size(h: int, w: int) -> tuple[int, int]:
    scale = BOX / max(h, w)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _ink_bounds(ink: np.ndarray) -> tuple[int, int, int, int]:
    """Rows and columns (first, last + 1) that hold ink."""
    drawn = ink > INK_LEVEL
    rows, cols = np.flatnonzero(drawn.any(1)), np.flatnonzero(drawn.any(0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    top, bottom, left, right = _ink_bounds(ink)
    return ink[top:bottom, left:right]


def small_scan(picture, side: int, threshold: float | None = None, stretch: bool = False) -> np.ndarray:
    """A picture of a digit as a scanner or a small photo would give it: cropped to its ink, fitted
    into side×side (area-averaged, aspect kept, centred), white ink on black, binarised at
    ``threshold`` of full ink or left grey. ``stretch`` fills the square instead, aspect lost, as some
    scanned collections normalise their digits (Semeion's: a narrow 1 becomes a wide slanted bar)."""
    crop = crop_to_ink(ink_map(to_grayscale(picture)))
    scale = side / max(crop.shape)
    w, h = (side, side) if stretch else (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(crop, mode="F").resize((w, h), Image.Resampling.BOX))
    out = np.zeros((side, side), np.float32)
    out[(side - h) // 2: (side - h) // 2 + h, (side - w) // 2: (side - w) // 2 + w] = small
    return out if threshold is None else (out > threshold).astype(np.float32)


def _fit_box(ink: np.ndarray) -> tuple[np.ndarray | None, tuple[float, float, float, float]]:
    """Crop to the ink, scale the longer side to 20 px, thickening too-thin strokes on the way; no box
    for a dot. Also gives the box's extent on the source, (x, y, width, height) in its pixels."""
    top, bottom, left, right = _ink_bounds(ink)
    crop = ink[top:bottom, left:right]
    new_w, new_h = _box_size(*crop.shape)
    extent = (float(left), float(top), float(right - left), float(bottom - top))
    work = resize(crop, new_w * _WORK, new_h * _WORK)
    width = _stroke_width(work) / _WORK
    if width >= DOT_WIDTH:
        return None, extent
    if 0 < width < MIN_STROKE:
        size = round((TARGET_STROKE - width) * _WORK) | 1  # odd, so strokes stay centred
        pad = (size // 2) * crop.shape[1] / (new_w * _WORK)  # the padding, in source pixels
        extent = (extent[0] - pad, extent[1] - pad, extent[2] + 2 * pad, extent[3] + 2 * pad)
        work = _dilate(np.pad(work, size // 2), size)
        new_w, new_h = _box_size(*work.shape)  # the strokes grew the box: fit it back into 20 px
    return resize(work, new_w, new_h), extent


def centre_of_mass_field(box: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Place the box in a 28×28 field with its centre of mass at pixel (14, 14), clipping overhang;
    also gives where the box's top-left corner landed."""
    total = float(box.sum())
    ys, xs = np.indices(box.shape)
    cy = float((ys * box).sum()) / total
    cx = float((xs * box).sum()) / total
    top, left = int(round(CENTRE - cy)), int(round(CENTRE - cx))
    out = np.zeros((SIZE, SIZE), np.float32)
    h, w = box.shape
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(SIZE, top + h), min(SIZE, left + w)
    out[y0:y1, x0:x1] = box[y0 - top: y1 - top, x0 - left: x1 - left]
    return out, top, left


def _changes(lines_differ: np.ndarray) -> np.ndarray | None:
    """The lines at which a picture changes along one axis (``lines_differ[j]``: line j+1 differs
    from line j), or None if no enlargement by 1.5 or more can explain them: anything drawn with
    anti-aliasing changes on three neighbouring lines."""
    edges = np.flatnonzero(lines_differ) + 1
    if len(edges) < 2 or (len(edges) > 2 and (edges[2:] - edges[:-2]).min() < 3):
        return None
    return edges


def _cell_starts(edges: np.ndarray, size: int, cells: int) -> np.ndarray | None:
    """The first line of each cell if ``cells`` cells enlarged to ``size`` lines change only at
    ``edges``, else None. Enlargers start cell k at ceil(k·f − ½) (Pillow, `nearest-exact`) or
    ceil(k·f) (`nearest`, OpenCV), f = size / cells; f need not be whole (8 px enlarged to 28 gives
    cells of 3 and 4 lines)."""
    k = np.arange(cells)
    for numerator, denominator in ((2 * k * size - cells, 2 * cells), (k * size, cells)):
        starts = -(-numerator // denominator)  # integer ceil
        # Where k·f lands exactly on a line, the enlarger's rounding may start the cell a line late.
        late = starts + 1
        starts = np.where((numerator % denominator == 0) & np.isin(late, edges), late, starts)
        if np.isin(edges, starts).all():
            return starts
    return None


def native_grid(gray: np.ndarray) -> tuple[np.ndarray, float, float]:
    """A picture enlarged by repeating pixels (a viewer's zoom, `F.interpolate`'s default, pixel art),
    back at the size it was drawn or scanned at, and the cell's height and width in the picture's
    pixels (1.0 where it was not enlarged). The network then reads an enlarged 8×8 scan as it reads
    the scan itself: blocks' staircase edges cost a binarised 8×8 digit two points (bench/README.md).
    The fewest cells that explain every change, the same factor both ways, are taken; nothing is
    lost, as each cell is one value."""
    height, width = gray.shape
    row_edges = _changes((gray[1:] != gray[:-1]).any(1))
    if row_edges is None:  # every drawing on the canvas ends here
        return gray, 1.0, 1.0
    col_edges = _changes((gray[:, 1:] != gray[:, :-1]).any(0))
    if col_edges is None:
        return gray, 1.0, 1.0
    # Neighbouring cells may be alike, so the shortest gap between changes holds at least one cell.
    for n_rows in range(-(-height // (np.diff(row_edges).min() + 1)), height * 2 // 3 + 1):
        rows = _cell_starts(row_edges, height, n_rows)
        if rows is None:
            continue
        for n_cols in sorted({int(n_rows * width / height), -(-n_rows * width // height)}):
            if max(n_rows, n_cols) < NATIVE_MIN_CELLS or not 0 < n_cols <= width * 2 // 3:
                continue
            cols = _cell_starts(col_edges, width, n_cols)
            if cols is not None:
                return gray[np.ix_(rows, cols)], height / n_rows, width / n_cols
    return gray, 1.0, 1.0


def prepare_image(image) -> PreparedImage:
    """Any digit picture (PIL image or array) → MNIST-like 28×28 pixels, or an empty result."""
    gray, cell_h, cell_w = native_grid(to_grayscale(image))
    return _prepare_ink(ink_map(gray), cell_h, cell_w)


def prepare_digits(image) -> list[PreparedImage]:
    """Each digit of a number in a picture (digits side by side with paper between them: "42" on the
    canvas, a year on paper), prepared as ``prepare_image`` prepares one, left to right; a picture of
    one digit gives one. Frames are in the whole picture's pixels."""
    gray, cell_h, cell_w = native_grid(to_grayscale(image))
    ink = ink_map(gray)
    return [_prepare_ink(ink[:, start:end], cell_h, cell_w, start) for start, end in digit_spans(ink > INK_LEVEL)]


def prepare_one_digit(image) -> PreparedImage:
    """A picture of one digit (a personal sample) prepared as the Draw tab reads it, a speck far from the
    digit left out; one that ``prepare_digits`` cuts into several is prepared whole, as ``prepare_image`` does."""
    digits = prepare_digits(image)
    return digits[0] if len(digits) == 1 else prepare_image(image)


def _prepare_ink(ink: np.ndarray, cell_h: float, cell_w: float, column: int = 0) -> PreparedImage:
    """An ink map (on a grid of cells of this size, its first column at ``column`` of the picture's
    grid) → the 28×28 input and its frame on the picture, or an empty result."""
    if not (ink > INK_LEVEL).any():
        return PreparedImage(None, NOTHING_DRAWN)
    box, (x, y, width, height) = _fit_box(ink)
    if box is None:
        return PreparedImage(None, ONLY_A_DOT)
    pixels, top, left = centre_of_mass_field(box)
    scale_x, scale_y = width / box.shape[1], height / box.shape[0]  # grid cells per input pixel
    frame = ((column + x - left * scale_x) * cell_w, (y - top * scale_y) * cell_h, SIZE * scale_x * cell_w,
             SIZE * scale_y * cell_h)
    return PreparedImage(np.clip(pixels, 0.0, 1.0), frame=frame)


# A digit needs a few thousand pixels; past this many, decoding alone takes seconds and gigabytes
# (a 20000×20000 PNG compresses to under half a megabyte).
MAX_PIXELS = 50_000_000
# Larger pictures are reduced (cheap box filter) before preprocessing, which is linear in their size.
WORK_SIDE = 1024


@lru_cache(maxsize=10)
def sample_input(digit: int) -> np.ndarray:
    """The network's input for the app's sample drawing of ``digit``, read as an opened file is (once,
    and shared: not to be written to): what the app's pictures of a network follow until something is drawn."""
    return prepare_one_digit(read_image(sample_digit_path(digit))).pixels


def read_image(path, name: str | None = None) -> np.ndarray:
    """An image file (a path, or an open binary file called ``name`` in messages) → the picture as
    ``read_picture`` gives it: the one route from a file to the network, for `predict`, Open and
    drag-and-drop. Every failure is a ValueError with a readable message; images over MAX_PIXELS are
    refused before they are decoded (JPEGs are decoded at a reduced size instead)."""
    shown = name or path
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > MAX_PIXELS and img.format == "JPEG":
                img.draft("L", (width // 8, height // 8))  # the decoder itself scales down, 1/8 at most
            elif width * height > MAX_PIXELS:
                raise ValueError(too_large(shown, width, height))
            img.load()
            return read_picture(img)
    except FileNotFoundError:
        raise ValueError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise ValueError(f"{shown}: a folder, not a picture (give the pictures in it)") from None
    except PermissionError:
        raise ValueError(f"{shown}: no permission to read this file") from None
    except Image.DecompressionBombError:  # Pillow's own limit, hit while opening
        raise ValueError(too_large(shown)) from None
    except Image.UnidentifiedImageError:
        if _starts_like_a_picture(path):  # cut short before Pillow could even read its size
            raise ValueError(f"{shown}: not a readable image: damaged or cut short") from None
        raise ValueError(f"{shown}: not a readable image: not a picture in a format the app reads "
                         "(PNG, JPEG, BMP, GIF, TIFF, WebP…)") from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{shown}: not a readable image: damaged or cut short ({exc or exc.__class__.__name__})") from None


def read_picture(img: Image.Image) -> np.ndarray:
    """A decoded picture (a file's, or one pasted in the app) → H×W float32 grey in [0, 1], turned
    upright by its EXIF orientation, transparency laid on paper, cropped to the sheet of paper if it
    lies on a desk, the lines of ruled paper and pieces of neighbouring digits at its edges painted over."""
    img = ImageOps.exif_transpose(img)  # a phone stores its photos sideways, with a tag saying so
    factor = max(img.size) // WORK_SIDE
    if factor > 1:
        img = img.reduce(factor)
    return erase_neighbours(erase_ruling(crop_to_sheet(to_grayscale(img))))


# How the common picture formats begin: a file that begins so but cannot be read was damaged or cut short.
PICTURE_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")


def _starts_like_a_picture(path) -> bool:
    if hasattr(path, "read"):  # an open file
        path.seek(0)
        return path.read(4).startswith(PICTURE_SIGNATURES)
    with open(path, "rb") as f:
        return _starts_like_a_picture(f)


def too_large(path, width: int | None = None, height: int | None = None) -> str:
    size = f" ({width}×{height}, {width * height / 1e6:.0f} megapixels)" if width else ""
    return f"{path}: image too large{size}; up to {MAX_PIXELS / 1e6:.0f} megapixels are read. Scale it down first."
