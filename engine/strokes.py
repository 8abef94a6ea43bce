"""Pen strokes → the picture the network is given: one renderer for the canvas and the pen datasets.

A stroke is a polyline in canvas-relative coordinates (0..1 on both axes, y down) drawn with a
round pen whose width is a fraction of the canvas side. The canvas paints its strokes on screen with
Qt, but what it hands to the network is drawn here, so a digit drawn with the mouse and a digit from
a pen-trajectory dataset reach ``prepare_image`` through exactly the same pixels (a test compares
this renderer with Qt's painter).
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

RENDER_SIZE = 280  # the canvas handed to the network, like a 10× MNIST field
_SUPERSAMPLE = 2  # drawn at twice the size and box-averaged down: anti-aliased edges


@dataclass(frozen=True)
class Stroke:
    points: np.ndarray  # (N, 2) float, x and y in 0..1 of the canvas side, y pointing down
    width: float  # pen width as a fraction of the canvas side


def render_strokes(strokes, size: int = RENDER_SIZE) -> np.ndarray:
    """Draw strokes dark on white with a round, anti-aliased pen: a size×size uint8 array."""
    big = size * _SUPERSAMPLE
    image = Image.new("L", (big, big), 255)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = np.asarray(stroke.points, dtype=np.float64) * big
        width = max(1.0, stroke.width * big)
        radius = width / 2
        if len(points) > 1:
            draw.line([tuple(p) for p in points], fill=0, width=int(round(width)), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps (joints are rounded by joint="curve")
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return np.asarray(image.reduce(_SUPERSAMPLE))
