"""Find a learning rate: the range test (engine/lr_finder.py) run on the Train tab's options, its loss
drawn live against the learning rate on a log axis, and the rate it suggests, to use with one click."""

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout

from engine.config import TrainConfig
from engine.events import Downloading, Failed, LrFound, RangeStep
from engine.lr_finder import STEPS, RangeTest
from gui.export import add_picture_menu
from gui.style import BAD, GOOD, MUTED, TRAIN_COLOUR, VAL_COLOUR
from gui.workers import StopsAndWaits, TrainingWorker, start_in_thread

EXPLAINED = ("The network these options build is trained for a moment on their own batches while the learning "
             "rate grows from 10⁻⁶ to 10, tenfold every few steps, and the loss is watched: it barely moves while the rate "
             "is too small, falls fastest where the rate is useful, and runs away once it is too large. A third of "
             "the rate where the loss was lowest is a good peak rate for one-cycle (L. Smith's range test, as "
             "fastai's lr_find). Nothing is saved; the network starts afresh when you train.")


def rate(value: float) -> str:
    return f"{value:.2g}"


class LrFinderDialog(QDialog, StopsAndWaits):
    """Emits ``chosen(rate)`` when the user takes the suggested rate."""

    chosen = Signal(float)

    def __init__(self, config: TrainConfig, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Find a learning rate")
        self.setObjectName("lrFinder")
        self.config = config
        self.result: LrFound | None = None
        self._thread = None
        self._tester: RangeTest | None = None
        self._rates, self._losses = [], []  # the test's steps so far, drawn as they come
        self.steps = STEPS  # four times as many after a test whose loss did not fall (a sigmoid LeNet-5 needs ~500)
        intro = QLabel(EXPLAINED)
        intro.setWordWrap(True)
        intro.setStyleSheet(f"color: {MUTED}")
        self.plot = pg.PlotWidget(background=None)
        self.plot.setLogMode(x=True)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "training loss (smoothed)")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMenuEnabled(False)
        add_picture_menu(self.plot, "learning-rate-range-test")
        self.curve = self.plot.plot([], [], pen=pg.mkPen(TRAIN_COLOUR, width=2))
        self.now_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(MUTED, style=Qt.PenStyle.DashLine),
                                        label=f"now {rate(config.lr)}", labelOpts={"position": 0.95, "color": MUTED})
        self.suggested_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(VAL_COLOUR, width=2), label="suggested",
                                              labelOpts={"position": 0.85, "color": VAL_COLOUR})
        self.lowest_dot = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(VAL_COLOUR), pen=None)
        for item in (self.now_line, self.suggested_line, self.lowest_dot):
            self.plot.addItem(item)
        self.now_line.setValue(math.log10(config.lr))
        self.suggested_line.hide()
        self.status = QLabel("")
        self.status.setObjectName("lrFinderStatus")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.use_button = buttons.addButton("Use the suggested rate", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setObjectName("useRate")
        self.again_button = QPushButton("Run again")
        buttons.addButton(self.again_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.use_button.clicked.connect(self._use)
        self.again_button.clicked.connect(self.start)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(720, 520)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self.running:
            return
        self.result = None
        self.curve.setData([], [])
        self.suggested_line.hide()
        self.lowest_dot.setData([], [])
        self.use_button.setEnabled(False)
        self.again_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText("starting…")
        self._rates, self._losses = [], []
        self._tester = RangeTest(self.config, steps=self.steps)
        worker = TrainingWorker(self._tester)
        worker.event.connect(self._on_event)
        worker.done.connect(self._on_done)
        self._thread = start_in_thread(worker, self, "learning-rate range test")

    def stop(self) -> None:
        if self._tester:
            self._tester.stop()

    def _on_done(self) -> None:
        self._thread = self._tester = None
        self.again_button.setEnabled(True)

    def _on_event(self, event) -> None:
        if isinstance(event, RangeStep):
            self._rates.append(event.lr)
            self._losses.append(event.loss)
            self.curve.setData(self._rates, self._losses)
            self.status.setText(f"step {event.step} of {event.steps} · learning rate {rate(event.lr)} · loss {event.loss:.3f}")
        elif isinstance(event, Downloading):
            self.status.setText(f"{event.what}… {event.done:,} of {event.total:,}" if event.total else f"{event.what}…")
        elif isinstance(event, LrFound):
            self._found(event)
        elif isinstance(event, Failed):
            self.status.setStyleSheet(f"color: {BAD}")
            self.status.setText(event.message)

    def _found(self, event: LrFound) -> None:
        self.result = event
        self.curve.setData(list(event.rates), list(event.losses))
        if event.stopped:
            self.status.setText("Stopped.")
            return
        if event.suggested is None:
            self.status.setStyleSheet(f"color: {BAD}")
            self.status.setText(f"The loss did not fall by a tenth at any of these rates in {len(event.rates)} steps, so "
                                "there is nothing to suggest: this network may not learn with these options, or not "
                                "this soon (a longer test may show it; or try batch norm, another initialisation or "
                                "optimiser).")
            self.steps *= 4
            self.again_button.setText(f"Run again, {self.steps} steps")
            return
        self.suggested_line.show()  # first: a hidden line's label does not follow its format
        self.suggested_line.setValue(math.log10(event.suggested))
        self.suggested_line.label.setFormat(f"suggested {rate(event.suggested)}")
        self.lowest_dot.setData([math.log10(event.lowest)], [event.losses[event.rates.index(event.lowest)]])
        ran = " and then ran away" if event.diverged else ""
        steepest = f" It fell fastest near {rate(event.steepest)}." if event.steepest else ""
        self.status.setStyleSheet(f"color: {GOOD}")
        self.status.setText(f"The loss was lowest at a learning rate of {rate(event.lowest)}{ran}.{steepest} Suggested: a "
                            f"third of {rate(event.lowest)}, {rate(event.suggested)}, as the peak rate "
                            f"(now {rate(self.config.lr)}, with {self.config.optimizer}).")
        self.use_button.setText(f"Use {rate(event.suggested)}")
        self.use_button.setEnabled(True)

    def _use(self) -> None:
        if self.result and self.result.suggested:
            self.chosen.emit(float(rate(self.result.suggested)))
        self.accept()

    def done(self, result: int) -> None:
        """Closed however (Close, Esc, the window's ×, Use): a test still running stops first."""
        self.stop_and_wait()
        super().done(result)
