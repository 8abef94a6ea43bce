"""A synthetic set of digits drawn as canvas strokes, for judging how well a model reads drawings.

Each digit has several allographs (how people actually write it: 1 with and without a flag and
base, crossed and plain 7, open and closed 4, one- and two-stroke 5, looped and stacked 8, ...).
Each sample is one "writer": a random slant, rotation, aspect, size and position, a pen width
from a fine 3 px to a marker 30 px on a 280 px canvas, jittered control points, hand wobble,
loops left open and strokes that do not quite meet. Rendered dark on light, anti-aliased, 280×280,
like the app's canvas. This set is for evaluation only; no model is trained on it.
"""

import math

import numpy as np
from PIL import Image, ImageDraw

SIZE = 280
_SUPERSAMPLE = 2
C = "corner"  # a marker: the curve passes through the next point with a sharp turn

# Control points in a unit box (x right, y down). A point preceded by C is a sharp corner.
TEMPLATES: dict[int, list[list[list]]] = {
    0: [
        [[(0.5, 0.0), (0.15, 0.15), (0.05, 0.5), (0.2, 0.9), (0.5, 1.0), (0.85, 0.85), (0.95, 0.45), (0.8, 0.1), (0.5, 0.0), (0.35, 0.08)]],
        [[(0.55, 0.02), (0.25, 0.1), (0.12, 0.5), (0.3, 0.95), (0.6, 0.98), (0.85, 0.6), (0.8, 0.15), (0.55, 0.02)]],
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.25, 0.25), C, (0.55, 0.0), (0.55, 1.0)]],
        [[(0.25, 0.22), C, (0.55, 0.0), (0.55, 1.0)], [(0.25, 1.0), (0.85, 1.0)]],
    ],
    2: [
        [[(0.12, 0.25), (0.35, 0.02), (0.7, 0.02), (0.88, 0.25), (0.75, 0.5), C, (0.08, 1.0), C, (0.92, 1.0)]],
        [[(0.15, 0.2), (0.5, 0.0), (0.85, 0.2), (0.6, 0.6), (0.2, 0.95), C, (0.1, 1.0), (0.5, 0.95), (0.9, 1.0)]],
        [[(0.1, 0.3), (0.3, 0.05), (0.65, 0.0), (0.85, 0.25), (0.5, 0.65), (0.15, 0.95), (0.3, 0.8), (0.55, 0.95), (0.9, 0.98)]],
    ],
    3: [
        [[(0.12, 0.12), (0.5, 0.0), (0.85, 0.15), (0.8, 0.38), (0.45, 0.48), C, (0.45, 0.48), (0.85, 0.62), (0.88, 0.85), (0.5, 1.0), (0.1, 0.88)]],
        [[(0.12, 0.0), C, (0.85, 0.0), C, (0.4, 0.42), C, (0.75, 0.52), (0.88, 0.78), (0.55, 1.0), (0.1, 0.88)]],
    ],
    4: [
        [[(0.6, 0.0), C, (0.08, 0.65), C, (0.92, 0.65)], [(0.68, 0.3), (0.66, 1.0)]],
        [[(0.22, 0.0), C, (0.15, 0.55), C, (0.88, 0.55)], [(0.72, 0.0), (0.7, 1.0)]],
        [[(0.7, 1.0), C, (0.7, 0.0), C, (0.1, 0.68), C, (0.92, 0.68)]],
    ],
    5: [
        [[(0.82, 0.0), C, (0.25, 0.0), C, (0.2, 0.45), C, (0.55, 0.38), (0.85, 0.6), (0.8, 0.9), (0.45, 1.0), (0.1, 0.88)]],
        [[(0.25, 0.0), C, (0.2, 0.45), C, (0.55, 0.38), (0.85, 0.62), (0.8, 0.9), (0.45, 1.0), (0.12, 0.85)], [(0.25, 0.0), (0.85, 0.0)]],
    ],
    6: [
        [[(0.75, 0.05), (0.45, 0.12), (0.2, 0.45), (0.15, 0.75), (0.35, 1.0), (0.7, 0.95), (0.82, 0.72), (0.6, 0.52), (0.3, 0.58), (0.17, 0.74)]],
        [[(0.65, 0.0), (0.3, 0.35), (0.15, 0.7), (0.35, 0.98), (0.7, 0.92), (0.75, 0.65), (0.45, 0.55), (0.2, 0.7)]],
    ],
    7: [
        [[(0.1, 0.0), C, (0.9, 0.0), C, (0.4, 1.0)]],
        [[(0.1, 0.0), C, (0.9, 0.0), C, (0.42, 1.0)], [(0.3, 0.5), (0.82, 0.5)]],
        [[(0.08, 0.06), (0.5, 0.0), C, (0.9, 0.02), (0.6, 0.45), (0.45, 1.0)]],
        [[(0.1, 0.18), C, (0.1, 0.0), C, (0.9, 0.0), C, (0.45, 1.0)]],
    ],
    8: [
        [[(0.8, 0.12), (0.5, 0.0), (0.2, 0.14), (0.3, 0.36), (0.7, 0.6), (0.82, 0.86), (0.5, 1.0), (0.18, 0.86), (0.3, 0.6), (0.7, 0.36), (0.8, 0.12)]],
        [[(0.5, 0.45), (0.25, 0.3), (0.3, 0.05), (0.55, 0.0), (0.72, 0.2), (0.5, 0.45)],
         [(0.5, 0.45), (0.2, 0.65), (0.3, 0.95), (0.65, 1.0), (0.82, 0.72), (0.5, 0.45)]],
    ],
    9: [
        [[(0.82, 0.18), (0.5, 0.0), (0.2, 0.16), (0.25, 0.42), (0.6, 0.45), (0.82, 0.22), C, (0.82, 0.22), (0.8, 0.6), (0.76, 1.0)]],
        [[(0.8, 0.25), (0.55, 0.02), (0.2, 0.15), (0.28, 0.45), (0.8, 0.3), (0.75, 0.7), (0.55, 0.98), (0.25, 0.92)]],
        [[(0.75, 0.1), (0.45, 0.0), (0.18, 0.22), (0.4, 0.45), (0.75, 0.28), (0.75, 0.1)], [(0.78, 0.12), (0.7, 1.0)]],
    ],
}


