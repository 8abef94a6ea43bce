"""The Draw tab: draw a digit and watch the network read it as you draw."""

import html
import logging
import time
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QGuiApplication, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget,
)

from engine.datasets import DIGITS, items_noun
from engine.explain import PATCH, Explanation, overlay_rgba
from engine.predict import Prediction, as_number
from gui.settings import DEFAULTS, remember, remembered
from gui.active_model import ActiveModel
from gui.canvas import DrawingCanvas
from gui.export import add_picture_menu
from gui.style import ACCENT, BAD, MUTED, UNSURE, bar_brushes, names_are_words, section_label, set_class_ticks

log = logging.getLogger(__name__)
PREDICT_EVERY_MS = 30  # while a stroke grows, predict at most this often
HINT = "Draw a digit from 0 to 9 in the box"
PREVIEW_SCALE = 6
SMALLEST_PREVIEW_SCALE = 3
class WhyMethod(NamedTuple):
    """A way the map of why may be made (engine.explain.METHODS), as the Draw tab offers and explains it."""
    name: str
    tip: str  # what it computes
    against: str  # its legend against another class
    alone: str  # and for the answer alone (its own bar clicked)


WHY_METHODS = {
    "gradients": WhyMethod(
        "Gradients", "Integrated gradients: how much each input pixel adds to the answer's score rather than the "
                     "runner-up's (or a class whose bar you click), from a blank input to your drawing",
        "Red: strokes that make it a {digit}. Blue: strokes that pull it toward {other}.",
        "Red: strokes that add to the {digit}'s score. Blue: strokes that take from it."),
    "occlusion": WhyMethod(
        "Covering parts", f"Covering parts (occlusion): how far the answer's lead over the runner-up (or a class whose "
                          f"bar you click) falls when a {PATCH}×{PATCH} patch over each pixel is erased, 100 covered "
                          "copies of your drawing read at once",
        "Red: strokes whose covering lowers the {digit}'s lead over {other}. Blue: covering them raises it.",
        "Red: strokes whose covering lowers the {digit}'s score. Blue: covering them raises it."),
}


def array_to_pixmap(pixels: np.ndarray, scale: int, overlay: np.ndarray | None = None) -> QPixmap:
    """A float [0, 1] grayscale array → a crisp (nearest-neighbour) enlarged pixmap, with an H×W×4
    picture laid over it if given (the ink then dimmed so the colours read)."""
    data = np.ascontiguousarray((np.clip(pixels, 0, 1) * (140 if overlay is not None else 255)).astype(np.uint8))
    image = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_Grayscale8).copy()
    if overlay is not None:
        rgba = np.ascontiguousarray(overlay, dtype=np.uint8)
        image = image.convertToFormat(QImage.Format.Format_RGB32)
        painter = QPainter(image)
        painter.drawImage(0, 0, QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.strides[0], QImage.Format.Format_RGBA8888))
        painter.end()
    ratio = QGuiApplication.instance().devicePixelRatio()  # the sharpest screen's: crisp cells on HiDPI too
    pixmap = QPixmap.fromImage(image.scaled(round(data.shape[1] * scale * ratio), round(data.shape[0] * scale * ratio),
                                            Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.FastTransformation))
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


