"""Driving the canvas with real mouse events, for tests, screenshots and demos."""

from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
from PySide6.QtTest import QTest

# Digits as strokes in canvas-relative coordinates (0..1), written the way people draw them.
STROKES = {
    1: [[(0.42, 0.25), (0.55, 0.14), (0.55, 0.86)]],
    4: [[(0.55, 0.15), (0.45, 0.35), (0.32, 0.58), (0.68, 0.58)], [(0.58, 0.32), (0.57, 0.6), (0.56, 0.88)]],
    7: [[(0.3, 0.18), (0.72, 0.18), (0.5, 0.55), (0.42, 0.86)]],
}



def side_by_side(*digits: int) -> list:
    """The strokes of these digits (of ``STROKES``) written next to each other, each in its share of
    the canvas: a number, as "74"."""
    n = len(digits)
    return [[((i + x) / n, 0.5 + (y - 0.5) / n) for x, y in stroke] for i, digit in enumerate(digits) for stroke in STROKES[digit]]


def canvas_point(canvas, x: float, y: float) -> QPoint:
    side = min(canvas.width(), canvas.height())
    return QPoint((canvas.width() - side) // 2 + int(x * side), (canvas.height() - side) // 2 + int(y * side))


def press_and_move(canvas, stroke, steps: int = 10) -> None:
    """Press at the stroke's start and drag along it, without releasing the button."""
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(canvas, *stroke[0]))
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
        for i in range(1, steps + 1):
            t = i / steps
            QTest.mouseMove(canvas, canvas_point(canvas, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))


def wait(ms: int) -> None:
    """Run the event loop for ``ms``. (QTest.qWait keeps Python's GIL, starving worker threads.)"""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def draw_strokes(canvas, strokes, steps: int = 10, pen_lift_ms: int = 0) -> None:
    """Draw each stroke as a press, a drag through its points, and a release; ``pen_lift_ms`` of
    event loop between strokes, as a hand takes to move to the next one."""
    for i, stroke in enumerate(strokes):
        if i and pen_lift_ms:
            wait(pen_lift_ms)
        press_and_move(canvas, stroke, steps)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(canvas, *stroke[-1]))
