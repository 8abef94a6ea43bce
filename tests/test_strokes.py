"""The engine's stroke renderer draws what the canvas draws: pen digits train on the canvas's pixels."""

import numpy as np

from engine.datasets import pen_file
from engine.pendigits import parse_unipen, to_canvas
from engine.predict import Predictor
from engine.preprocess import prepare_image
from engine.strokes import render_strokes
from gui.automation import draw_strokes
from gui.canvas import DrawingCanvas


def best_shift_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference at the best alignment within one pixel: centring by the centre of
    mass rounds to whole pixels, so a hair's difference in ink can move a digit by one."""
    padded = np.pad(b, 1)
    return min(float(np.abs(a - padded[1 + dy: 29 + dy, 1 + dx: 29 + dx]).mean())
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def test_mouse_drawn_pen_digits_reach_the_network_as_the_engine_draws_them(qtbot):
    predictor = Predictor.load()
    digits = parse_unipen(pen_file())[:40:4]
    rng = np.random.default_rng(0)
    for digit in digits:
        canvas = DrawingCanvas()
        qtbot.addWidget(canvas)
        canvas.resize(280, 280)
        canvas.set_pen_width(rng.uniform(4, 36) / 280)
        strokes = [[tuple(p) for p in s.points] for s in to_canvas(digit, None, 18.0)]
        draw_strokes(canvas, strokes, steps=1)  # real mouse events through each trajectory point
        by_qt = prepare_image(canvas.render_array()).pixels
        by_engine = prepare_image(render_strokes(canvas.strokes())).pixels
        assert best_shift_difference(by_qt, by_engine) < 0.012
        p_qt, p_engine = predictor.probabilities(by_qt), predictor.probabilities(by_engine)
        assert p_qt.argmax() == p_engine.argmax() and np.abs(p_qt - p_engine).max() < 0.1