class PixelPicture(QLabel):
    """The 28×28 network input (or a map over it) with crisp pixels in a thin box: each pixel 6 screen
    pixels wide when there is room, down to 3 when the window is short (a 1366×768 laptop)."""

    def __init__(self, name: str, tooltip: str):
        super().__init__()
        self.setObjectName(name)
        self.setToolTip(tooltip)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setContentsMargins(1, 1, 1, 1)  # room for the box
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)
        self._pixels, self._overlay = np.zeros((28, 28)), None
        self._scale = PREVIEW_SCALE
        self.show_pixels(self._pixels)

    def sizeHint(self) -> QSize:
        return QSize(28 * PREVIEW_SCALE + 2, 28 * PREVIEW_SCALE + 2)

    def minimumSizeHint(self) -> QSize:
        return QSize(28 * SMALLEST_PREVIEW_SCALE + 2, 28 * SMALLEST_PREVIEW_SCALE + 2)

    def show_pixels(self, pixels: np.ndarray, overlay: np.ndarray | None = None) -> None:
        self._pixels, self._overlay = pixels, overlay
        self.setPixmap(array_to_pixmap(pixels, self._scale, overlay))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        scale = min(PREVIEW_SCALE, max(SMALLEST_PREVIEW_SCALE, (min(self.width(), self.height()) - 2) // 28))
        if scale != self._scale:
            self._scale = scale
            self.show_pixels(self._pixels, self._overlay)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawRect(0, 0, 28 * self._scale + 1, 28 * self._scale + 1)
        painter.end()


class ProbabilityChart(pg.PlotWidget):
    classClicked = Signal(int)  # a class's bar (or the column above it) clicked

    def __init__(self, parent=None):
        super().__init__(parent, background=None)
        self._classes = 10
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setYRange(0, 1.08, padding=0)
        self.setXRange(-0.6, 9.6, padding=0)
        self.set_class_names(DIGITS)
        self.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.5, 1)]])
        self.showGrid(y=True, alpha=0.15)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.72, brushes=bar_brushes(None))
        self.addItem(self.bars)
        self.setMinimumHeight(70)  # with the rest of the panel, the Draw tab fits a 1366×768 screen unscrolled
        self.setToolTip("Click a class's bar to ask why the answer is not that class (the answer's own bar: why it is "
                        "the answer at all)")
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_class_names(self, class_names) -> None:
        self._classes = len(class_names)
        set_class_ticks(self.getAxis("bottom"), class_names)

    def _clicked(self, event) -> None:
        x = self.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
        if -0.5 < x < self._classes - 0.5:
            self.classClicked.emit(int(round(x)))

    def show_probabilities(self, probabilities: np.ndarray, highlight: int | None) -> None:
        self.bars.setOpts(height=probabilities, brushes=bar_brushes(highlight))


