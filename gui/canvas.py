"""The drawing canvas: anti-aliased round-pen strokes, undo and redo, clear, and opened images.

Strokes are stored in canvas-relative coordinates (0..1), so the drawing survives resizing and
renders identically at any size: on screen at the display's pixel ratio (HiDPI), and into a fixed
280×280 grayscale image for the network.
"""

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from engine.preprocess import PreparedImage, find_paper
from engine.strokes import Stroke

RENDER_SIZE = 280  # the drawing handed to the network, like a 10× MNIST canvas
PIXELATED_ZOOM = 4  # on screen, a picture enlarged this much shows its pixels as blocks, as image viewers do
HISTORY_LIMIT = 200  # undo steps kept; a state is a few references, so this costs next to nothing


@dataclass(frozen=True)
class _State:
    """What the canvas shows, for undo and redo: finished strokes and an opened image."""

    strokes: tuple
    background: QImage | None
    image: np.ndarray | None
    paper: QColor
    ink: QColor
    prepared: PreparedImage | None = None  # the network's input for the image, when it is known already
    from_test_set: bool = False  # the image is a test set's digit, opened from Evaluate


DEFAULT_HINT = "Draw a digit here"
PICTURE_HINT = "or open, drop or paste a picture of one (Ctrl+O, Ctrl+V)"


