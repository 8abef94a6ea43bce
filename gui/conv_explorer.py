"""How a kernel slides over a map: the input (its padding shaded), the output, the patch each output
reads, and the arithmetic of the output's size, for any kernel, padding, stride and dilation or for a
sliding layer of the active model."""

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from engine.conv_arithmetic import Sliding, SlidingLayer
from gui.style import ACCENT, MUTED

STEP_MS = 450  # how long the slide rests on each output
GAP_CELLS = 3  # between the input and the output, in cells
PADDING_SHADE = QColor(0, 0, 0, 28)
READ = QColor(ACCENT)
READ.setAlpha(150)
LIMITS = {"size": (1, 32), "kernel": (1, 9), "padding": (0, 4), "stride": (1, 5), "dilation": (1, 4)}


class SlidingPicture(QWidget):
    """The input grid (padding shaded) and the output grid; the output under the mouse, or the one the
    slide has reached, is filled, and the input pixels it reads with it."""

    hovered = Signal(object)  # the output (row, col) under the mouse, or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(QSize(420, 240))
        self.sliding = Sliding(5, 3)
        self.at: tuple[int, int] | None = (0, 0)

    def show_sliding(self, sliding: Sliding, at: tuple[int, int] | None) -> None:
        self.sliding, self.at = sliding, at
        self.update()

    def _layout(self) -> tuple[float, QPointF, QPointF]:
        """The side of a cell, and the top-left corners of the (padded) input and of the output."""
        s = self.sliding
        padded, out = s.size + 2 * s.padding, max(1, s.out)
        cell = min((self.width() - 8) / (padded + GAP_CELLS + out), (self.height() - 8) / max(padded, out))
        top = 4 + (self.height() - 8 - cell * padded) / 2
        input_at = QPointF(4, top)
        output_at = QPointF(4 + cell * (padded + GAP_CELLS), 4 + (self.height() - 8 - cell * out) / 2)
        return cell, input_at, output_at

    def output_at(self, pos: QPointF) -> tuple[int, int] | None:
        cell, _, origin = self._layout()
        col, row = int((pos.x() - origin.x()) // cell), int((pos.y() - origin.y()) // cell)
        inside = pos.x() >= origin.x() and pos.y() >= origin.y()
        return (row, col) if inside and row < self.sliding.out and col < self.sliding.out else None

    def mouseMoveEvent(self, event) -> None:
        self.hovered.emit(self.output_at(event.position()))

    def leaveEvent(self, event) -> None:
        self.hovered.emit(None)
        super().leaveEvent(event)

    def paintEvent(self, event) -> None:
        s = self.sliding
        cell, input_at, output_at = self._layout()
        padded = s.size + 2 * s.padding
        painter = QPainter(self)
        grid = QPen(self.palette().color(self.foregroundRole()))
        grid.setWidthF(0.6)
        painter.setPen(grid)
        base = self.palette().color(self.backgroundRole()).lighter(115)
        for row in range(padded):
            for col in range(padded):
                rect = QRectF(input_at.x() + col * cell, input_at.y() + row * cell, cell, cell)
                real = s.padding <= row < s.padding + s.size and s.padding <= col < s.padding + s.size
                painter.fillRect(rect, base if real else PADDING_SHADE)
                painter.drawRect(rect)
        for row in range(s.out):
            for col in range(s.out):
                rect = QRectF(output_at.x() + col * cell, output_at.y() + row * cell, cell, cell)
                painter.fillRect(rect, READ if (row, col) == self.at else base)
                painter.drawRect(rect)
        if self.at is not None and s.out:
            rows, cols = s.taps(self.at[0]), s.taps(self.at[1])
            for r in rows:
                for c in cols:
                    painter.fillRect(QRectF(input_at.x() + (c + s.padding) * cell, input_at.y() + (r + s.padding) * cell,
                                            cell, cell), READ)
        painter.end()


class ConvExplorer(QDialog):
    """Kernel, padding, stride and dilation set by hand or from a layer of the active model; the
    kernel slides over the input, output by output, or stops where the mouse points."""

    def __init__(self, layers: list[SlidingLayer], model_name: str = "", chosen: str = "", parent=None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # and its slide's timer with it
        self.setWindowTitle("How a kernel slides: size, padding, stride")
        self.resize(760, 560)
        self.layers = layers
        self.preset = QComboBox()
        self.preset.setObjectName("slidingPreset")
        self.preset.addItem("Set by hand", None)
        for layer in layers:
            s = layer.sliding
            self.preset.addItem(f"{model_name} {layer.name}: {s.kernel}×{s.kernel} {layer.kind}, padding {s.padding}, "
                                f"stride {s.stride}, on {s.size}×{s.size} maps", layer.name)
        self.spins: dict[str, QSpinBox] = {}
        form = QFormLayout()
        form.addRow("A layer of the active model:", self.preset)
        settings = QHBoxLayout()
        for name, (low, high) in LIMITS.items():
            spin = QSpinBox(minimum=low, maximum=high)
            spin.setObjectName(f"sliding_{name}")
            spin.valueChanged.connect(self._edited)
            settings.addWidget(QLabel("Input" if name == "size" else name.capitalize()))
            settings.addWidget(spin)
            self.spins[name] = spin
        settings.addStretch(1)
        form.addRow("Or set:", settings)
        self.picture = SlidingPicture()
        self.picture.hovered.connect(self._hovered)
        self.slide_button = QPushButton("❚❚ Pause")
        self.slide_button.clicked.connect(self.toggle_slide)
        self.formula = QLabel()
        self.formula.setObjectName("slidingFormula")
        self.formula.setStyleSheet("font-size: 15px")
        self.formula.setWordWrap(True)  # a long one wraps rather than widening the dialog
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {MUTED}")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        below = QHBoxLayout()
        below.addWidget(self.formula, 1)
        below.addWidget(self.slide_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.picture, 1)
        layout.addLayout(below)
        layout.addWidget(self.note)
        layout.addWidget(close)
        self.timer = QTimer(self)
        self.timer.setInterval(STEP_MS)
        self.timer.timeout.connect(self.step)
        self._step = 0
        self.sliding_on = True  # the slide goes on by itself (Pause stops it; the mouse over an output holds it)
        self._setting = False  # a preset filling the spin boxes is not an edit by hand
        self.preset.currentIndexChanged.connect(lambda _index: self._preset_chosen())
        self._fill(Sliding(5, 3, 1, 2))
        index = self.preset.findData(chosen) if chosen else -1
        self.preset.setCurrentIndex(max(0, index))
        self.timer.start()

    @property
    def sliding(self) -> Sliding:
        return Sliding(**{name: spin.value() for name, spin in self.spins.items()})

    def _fill(self, sliding: Sliding) -> None:
        self._setting = True
        for name, spin in self.spins.items():
            spin.setValue(getattr(sliding, name))
        self._setting = False
        self._edited()

    def _preset_chosen(self) -> None:
        sliding = self._preset_sliding()
        if sliding is not None:
            self._fill(sliding)

    def _edited(self) -> None:
        if self._setting:
            return
        if self.preset.currentData() is not None and self.sliding != self._preset_sliding():
            self.preset.setCurrentIndex(0)  # edited by hand: no longer the layer's
        self._step = 0
        self._show(self._position())

    def _preset_sliding(self) -> Sliding | None:
        layer = next((layer for layer in self.layers if layer.name == self.preset.currentData()), None)
        return layer.sliding if layer else None

    def _position(self) -> tuple[int, int] | None:
        out = self.sliding.out
        return divmod(self._step % (out * out), out) if out else None

    def step(self) -> None:
        """The slide's next output, row by row."""
        self._step += 1
        self._show(self._position())

    def toggle_slide(self) -> None:
        self.sliding_on = not self.sliding_on
        self.slide_button.setText("❚❚ Pause" if self.sliding_on else "▶ Slide")
        if self.sliding_on:
            self.timer.start()
        else:
            self.timer.stop()

    def _hovered(self, at) -> None:
        """The mouse over an output holds the slide there; leaving it lets the slide go on."""
        if at is None:
            if self.sliding_on:
                self.timer.start()
            self._show(self._position())
        else:
            self.timer.stop()
            self._show(at)

    def _show(self, at) -> None:
        s = self.sliding
        self.picture.show_sliding(s, at)
        self.formula.setText(f"Output side = ⌊(input + 2×padding − reach) / stride⌋ + 1\n= {s.formula()}")
        if s.out == 0:
            self.note.setText(f"The kernel reaches {s.reach} pixels, more than the padded input's {s.size + 2 * s.padding}: "
                              "it does not fit once, and there is no output.")
            return
        where = f" The output at row {at[0] + 1}, column {at[1] + 1} reads the filled input pixels." if at else ""
        notes = [f"Each output reads a {s.kernel}×{s.kernel} patch"
                 + (f" spread over {s.reach}×{s.reach} pixels (dilation {s.dilation})" if s.dilation > 1 else "") + "."]
        if s.padding:
            notes.append(f"The shaded border is padding: {s.padding} pixel{'s' if s.padding > 1 else ''} of zeros"
                         + (" that keep the output as large as the input." if s.out == s.size else "."))
        if s.unread():
            notes.append(f"The stride leaves the last {s.unread()} row{'s' if s.unread() > 1 else ''} and column"
                         f"{'s' if s.unread() > 1 else ''} unread.")
        self.note.setText(" ".join(notes) + where)
