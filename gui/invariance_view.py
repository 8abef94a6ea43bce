"""Your drawing turned, moved, resized, slanted, made bolder, nudged to fool the network or fogged with as much
random noise, step by step, and what the network reads at each step: ten probability curves, and the changed
inputs above them with their answers. Each sweep is made in a worker (a nudged one takes 0.2 s), the latest asked for after the one under way."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.augment import AugmentSpec
from engine.invariance import CHANGES, Sweep, sweep
from engine.predict import Predictor
from engine.preprocess import PreparedImage
from gui.export import add_picture_menu
from gui.layers_tab import FIRST_SAMPLE, followed_sample
from gui.style import BAD, MUTED, RUN_COLOURS, ClampedLabel, legend_brush
from gui.workers import FunctionWorker, start_in_thread

PICTURES_FROM, PICTURES_TO = 1.1, 1.45  # where the changed inputs sit, above the probabilities (0 to 1)
PICTURES = 12  # at most, above the curves: every few steps, the unchanged input among them
SEEN = 0.1  # a class whose probability passes this somewhere is drawn bold and named
HIGH = 0.8  # a peak above this is named under the curve: above it sit the pictures' answers
_TRAINED = AugmentSpec()
NOTES = {  # what the curves show about a CNN, and what training showed it (the augmentation's ranges)
    "turn": f"Nothing in a CNN turns with the digit: it reads a turned digit only as far as training showed it "
            f"turned (up to ±{_TRAINED.rotate_deg:g}°) and the shape allows.",
    "move_x": "A convolution finds a stroke wherever it is, and pooling blurs where: a moved digit reads the same "
              "until it leaves the frame. (The app centres every drawing before reading it.)",
    "size": f"The app scales every drawing to fill 20 of the 28 pixels before reading it; training varied the size "
            f"by {_TRAINED.zoom[0]:g}–{_TRAINED.zoom[1]:g}×.",
    "slant": f"Training slanted its digits by up to ±{_TRAINED.shear:g}.",
    "stroke": "Training drew strokes up to most of a pixel thinner or bolder; the app thickens very thin strokes "
              "before reading them.",
    "fool": "Each pixel moved by at most this much, where it most lowers the answer's score (an adversarial "
            "example): a change a person barely sees is read, and surely, as another digit.",
    "noise": "Each pixel moved up or down at random by as much: unaimed, 5 % changes one answer in a hundred (the "
             "nudge: three in four), but a fog of 10 % a third; training never showed the network noise.",
}
NOTES["move_y"] = NOTES["move_x"]


def short(name: str) -> str:
    """A class's name under a picture a few dozen pixels wide: "7", or "Sneak…" for Fashion-MNIST's sneaker."""
    return name if len(name) <= 6 else name[:5] + "…"


class InvarianceView(QWidget):
    opened = Signal(object, str)  # a changed input double-clicked (a PreparedImage), and what it is

    def __init__(self, parent=None):
        super().__init__(parent)
        self.predictor: Predictor | None = None
        self._pixels: np.ndarray | None = None
        self._stale = True
        self.sweep: Sweep | None = None
        self._worker: FunctionWorker | None = None
        self._again = False  # asked for while a sweep was under way: made when it ends
        self.change = QComboBox()
        self.change.setObjectName("invarianceChange")
        for kind, change in CHANGES.items():
            self.change.addItem(change.name, kind)
        self.change.currentIndexChanged.connect(lambda _index: self._changed())
        self.source = QLabel()
        self.source.setStyleSheet(f"color: {MUTED}")
        self.plot = pg.PlotWidget(background=None)
        self.plot.setObjectName("invariancePlot")
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("left", "probability")
        self.plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0, 0.25, 0.5, 0.75, 1)]])
        self.plot.setYRange(0, PICTURES_TO, padding=0.01)
        self.plot.getViewBox().sigResized.connect(self._place_pictures)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        add_picture_menu(self.plot, "turned-and-moved")
        self.unchanged = pg.InfiniteLine(angle=90, pen=pg.mkPen(MUTED, style=Qt.PenStyle.DashLine))
        self.unchanged.setZValue(-1)  # behind the unchanged picture and its answer
        self.plot.addItem(self.unchanged)
        self.curves = [self.plot.plot([], []) for _ in range(len(RUN_COLOURS))]
        self.names = [pg.TextItem(anchor=(0.5, 1.0), fill=legend_brush()) for _ in self.curves]
        for name in self.names:
            self.plot.addItem(name)
        # Created once and given each sweep's pictures (pyqtgraph's way: setImage, not new items)
        self.pictures = [pg.ImageItem() for _ in range(PICTURES)]
        self.answers = [pg.TextItem(anchor=(0.5, 0)) for _ in range(PICTURES)]
        for item in (*self.pictures, *self.answers):
            item.setVisible(False)
            self.plot.addItem(item)
        self._shown: list[int] = []  # the steps the pictures show, in order
        self.summary = ClampedLabel(lines=3)
        self.summary.setObjectName("invarianceSummary")
        top = QHBoxLayout()
        top.addWidget(QLabel("Change the drawing:"))
        top.addWidget(self.change)
        top.addWidget(self.source, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)

    def choose(self, kind: str) -> None:
        """Sweep this change (a key of engine.invariance.CHANGES; an unknown one leaves the choice as it is)."""
        index = self.change.findData(kind)
        if index >= 0:
            self.change.setCurrentIndex(index)

    def set_predictor(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self._changed()

    def set_input(self, pixels: np.ndarray | None) -> None:
        """The Draw tab's input (None: nothing drawn, and a sample drawing is followed)."""
        self._pixels = pixels
        self._changed()

    def _changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    @property
    def sweeping(self) -> bool:
        return self._worker is not None

    def refresh(self) -> None:
        """Sweep the chosen change over the followed input, in a worker, and draw it when it comes."""
        if self.predictor is None:
            return
        self._stale = False
        if self._worker is not None:
            self._again = True
            return
        kind = self.change.currentData()
        pixels, caption = (self._pixels, "") if self._pixels is not None else followed_sample(FIRST_SAMPLE)
        predictor = self.predictor
        self._worker = worker = FunctionWorker(sweep, predictor, pixels, kind)
        worker.succeeded.connect(lambda made: self._show(made, caption, predictor))
        worker.failed.connect(self._failed)
        worker.done.connect(self._swept)
        start_in_thread(worker, self, "sweep")

    def _swept(self) -> None:
        self._worker = None
        if self._again:  # the input, the change or the model changed meanwhile
            self._again = False
            self._changed()

    def _failed(self, error: Exception) -> None:
        self.summary.setText(f"<span style='color:{BAD}'>The sweep failed: {error}</span>")

    def _show(self, made: Sweep, caption: str, predictor: Predictor) -> None:
        if self._again or predictor is not self.predictor:
            return  # already out of date: the next sweep follows
        self.source.setText(caption)
        self.sweep = made
        names = predictor.class_names
        x = made.values
        self.plot.setLabel("bottom", made.change.axis)
        self.plot.setXRange(x[0], x[-1], padding=0.06)  # room for the end pictures' halves
        self.unchanged.setValue(made.change.unchanged)
        for k, (curve, name, p) in enumerate(zip(self.curves, self.names, made.probabilities.T)):
            seen = bool(p.max() >= SEEN)
            colour = pg.mkColor(RUN_COLOURS[k])
            if not seen:
                colour.setAlpha(70)
            curve.setData(x, p, pen=pg.mkPen(colour, width=2.5 if seen else 1))
            name.setVisible(seen)
            if seen:
                peak = int(p.argmax())
                name.setText(names[k], color=RUN_COLOURS[k])
                name.setAnchor((0.5, 0.0) if p[peak] > HIGH else (0.5, 1.0))  # under a high peak, clear of the answers
                name.setPos(x[peak], p[peak])
        self._show_pictures(made)
        self.summary.setText(self._summary(made))

    def _show_pictures(self, made: Sweep) -> None:
        """The changed inputs at evenly spaced steps (the unchanged one among them), each with its answer."""
        every = int(np.ceil(len(made.values) / (PICTURES - 1)))
        self._shown = [i for i in range(len(made.values)) if (i - made.unchanged_index) % every == 0]
        names, answers = self.predictor.class_names, made.answers
        for n, (picture, answer) in enumerate(zip(self.pictures, self.answers)):
            shown = n < len(self._shown)
            picture.setVisible(shown)
            answer.setVisible(shown)
            if shown:
                i = self._shown[n]
                picture.setImage(made.images[i][::-1], levels=(0, 1))  # row 0 at the top, on a y axis that rises
                answer.setText(short(names[answers[i]]), color=RUN_COLOURS[answers[i] % len(RUN_COLOURS)])
        self._place_pictures()

    def _place_pictures(self) -> None:
        """Square pictures whatever the chart's shape: their width in steps follows the pixels a unit of
        probability takes on screen."""
        if self.sweep is None:
            return
        x_per_pixel, y_per_pixel = self.plot.getViewBox().viewPixelSize()
        if not x_per_pixel or not y_per_pixel:
            return
        values, shown = self.sweep.values, self._shown
        spacing = values[shown[1]] - values[shown[0]] if len(shown) > 1 else values[-1] - values[0]
        width = min((PICTURES_TO - PICTURES_FROM) / y_per_pixel * x_per_pixel, 0.92 * spacing)
        side = width / x_per_pixel * y_per_pixel  # the height that keeps a narrower picture square
        for i, picture, answer in zip(shown, self.pictures, self.answers):
            picture.setRect(QRectF(values[i] - width / 2, PICTURES_TO - side, width, side))
            answer.setPos(values[i], PICTURES_TO - side)

    def picture_at(self, scene_pos) -> int | None:
        """The step whose picture is at this point of the chart, if any."""
        point = self.plot.getViewBox().mapSceneToView(scene_pos)
        for i, picture in zip(self._shown, self.pictures):  # only those shown
            if picture.mapRectToView(picture.boundingRect()).contains(point):
                return i
        return None

    def _clicked(self, event) -> None:
        step = self.picture_at(event.scenePos()) if event.double() and self.sweep is not None else None
        if step is not None:
            made = self.sweep
            self.opened.emit(PreparedImage(made.images[step]),
                             f"the drawing {made.change.name.lower()} {made.amount(made.values[step])}")

    def _summary(self, made: Sweep) -> str:
        return (f"{made.describe(self.predictor.class_names)} {NOTES[self.change.currentData()]} "
                "Double-click a picture to read it on the Draw tab.")
