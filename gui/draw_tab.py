"""The Draw tab: draw a digit and watch the network read it as you draw."""

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget,
)

from engine.predict import Prediction
from gui.active_model import ActiveModel
from gui.canvas import DrawingCanvas
from gui.style import ACCENT, MUTED, UNSURE, bar_brushes, section_label

PREDICT_EVERY_MS = 30  # while a stroke grows, predict at most this often
HINT = "Draw a digit from 0 to 9 in the box"
PREVIEW_SCALE = 6


def array_to_pixmap(pixels: np.ndarray, scale: int) -> QPixmap:
    """A float [0, 1] grayscale array → a crisp (nearest-neighbour) enlarged pixmap."""
    data = np.ascontiguousarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8))
    image = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image.scaled(data.shape[1] * scale, data.shape[0] * scale,
                                          Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.FastTransformation))


class ProbabilityChart(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, background=None)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setYRange(0, 1.08, padding=0)
        self.setXRange(-0.6, 9.6, padding=0)
        self.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        self.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.5, 1)]])
        self.showGrid(y=True, alpha=0.15)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.72, brushes=bar_brushes(None))
        self.addItem(self.bars)
        self.setMinimumHeight(160)

    def show_probabilities(self, probabilities: np.ndarray, highlight: int | None) -> None:
        self.bars.setOpts(height=probabilities, brushes=bar_brushes(highlight))


class DrawTab(QWidget):
    """Emits ``predicted(Prediction)`` after every prediction (``None`` when the canvas is empty)."""

    predicted = Signal(object)

    def __init__(self, active: ActiveModel, parent=None):
        super().__init__(parent)
        self.active = active
        self.last_prediction: Prediction | None = None
        self.latencies_ms: list[float] = []  # drawing → probabilities, for the status line and benchmarks
        self.canvas = DrawingCanvas()
        # Digit keys label the drawing while focus is in this tab (see PersonalPanel).
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.canvas.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._timer = QTimer(self, singleShot=True, interval=PREDICT_EVERY_MS, timeout=self.predict_now)

        self.canvas.drawingChanged.connect(self._schedule)
        self.canvas.strokeFinished.connect(self.predict_now)
        self.canvas.cleared.connect(self.predict_now)
        active.changed.connect(lambda _p: self.predict_now())

        self.pen_slider = QSlider(Qt.Orientation.Horizontal, minimum=2, maximum=40, value=18)
        self.pen_slider.setToolTip("Pen width, in pixels of a 280-pixel canvas")
        self.pen_slider.valueChanged.connect(lambda v: self.canvas.set_pen_width(v / 280))
        self.canvas.set_pen_width(self.pen_slider.value() / 280)
        self.undo_button = QPushButton("Undo stroke")
        self.undo_button.setToolTip("Remove the last stroke (Ctrl+Z)")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Clear the canvas (Esc or Delete)")
        self.clear_button.clicked.connect(self.canvas.clear)

        tools = QHBoxLayout()
        tools.addWidget(QLabel("Pen"))
        tools.addWidget(self.pen_slider, 1)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.clear_button)
        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(tools)

        self.digit_label = QLabel("")
        self.digit_label.setObjectName("predictedDigit")
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont()
        font.setPointSize(72)
        font.setBold(True)
        self.digit_label.setFont(font)
        self.digit_label.setMinimumHeight(120)
        self.confidence_label = QLabel(HINT)
        self.confidence_label.setObjectName("confidenceLabel")
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setWordWrap(True)
        self.chart = ProbabilityChart()
        self.preview = QLabel()
        self.preview.setObjectName("networkInput")
        self.preview.setFixedSize(28 * PREVIEW_SCALE, 28 * PREVIEW_SCALE)
        self.preview.setFrameShape(QFrame.Shape.Box)
        self.preview.setToolTip("Exactly what the network sees: your drawing cropped, scaled to 20 px, "
                                "centred by mass in 28×28, white on black like MNIST")
        self.latency_label = QLabel("")
        self.latency_label.setStyleSheet(f"color: {MUTED}")

        right = QVBoxLayout()
        right.addWidget(section_label("Prediction"))
        right.addWidget(self.digit_label)
        right.addWidget(self.confidence_label)
        right.addWidget(section_label("Probabilities"))
        right.addWidget(self.chart, 1)
        preview_row = QGridLayout()
        preview_row.addWidget(section_label("What the network sees (28×28)"), 0, 0)
        preview_row.addWidget(self.preview, 1, 0)
        preview_row.addWidget(self.latency_label, 2, 0)
        right.addLayout(preview_row)
        self.extra = QVBoxLayout()  # room for the personal-samples controls
        right.addLayout(self.extra)

        panel = QWidget()
        panel.setLayout(right)
        panel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        panel.setMinimumWidth(400)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(panel, 2)
        self._show_empty()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def predict_now(self) -> None:
        """Read the canvas and update the prediction panel (skipped for an empty canvas)."""
        self._timer.stop()
        if self.canvas.is_empty():
            self.last_prediction = None
            self._show_empty()
            self.predicted.emit(None)
            return
        start = time.perf_counter()
        prediction = self.active.predictor.predict(self.canvas.picture())
        self.latencies_ms.append((time.perf_counter() - start) * 1000)
        self.last_prediction = prediction
        if prediction.digit is None:
            self._show_empty(prediction.error)
        else:
            self._show(prediction)
        self.predicted.emit(prediction)

    def _show_empty(self, message: str = HINT) -> None:
        self.digit_label.setText("")
        self.confidence_label.setText(message)
        self.confidence_label.setStyleSheet(f"color: {MUTED}")
        self.chart.show_probabilities(np.zeros(10), None)
        self.preview.setPixmap(array_to_pixmap(np.zeros((28, 28)), PREVIEW_SCALE))
        self.latency_label.setText("")

    def _show(self, p: Prediction) -> None:
        self.digit_label.setText(str(p.digit))
        if p.unsure:
            second = p.runner_up
            self.digit_label.setStyleSheet(f"color: {UNSURE}")
            self.confidence_label.setText(f"Not sure: {p.digit} ({p.confidence:.0%}) or {second} "
                                          f"({p.probabilities[second]:.0%})?")
            self.confidence_label.setStyleSheet(f"color: {UNSURE}; font-weight: bold")
        else:
            self.digit_label.setStyleSheet(f"color: {ACCENT}")
            self.confidence_label.setText(f"{p.confidence:.1%} sure")
            self.confidence_label.setStyleSheet("")
        self.chart.show_probabilities(p.probabilities, p.digit)
        self.preview.setPixmap(array_to_pixmap(p.pixels, PREVIEW_SCALE))
        self.latency_label.setText(f"drawing → prediction: {self.latencies_ms[-1]:.1f} ms")