class DrawTab(QWidget):
    """Emits ``predicted(Prediction)`` after every prediction (``None`` when the canvas is empty), and
    ``explained(Explanation)`` when the map of why is ready (when a stroke ends)."""

    predicted = Signal(object)
    explained = Signal(object)
    likes_requested = Signal()  # "the digits most like it": the drawing on the Evaluate tab's map
    turned_requested = Signal()  # "turned and moved": what the network reads as the drawing is changed

    def __init__(self, active: ActiveModel, parent=None):
        super().__init__(parent)
        self.active = active
        self.digits_read: list[Prediction] = []  # every digit on the canvas, left to right ("42": two)
        self.explanation: Explanation | None = None
        self.explain_ms: list[float] = []
        self.asked: int | None = None  # the class a click on its bar asked "why not" of, until the canvas is cleared
        # The map is computed on this thread just after the stroke-end prediction is shown: ~10 ms on
        # 2 cores fits one frame, and a worker thread would bring its own OpenMP team to compete for
        # the cores with the next stroke's predictions (p95 5-8 ms instead of 3-4; bench/gui_latency.py).
        self._explain_timer = QTimer(self, singleShot=True, interval=0, timeout=self._explain)
        self.latencies_ms: list[float] = []  # drawing → probabilities, for the status line and benchmarks
        self.canvas = DrawingCanvas()
        # Digit keys label the drawing while focus is in this tab (see PersonalPanel).
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.canvas.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._timer = QTimer(self, singleShot=True, interval=PREDICT_EVERY_MS, timeout=self.predict_now)

        self.canvas.drawingChanged.connect(self._schedule)
        self.canvas.strokeFinished.connect(self.predict_now)
        self.canvas.cleared.connect(self.predict_now)
        active.changed.connect(self._model_changed)

        self.pen_slider = QSlider(Qt.Orientation.Horizontal, minimum=2, maximum=40, value=DEFAULTS.pen_width)
        self.pen_slider.setToolTip("Pen width, in pixels of a 280-pixel canvas ([ thinner, ] thicker)")
        self.pen_slider.valueChanged.connect(lambda v: self.canvas.set_pen_width(v / 280))
        self.canvas.set_pen_width(self.pen_slider.value() / 280)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Take back the last stroke, clear or opened image; a drawing just kept as a "
                                    "personal sample comes back, and the sample goes (Ctrl+Z)")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip("Bring back what Undo took; a sample it took back is kept again "
                                    "(Ctrl+Shift+Z or Ctrl+Y)")
        self.redo_button.clicked.connect(self.canvas.redo)
        self._undo_controls, self._redo_controls = [self.undo_button], [self.redo_button]
        for signal in (self.canvas.strokeFinished, self.canvas.cleared):
            signal.connect(self._update_history_controls)
        self._update_history_controls()
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Clear the canvas (Esc or Delete)")
        self.clear_button.clicked.connect(self.canvas.clear)

        tools = QHBoxLayout()
        tools.addWidget(QLabel("Pen"))
        tools.addWidget(self.pen_slider, 1)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.redo_button)
        tools.addWidget(self.clear_button)
        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(tools)

        self.digit_label = QLabel("")
        self.digit_label.setObjectName("predictedDigit")
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont()
        font.setPointSize(64)
        font.setBold(True)
        self.digit_label.setFont(font)
        self.digit_label.setMinimumHeight(96)  # the answer's 64 pt, whatever the window's height
        self.digit_label.setWordWrap(True)
        self.confidence_label = QLabel(HINT)
        self.confidence_label.setObjectName("confidenceLabel")
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setWordWrap(True)
        self.chart = ProbabilityChart()
        self.chart.classClicked.connect(self.ask_why_not)
        self.preview = PixelPicture("networkInput", "Exactly what the network sees: your drawing cropped, "
                                     "scaled to 20 px, centred by mass in 28×28, white on black like MNIST")
        self.latency_label = QLabel("")
        self.latency_label.setStyleSheet(f"color: {MUTED}")
        self.why_title = section_label("Why")
        self.why = PixelPicture("whyMap", WHY_METHODS["gradients"].tip)
        self.why_legend = QLabel("")
        self.why_legend.setWordWrap(True)
        self.why_legend.setTextFormat(Qt.TextFormat.RichText)
        self.why_legend.linkActivated.connect(
            lambda link: (self.likes_requested if link == "likes" else self.turned_requested).emit())
        self.why_legend.setStyleSheet(f"color: {MUTED}")
        self.why_legend.setMinimumHeight(2 * self.why_legend.fontMetrics().lineSpacing())  # its two lines, in any window
        for widget, name in ((self.canvas, "drawing"), (self.preview, "network-input"), (self.why, "why"),
                             (self.chart, "probabilities")):
            add_picture_menu(widget, name)
        self.why_method = QComboBox()
        self.why_method.setObjectName("whyMethod")
        for key, method in WHY_METHODS.items():
            self.why_method.addItem(method.name, key)
            self.why_method.setItemData(self.why_method.count() - 1, method.tip, Qt.ItemDataRole.ToolTipRole)
        self.why_method.setToolTip("How the map of why is made")
        self.why_method.currentIndexChanged.connect(lambda _index: self._method_changed())
        self.why_on_canvas = QCheckBox("Show on the canvas", checked=True)
        self.why_on_canvas.setToolTip("Lay the map over your drawing when a stroke ends")
        self.why_on_canvas.toggled.connect(self._show_overlay)

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
        preview_row.addWidget(self.why_title, 0, 1)
        preview_row.addWidget(self.why, 1, 1)
        why_controls = QVBoxLayout()
        why_controls.addWidget(self.why_method)
        why_controls.addWidget(self.why_on_canvas)
        preview_row.addLayout(why_controls, 2, 1)
        preview_row.addWidget(self.why_legend, 3, 0, 1, 2)
        right.addLayout(preview_row)
        self.extra = QVBoxLayout()  # room for the personal-samples controls
        right.addLayout(self.extra)

        panel = QWidget()
        panel.setLayout(right)
        panel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(panel, 2)
        self._model_changed(active.predictor)  # the model the app opened with, which may not read digits

    def change_pen_width(self, step: int) -> None:
        self.pen_slider.setValue(self.pen_slider.value() + step)  # the slider keeps it within its range

    def follow_history(self, undo, redo) -> None:
        """Keep these undo and redo controls too (menu actions) enabled only when they can act."""
        self._undo_controls.append(undo)
        self._redo_controls.append(redo)
        self._update_history_controls()

    def _update_history_controls(self) -> None:
        for control in self._undo_controls:
            control.setEnabled(self.canvas.can_undo())
        for control in self._redo_controls:
            control.setEnabled(self.canvas.can_redo())

    def restore_state(self, store: QSettings) -> None:
        self.pen_slider.setValue(remembered(store, "pen_width"))
        self.why_on_canvas.setChecked(remembered(store, "why_on_canvas"))
        self.why_method.setCurrentIndex(max(0, self.why_method.findData(remembered(store, "why_method"))))

    def save_state(self, store: QSettings) -> None:
        remember(store, "pen_width", self.pen_slider.value())
        remember(store, "why_on_canvas", self.why_on_canvas.isChecked())
        remember(store, "why_method", self.why_method.currentData())

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def predict_now(self) -> None:
        """Read the canvas and update the prediction panel (skipped for an empty canvas)."""
        self._timer.stop()
        if self.canvas.is_empty():
            self.digits_read = []
            self.asked = None  # a new drawing is asked of its runner-up again
            self._show_empty()
            self.predicted.emit(None)
            return
        start = time.perf_counter()
        self.digits_read = self.active.predictor.read(self.canvas.picture())
        self.latencies_ms.append((time.perf_counter() - start) * 1000)
        prediction = self.last_prediction
        if prediction.digit is None:
            self._show_empty(prediction.error)
        else:
            self._show(prediction)
            if not self.canvas.is_drawing():
                self._explain_timer.start()
        self.predicted.emit(prediction)

    def _model_changed(self, predictor) -> None:
        """A model of other classes (Fashion-MNIST's) names its answers: the bars' axis and a smaller answer."""
        names = predictor.class_names
        self.chart.set_class_names(names)
        font = self.digit_label.font()
        font.setPointSize(28 if names_are_words(names) else 64)
        self.digit_label.setFont(font)
        self.predict_now()

    # --- why this digit ------------------------------------------------------------------------------
    def _explain(self) -> None:
        prediction = self.last_prediction
        if prediction is None or prediction.digit is None or self.canvas.is_drawing():
            return  # the drawing changed since the stroke ended
        start = time.perf_counter()
        try:
            explanation = self.active.predictor.explain(prediction, self._versus(prediction), self.why_method.currentData())
        except RuntimeError as exc:  # e.g. out of memory on the device: the prediction still stands
            log.exception("explaining the drawing failed")
            self.why_legend.setText(html.escape(f"Could not compute why: {exc}"))
            self.why_legend.setStyleSheet(f"color: {BAD}")
            return
        self.explain_ms.append((time.perf_counter() - start) * 1000)
        self.explanation = explanation
        names = prediction.class_names
        digit = names[explanation.digit]
        other = names[explanation.versus] if explanation.versus is not None else None
        self.why_title.setText(f"Why {digit}, not {other}" if other is not None else f"Why {digit}")
        method = WHY_METHODS[explanation.method]
        legend = (method.against if other is not None else method.alone).format(digit=digit, other=other)
        self.why_legend.setText(f'{html.escape(legend, quote=False)} <a href="likes">The test {items_noun(names)} most like it</a> · '
                                '<a href="turned">Turned and moved</a>')
        self.why_legend.setStyleSheet(f"color: {MUTED}")
        self._overlay_rgba = overlay_rgba(explanation.saliency)
        self.why.show_pixels(prediction.pixels, self._overlay_rgba)
        self._show_overlay()
        self.explained.emit(explanation)

    def _versus(self, prediction: Prediction) -> int | None:
        """The class the map contrasts the answer with: the one whose bar was clicked, or the runner-up; none when
        the answer's own bar was clicked."""
        if self.asked is None or self.asked >= len(prediction.probabilities):
            return prediction.runner_up
        return None if self.asked == prediction.digit else self.asked

    def ask_why_not(self, index: int) -> None:
        """Contrast the answer with this class from now on (its own bar: the answer alone), and make the map again."""
        self.asked = index
        if self.explanation is not None:
            self._explain()

    def _method_changed(self) -> None:
        """The map made the other way, for the drawing shown (its stroke has ended)."""
        self.why.setToolTip(WHY_METHODS[self.why_method.currentData()].tip)
        if self.explanation is not None:
            self._explain()

    def _show_overlay(self) -> None:
        """The current map on the canvas too, when asked for and still about the drawing shown."""
        current = self.explanation is not None and self.last_prediction is not None and not self.canvas.is_empty()
        if self.why_on_canvas.isChecked() and current and self.last_prediction.frame is not None:
            self.canvas.set_overlay(self._overlay_rgba, self.last_prediction.frame)
        else:
            self.canvas.set_overlay(None)

    def _show_empty(self, message: str = HINT) -> None:
        self.explanation = None
        self.why_title.setText("Why")
        self.why.show_pixels(np.zeros((28, 28)))
        self.why_legend.setText("")
        self.digit_label.setText("")
        self.confidence_label.setText(message)
        self.confidence_label.setStyleSheet(f"color: {MUTED}")
        self.chart.show_probabilities(np.zeros(10), None)
        self.preview.show_pixels(np.zeros((28, 28)))
        self.latency_label.setText("")

    @property
    def last_prediction(self) -> Prediction | None:
        """The digit the panels show: the one on the canvas, or of a number the one the network is least
        sure of (the one worth a look); None when nothing is drawn."""
        readable = [p for p in self.digits_read if p.digit is not None]
        if readable:
            return min(readable, key=lambda p: p.confidence)
        return self.digits_read[0] if self.digits_read else None

    def is_number(self) -> bool:
        """Whether the canvas holds several digits side by side, each read on its own."""
        return len(self.digits_read) > 1

    def shown_digit(self) -> str:
        """Which digit of a number the panels show, in words ("" for a single digit or none)."""
        if not self.is_number():
            return ""
        place = next(i for i, d in enumerate(self.digits_read, 1) if d is self.last_prediction)
        return f"digit {place} of {len(self.digits_read)}, the least sure"

    def _show(self, p: Prediction) -> None:
        self.digit_label.setText(as_number(self.digits_read))
        if self.is_number():
            self.digit_label.setStyleSheet(f"color: {UNSURE if p.unsure else ACCENT}")
            self.confidence_label.setText("Read digit by digit: " + ", ".join(
                f"{d.name} ({d.confidence:.0%})" if d.digit is not None else "?" for d in self.digits_read)
                + f". Below: {self.shown_digit()}")
            self.confidence_label.setStyleSheet(f"color: {UNSURE}; font-weight: bold" if p.unsure else "")
        elif p.unsure:
            second = p.runner_up
            self.digit_label.setStyleSheet(f"color: {UNSURE}")
            self.confidence_label.setText(f"Not sure: {p.name} ({p.confidence:.0%}) or {p.class_names[second]} "
                                          f"({p.probabilities[second]:.0%})?")
            self.confidence_label.setStyleSheet(f"color: {UNSURE}; font-weight: bold")
        else:
            self.digit_label.setStyleSheet(f"color: {ACCENT}")
            self.confidence_label.setText(f"{p.confidence:.1%} sure")
            self.confidence_label.setStyleSheet("")
        self.chart.show_probabilities(p.probabilities, p.digit)
        self.preview.show_pixels(p.pixels)
        self.latency_label.setText(f"drawing → prediction: {self.latencies_ms[-1]:.1f} ms")