class DrawingCanvas(QWidget):
    """Emits ``drawingChanged`` while a stroke grows, ``strokeFinished`` when a stroke ends or an
    undo, redo or image leaves something to read, and ``cleared`` when emptied."""

    drawingChanged = Signal()
    strokeFinished = Signal()
    cleared = Signal()
    undone = Signal(object)  # Undo brought back the canvas as ``history_mark()`` once gave it
    redone = Signal(object)  # Redo brought back the canvas as ``redo_mark()`` once gave it

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setMinimumSize(280, 280)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.pen_width = 0.065  # fraction of the canvas side (≈18 px of 280)
        self._strokes: list[tuple[list[QPointF], float]] = []  # points (0..1) and pen width
        self._current: list[QPointF] | None = None
        self._background: QImage | None = None  # an opened image, shown behind the strokes
        self._image: np.ndarray | None = None  # the same image as read from its file
        self._prepared: PreparedImage | None = None
        self._from_test_set = False
        self._paper = QColor("white")
        self._ink = QColor("black")
        self._cache: QPixmap | None = None  # finished strokes, at the screen's resolution
        # A picture laid over the drawing (the saliency map) and where it lies on what the network read.
        self._overlay: QImage | None = None
        self._overlay_frame: QRectF | None = None
        self._undo: list[_State] = []
        self._redo: list[_State] = []
        self.hint = DEFAULT_HINT

    # --- state ---------------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self._strokes and self._current is None and self._background is None

    def is_drawing(self) -> bool:
        """True while a stroke is under way (the mouse button is down)."""
        return self._current is not None

    def shows_test_image(self) -> bool:
        """True while a test set's digit opened from Evaluate is on the canvas, drawn over or not."""
        return self._background is not None and self._from_test_set

    def stroke_count(self) -> int:
        return len(self._strokes)

    def strokes(self) -> list[Stroke]:
        """The finished strokes, as the engine's renderer takes them."""
        return [Stroke(np.array([(p.x(), p.y()) for p in points]), width) for points, width in self._strokes]

    def set_hint(self, text: str = DEFAULT_HINT) -> None:
        """What the empty canvas asks for."""
        self.hint = text
        self.update()

    def set_pen_width(self, fraction: float) -> None:
        self.pen_width = fraction

    def clear(self) -> None:
        if not self.is_empty():
            self._record()
        self._current = None
        self._restore(_State((), None, None, QColor("white"), QColor("black")))

    def can_undo(self) -> bool:
        return bool(self._undo)

    def history_mark(self) -> object | None:
        """What the next Undo brings back, as a token that ``undoing`` will carry when that happens."""
        return self._undo[-1] if self._undo else None

    def can_redo(self) -> bool:
        return bool(self._redo)

    def redo_mark(self) -> object | None:
        """What the next Redo brings back, as a token that ``redone`` will carry when that happens."""
        return self._redo[-1] if self._redo else None

    def undo(self) -> None:
        """Take back the last stroke, clear or opened image."""
        if self._undo:
            state = self._undo.pop()
            self._redo.append(self._state())
            self._restore(state)
            self.undone.emit(state)

    def redo(self) -> None:
        if self._redo:
            state = self._redo.pop()
            self._undo.append(self._state())
            self._restore(state)
            self.redone.emit(state)

    def _state(self) -> _State:
        return _State(tuple(self._strokes), self._background, self._image, self._paper, self._ink, self._prepared,
                      self._from_test_set)

    def _record(self) -> None:
        """Remember the canvas as it is before a change; a new change forgets what was undone."""
        self._undo = [*self._undo[-(HISTORY_LIMIT - 1):], self._state()]
        self._redo.clear()

    def _restore(self, state: _State) -> None:
        self._strokes = list(state.strokes)
        self._background, self._image, self._paper, self._ink = state.background, state.image, state.paper, state.ink
        self._prepared, self._from_test_set = state.prepared, state.from_test_set
        self._invalidate()
        if self.is_empty():
            self.cleared.emit()
        else:
            self.strokeFinished.emit()

    def set_image(self, gray: np.ndarray, prepared: PreparedImage | None = None, from_test_set: bool = False) -> None:
        """Show a picture (H×W grey in [0, 1], as ``read_image`` gives it) in place of the drawing,
        on its own paper colour; until something is drawn over it, the network reads it unchanged,
        or reads ``prepared`` (a test image's own input, so it reads as it did in evaluation).
        ``from_test_set`` marks a test set's digit, opened from Evaluate."""
        paper = find_paper(gray)
        self._record()
        pixels = np.ascontiguousarray(np.round(gray * 255), dtype=np.uint8)
        background = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0],
                            QImage.Format.Format_Grayscale8).copy()
        level = round(paper.level * 255)
        ink = QColor("black") if paper.dark_ink else QColor("white")
        self._restore(_State((), background, gray, QColor(level, level, level), ink, prepared, from_test_set))

    def picture(self) -> np.ndarray | PreparedImage:
        """What the network reads: an opened picture exactly as read from its file while nothing is
        drawn over it (the same input `predict` gets), or the input it was given with; otherwise the
        canvas as drawn."""
        if self._image is not None and not self._strokes and self._current is None:
            return self._image if self._prepared is None else self._prepared
        return self.render_array()

    # --- rendering -----------------------------------------------------------------------------
    def _side(self) -> float:
        return float(min(self.width(), self.height()))

    def _origin(self) -> QPointF:
        side = self._side()
        return QPointF((self.width() - side) / 2, (self.height() - side) / 2)

    def _background_rect(self, side: float) -> QRectF:
        size = self._background.size().scaled(QSize(int(side), int(side)), Qt.AspectRatioMode.KeepAspectRatio)
        return QRectF((side - size.width()) / 2, (side - size.height()) / 2, size.width(), size.height())

    def set_overlay(self, rgba: np.ndarray | None, frame: tuple[float, float, float, float] | None = None) -> None:
        """Lay an H×W×4 picture over the drawing, stretched over ``frame`` (x, y, width, height in
        pixels of ``picture()``, as ``PreparedImage.frame`` gives it); None removes it. It goes as
        soon as the drawing changes."""
        if rgba is None or frame is None:
            self._overlay = None
        else:
            # A transparent border, so the smooth enlargement fades out instead of ending at the frame.
            data = np.ascontiguousarray(np.pad(rgba, ((1, 1), (1, 1), (0, 0))), dtype=np.uint8)
            self._overlay = QImage(data.data, data.shape[1], data.shape[0], data.strides[0],
                                   QImage.Format.Format_RGBA8888).copy()
            x, y, width, height = frame
            cell_x, cell_y = width / rgba.shape[1], height / rgba.shape[0]
            self._overlay_frame = QRectF(x - cell_x, y - cell_y, width + 2 * cell_x, height + 2 * cell_y)
        self.update()

    def has_overlay(self) -> bool:
        return self._overlay is not None

    def _picture_to_canvas(self, side: float) -> tuple[QPointF, float]:
        """Where ``picture()``'s pixel (0, 0) lies on a canvas of ``side``, and its scale."""
        if self._image is not None and not self._strokes and self._current is None:
            rect = self._background_rect(side)
            return rect.topLeft(), rect.width() / self._image.shape[1]
        return QPointF(0, 0), side / RENDER_SIZE

    def _paint_content(self, painter: QPainter, side: float, strokes, on_screen: bool = False) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(QRectF(0, 0, side, side), self._paper)
        if self._background is not None:
            rect = self._background_rect(side)
            # On screen a small picture (an 8×8 scan) shows the pixels it has; drawn over, the network
            # is given it smoothly enlarged, as it has always read a drawing over a picture.
            pixelated = on_screen and rect.width() >= PIXELATED_ZOOM * self._background.width()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not pixelated)
            painter.drawImage(rect, self._background)
        for points, width in strokes:
            self._draw_stroke(painter, points, width, side)

    def _draw_stroke(self, painter: QPainter, points: list[QPointF], width: float, side: float) -> None:
        painter.setPen(QPen(self._ink, width * side, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        if len(points) == 1:
            painter.drawPoint(points[0] * side)
            return
        path = QPainterPath(points[0] * side)
        for p in points[1:]:
            path.lineTo(p * side)
        painter.drawPath(path)

    def render_array(self, size: int = RENDER_SIZE) -> np.ndarray:
        """The drawing as a size×size uint8 grayscale array (what the network is given)."""
        image = QImage(size, size, QImage.Format.Format_Grayscale8)
        painter = QPainter(image)
        self._paint_content(painter, float(size), self._all_strokes())
        painter.end()
        return image_array(image)

    def _all_strokes(self):
        if self._current is None:
            return self._strokes
        return [*self._strokes, (self._current, self.pen_width)]

    def _invalidate(self) -> None:
        self._cache = None
        self._overlay = None  # it explained the drawing as it was
        self.update()

    def paintEvent(self, _event) -> None:
        side = self._side()
        ratio = self.devicePixelRatioF()
        if self._cache is None or self._cache.size() != QSize(round(side * ratio), round(side * ratio)):
            self._cache = QPixmap(round(side * ratio), round(side * ratio))
            self._cache.setDevicePixelRatio(ratio)
            cache_painter = QPainter(self._cache)
            self._paint_content(cache_painter, side, self._strokes, on_screen=True)
            cache_painter.end()
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        painter.translate(self._origin())
        painter.drawPixmap(0, 0, self._cache)
        if self._current is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._draw_stroke(painter, self._current, self.pen_width, side)
        if self._overlay is not None:
            origin, scale = self._picture_to_canvas(side)
            f = self._overlay_frame
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.setClipRect(QRectF(0, 0, side, side))
            painter.drawImage(QRectF(origin.x() + f.x() * scale, origin.y() + f.y() * scale,
                                     f.width() * scale, f.height() * scale), self._overlay)
            painter.setClipping(False)
        if self.is_empty():  # a hint on screen only; never part of what the network sees
            painter.setPen(QColor("#b0b4bb"))
            font = painter.font()
            font.setPointSizeF(max(10.0, side / 28))
            painter.setFont(font)
            painter.drawText(QRectF(0, 0, side, side), Qt.AlignmentFlag.AlignCenter, self.hint)
            if self.hint == DEFAULT_HINT:
                font.setPointSizeF(max(8.0, side / 48))
                painter.setFont(font)
                painter.drawText(QRectF(side * 0.05, side * 0.55, side * 0.9, side * 0.2),
                                 Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                                 PICTURE_HINT)
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawRect(QRectF(0, 0, side - 1, side - 1))
        painter.end()

    def resizeEvent(self, event) -> None:
        self._cache = None
        super().resizeEvent(event)

    # --- mouse ---------------------------------------------------------------------------------
    def _relative(self, pos) -> QPointF:
        side = self._side()
        p = (QPointF(pos) - self._origin()) / side
        return QPointF(min(max(p.x(), 0.0), 1.0), min(max(p.y(), 0.0), 1.0))

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._current = [self._relative(event.position())]
            self._overlay = None
            self.update()
            self.drawingChanged.emit()

    def mouseMoveEvent(self, event) -> None:
        if self._current is not None:
            self._current.append(self._relative(event.position()))
            self.update()
            self.drawingChanged.emit()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self._record()
            self._strokes.append((self._current, self.pen_width))
            self._current = None
            self._invalidate()
            self.strokeFinished.emit()


def image_array(image: QImage) -> np.ndarray:
    """A QImage → H×W uint8 array if it is grey, else H×W×4 RGBA (copied, honouring the row padding)."""
    if image.format() != QImage.Format.Format_Grayscale8:
        image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    channels = 1 if image.format() == QImage.Format.Format_Grayscale8 else 4
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * height).reshape(height, -1)
    pixels = rows[:, : width * channels]
    return (pixels if channels == 1 else pixels.reshape(height, width, 4)).copy()