def _catmull_rom(points: np.ndarray, per_segment: int = 12) -> np.ndarray:
    """A smooth curve through ``points`` (K×2); repeated points give sharp corners."""
    if len(points) < 2:
        return points
    padded = np.vstack([points[0], points, points[-1]])
    out = [points[0]]
    t = np.linspace(0, 1, per_segment + 1)[1:, None]
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    return np.vstack(out)


def _control_points(stroke: list) -> np.ndarray:
    points = []
    corner = False
    for item in stroke:
        if item == C:
            corner = True
            continue
        points.append(item)
        if corner:  # doubling the point makes the spline stop and turn there
            points.append(item)
            corner = False
    return np.array(points, dtype=np.float64)


def _writer_transform(rng: np.random.Generator) -> np.ndarray:
    slant = rng.uniform(-0.35, 0.45)  # most people lean right
    angle = math.radians(rng.uniform(-10, 10))
    aspect = rng.uniform(0.65, 1.15)  # width relative to height
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    shear = np.array([[1.0, -slant], [0.0, 1.0]])
    return rotation @ shear @ np.diag([aspect, 1.0])


def _proportion_warp(rng: np.random.Generator, strength: float):
    """A smooth random warp of the unit box: writers differ in loop sizes, where strokes cross,
    how long a bar is, not just in slant and size."""
    freqs = rng.uniform(0.5, 1.6, (3, 2, 2))
    phases = rng.uniform(0, 2 * math.pi, (3, 2))
    amps = rng.normal(0, strength, (3, 2))

    def warp(points: np.ndarray) -> np.ndarray:
        out = points.copy()
        for f, ph, a in zip(freqs, phases, amps):
            out += a * np.sin(points @ f * math.pi + ph)
        return out

    return warp


def draw_digit(digit: int, rng: np.random.Generator, style: int | None = None) -> np.ndarray:
    """One drawn digit as a 280×280 uint8 image, dark ink on white."""
    templates = TEMPLATES[digit]
    strokes = templates[style if style is not None else rng.integers(len(templates))]
    transform = _writer_transform(rng)
    warp = _proportion_warp(rng, rng.uniform(0.02, 0.07))
    jitter = rng.uniform(0.015, 0.05)
    curves = []
    for k, stroke in enumerate(strokes):
        control = warp(_control_points(stroke)) - 0.5
        control = control + rng.normal(0, jitter, control.shape)
        if k > 0:  # later strokes land off where they were meant to: gaps and overshoots
            control = control + rng.normal(0, 0.05, (1, 2))
        curve = _catmull_rom(control)
        # Hand wobble: a slow random drift along the stroke.
        drift = np.cumsum(rng.normal(0, 0.004, curve.shape), axis=0)
        curve = (curve + drift - drift.mean(0)) @ transform.T
        if len(strokes) == 1 and np.linalg.norm(curve[0] - curve[-1]) < 0.15 and rng.random() < 0.4:
            curve = curve[: int(len(curve) * rng.uniform(0.85, 0.95))]  # a loop left open
        curves.append(curve)
    pen = float(rng.choice([rng.uniform(3, 8), rng.uniform(8, 20), rng.uniform(20, 30)], p=[0.3, 0.5, 0.2]))
    margin = 0.03 * SIZE + pen / 2  # the whole stroke stays on the canvas
    room = SIZE - 2 * margin
    every = np.vstack(curves)
    low, high = every.min(0), every.max(0)
    span = np.maximum(high - low, 1e-6)
    scale = min(rng.uniform(0.3, 0.85) * SIZE / span[1], room / span[0], room / span[1])
    extent = span * scale
    origin = margin + rng.uniform(0, 1, 2) * np.maximum(room - extent, 0)

    big = SIZE * _SUPERSAMPLE
    canvas = Image.new("L", (big, big), 255)
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(pen * _SUPERSAMPLE))
    for curve in curves:
        pts = [tuple(p) for p in ((curve - low) * scale + origin) * _SUPERSAMPLE]
        draw.line(pts, fill=0, width=width, joint="curve")
        r = width / 2
        for x, y in (pts[0], pts[-1]):  # round caps, like a round pen
            draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
    return np.asarray(canvas.resize((SIZE, SIZE), Image.Resampling.BOX))


def drawn_digit_set(per_digit: int = 200, seed: int = 2026) -> tuple[np.ndarray, np.ndarray]:
    """``per_digit`` drawings of each digit: images (N×280×280 uint8) and labels (N,)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for digit in range(10):
        for _ in range(per_digit):
            images.append(draw_digit(digit, rng))
            labels.append(digit)
    return np.stack(images), np.array(labels)
