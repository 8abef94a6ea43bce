"""The Evaluate tab's views of a scored test set: the confusion matrix, how sure against how often right,
accuracy per writer, and galleries of test images."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem

from engine.calibrate import reliability
from engine.datasets import DIGITS, PEN, REGISTRY, are_digits, class_noun
from engine.evaluate import CONFIDENCE_BINS, EvalResult
from gui.draw_tab import array_to_pixmap
from gui.style import ACCENT, BAD, MUTED

GALLERY_LIMIT = 300  # thumbnails shown at once; the caption says how many there are
SET_NAMES = {name: spec.short_title for name, spec in REGISTRY.items()} | {PEN: "held-out pen"}  # as a sentence names them


def confusion_colours(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGBA cells: correct counts in light blue; mistakes from white to red on a log scale, so a
    single error is visible and the biggest confusions stand out. Also which cells are dark."""
    errors = confusion.astype(np.float64)
    np.fill_diagonal(errors, 0)
    strength = np.log1p(errors) / np.log1p(max(errors.max(), 1))
    white, red = np.array([255, 255, 255]), np.array([200, 30, 30])
    rgb = white + strength[..., None] * (red - white)
    rgb[np.eye(len(confusion), dtype=bool)] = (147, 197, 253)
    rgba = np.concatenate([rgb, np.full((*confusion.shape, 1), 255)], axis=-1).astype(np.uint8)
    return rgba, strength > 0.6


class ConfusionMatrix(pg.PlotWidget):
    """A heat map of counts (log-scaled colours) with the numbers written in; a click picks a cell."""

    cellClicked = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent, background=None)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getPlotItem().invertY(True)
        # Cells fill the plot, as a heat map's do, rather than square ones centred with room to spare: the
        # names of the rows and columns stay beside them and four-digit counts fit.
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self._texts: list[pg.TextItem] = []
        self.selected = pg.QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.selected.setPen(pg.mkPen(ACCENT, width=3))
        self.selected.hide()
        self.addItem(self.selected)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.n = 0
        self._cell_font = QFont(self.font())
        self._cell_font.setPointSize(8)
        self._set_classes(DIGITS)  # an empty grid of the digits until the first result

    def _set_classes(self, class_names: tuple[str, ...]) -> None:
        """The axes of a matrix of these classes: names, ticks and range."""
        n, noun, digits = len(class_names), class_noun(class_names), are_digits(class_names)
        self.setLabel("left", f"true {noun}")
        # Names too long for a column (Fashion-MNIST's) are on the left beside their number; below, the numbers.
        self.getAxis("left").setTicks([[(i + 0.5, name if digits else f"{name}  {i}") for i, name in enumerate(class_names)]])
        self.getAxis("bottom").setTicks([[(i + 0.5, str(i)) for i in range(n)]])
        self.setLabel("bottom", f"predicted {noun}" if digits else f"predicted {noun} (numbered as on the left)")
        self.setXRange(0, n, padding=0)
        self.setYRange(0, n, padding=0)

    def set_matrix(self, confusion: np.ndarray, class_names: tuple[str, ...] = DIGITS) -> None:
        self.n = n = len(confusion)
        colours, dark = confusion_colours(confusion)
        self.image.setImage(colours, levels=None)
        for text in self._texts:
            self.removeItem(text)
        self._texts = []
        for t in range(n):
            for p in range(n):
                count = int(confusion[t, p])
                if count == 0:
                    continue
                item = pg.TextItem(str(count), color="#ffffff" if dark[t, p] else "#111827", anchor=(0.5, 0.5))
                item.setFont(self._cell_font)
                item.setPos(p + 0.5, t + 0.5)
                self.addItem(item)
                self._texts.append(item)
        self._set_classes(class_names)

    def select(self, true: int, predicted: int) -> None:
        self.selected.setRect(predicted, true, 1, 1)
        self.selected.show()

    def clear_selection(self) -> None:
        self.selected.hide()

    def _clicked(self, event) -> None:
        pos = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        col, row = int(np.floor(pos.x())), int(np.floor(pos.y()))
        if 0 <= row < self.n and 0 <= col < self.n:
            self.select(row, col)
            self.cellClicked.emit(row, col)


class ConfidencePlot(pg.PlotWidget):
    """A reliability diagram: the test answers grouped by how sure the model was, and how often each
    group was right. Honest probabilities sit on the diagonal (90 % sure, right 90 % of the time).
    A click on a bar gives that group's mean confidence."""

    barClicked = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent, background=None, title="How sure vs how often right")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.addItem(pg.PlotDataItem([0, 1], [0, 1], pen=pg.mkPen(MUTED, style=Qt.PenStyle.DashLine)))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8 / CONFIDENCE_BINS, brush=ACCENT)
        self.addItem(self.bars)
        self.counts = [pg.TextItem("", color=MUTED, anchor=(0.5, 1.0)) for _ in range(CONFIDENCE_BINS)]
        for label in self.counts:  # how many answers each bar holds: a bar of two is not a bar of thousands
            self.addItem(label)
        self.setLabel("bottom", "how sure: the top probability")
        self.setLabel("left", "how often right")
        self.setXRange(-0.02, 1.06, padding=0)  # room for the count over the last bar
        self.setYRange(0.0, 1.08, padding=0.02)  # room for the counts over full bars
        self.table: list[tuple[float, float, int]] = []
        self.scene().sigMouseMoved.connect(self._hovered)
        self.scene().sigMouseClicked.connect(self._clicked)

    def show_result(self, result: EvalResult) -> None:
        self.table = reliability(result.probabilities, result.labels, CONFIDENCE_BINS)
        self.bars.setOpts(x=[c for c, _, _ in self.table], height=[a for _, a, _ in self.table])
        for label, row in zip(self.counts, self.table + [None] * CONFIDENCE_BINS):
            label.setVisible(row is not None)
            if row is not None:
                label.setText(f"{row[2]:,}")
                label.setPos(row[0], row[1])
        self.setTitle(f"How sure vs how often right: ECE {result.calibration_error():.2%}")

    def _bar_at(self, scene_pos) -> tuple[float, float, int] | None:
        x = self.getPlotItem().vb.mapSceneToView(scene_pos).x()
        near = [row for row in self.table if abs(row[0] - x) < 0.5 / CONFIDENCE_BINS]
        return near[0] if near else None

    def _hovered(self, scene_pos) -> None:
        bar = self._bar_at(scene_pos)
        self.setToolTip("" if bar is None else f"{bar[2]:,} answers, {bar[0]:.1%} sure on average: {bar[1]:.1%} of "
                                               "them right (click to see them)")

    def _clicked(self, event) -> None:
        bar = self._bar_at(event.scenePos())
        if bar is not None:
            self.barClicked.emit(bar[0])


class WriterAccuracy(pg.PlotWidget):
    """One bar per writer of the test set: how far apart the people it has never met are read.
    A click on a bar picks that writer."""

    writerClicked = Signal(int)  # the writer's id
    MAX_LABELLED = 24  # more writers than this: every few bars get a label, so the labels do not overlap

    def __init__(self, parent=None):
        super().__init__(parent, background=None, title="Per-writer accuracy (click a bar)")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=ACCENT)
        self.addItem(self.bars)
        self.selected = pg.BarGraphItem(x=[], height=[], width=0.7, brush=None, pen=pg.mkPen(BAD, width=2))
        self.addItem(self.selected)
        self.writers: list[int] = []
        self.counts: list[int] = []
        self.heights = np.zeros(0)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scene().sigMouseMoved.connect(self._hovered)

    def set_writers(self, per_writer: list[tuple[int, int, float]]) -> None:
        self.writers = [w for w, _, _ in per_writer]
        self.counts = [n for _, n, _ in per_writer]
        self.heights = np.array([a for _, _, a in per_writer])
        x = np.arange(len(self.writers))
        self.bars.setOpts(x=x, height=self.heights)
        self.clear_selection()
        step = -(-len(x) // self.MAX_LABELLED)
        self.getAxis("bottom").setTicks([[(i, str(w)) for i, w in enumerate(self.writers) if i % step == 0]])
        self.setXRange(-0.5, len(x) - 0.5, padding=0.02)
        self.setYRange(max(0.0, float(self.heights.min(initial=1.0)) - 0.02), 1.0)
        spread = f": {self.heights.min():.1%} to {self.heights.max():.1%}" if len(x) > 1 else ""
        self.setTitle(f"Per-writer accuracy{spread} (click a bar)")

    def select(self, writer: int) -> None:
        i = self.writers.index(writer)
        self.selected.setOpts(x=[i], height=[self.heights[i]])

    def clear_selection(self) -> None:
        self.selected.setOpts(x=[], height=[])

    def _bar_at(self, scene_pos) -> int | None:
        i = int(np.floor(self.getPlotItem().vb.mapSceneToView(scene_pos).x() + 0.5))
        return i if 0 <= i < len(self.writers) else None

    def _clicked(self, event) -> None:
        i = self._bar_at(event.scenePos())
        if i is not None:
            self.select(self.writers[i])
            self.writerClicked.emit(self.writers[i])

    def _hovered(self, scene_pos) -> None:
        i = self._bar_at(scene_pos)
        self.setToolTip("" if i is None else
                        f"Writer {self.writers[i]}: {round(self.heights[i] * self.counts[i])} of {self.counts[i]} "
                        f"read right ({self.heights[i]:.1%}). Click to see their digits")


def set_name(data) -> str:
    return SET_NAMES.get(data.name, data.name)


def sample_source(data, index: int) -> str:
    """Where a test image came from: the user's file or trajectory, else its place in the test set."""
    return data.test_sources[index] if data.test_sources else f"{set_name(data)} test image #{index}"


GALLERY_ICON, GALLERY_CELL = 56, 92  # a thumbnail's side and a cell's width, in pixels


class Gallery(QListWidget):
    """Thumbnails of test images with their label, prediction and probability; a double-click (or Enter)
    asks for one to be opened in the Draw tab."""

    opened = Signal(int)  # the test image's index in its set

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(GALLERY_ICON, GALLERY_ICON))
        self._fit_captions([])
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)
        self.itemActivated.connect(lambda item: self.opened.emit(item.data(Qt.ItemDataRole.UserRole)))

    def show_samples(self, data, result: EvalResult, indices: np.ndarray) -> None:
        self.clear()
        names, captions = data.class_names, []
        for i in indices[:GALLERY_LIMIT]:
            pixels = data.test_input(i).pixels
            predicted, true = int(result.predictions[i]), int(result.labels[i])
            p = result.probabilities[i]
            caption = f"{names[predicted]} {p[predicted]:.0%}\ntrue {names[true]}"
            captions.append(caption)
            item = QListWidgetItem(QIcon(array_to_pixmap(pixels, 2)), caption)
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            second = int(np.argsort(-p)[1])
            item.setToolTip(f"{sample_source(data, i)}: true {names[true]}, predicted {names[predicted]} ({p[predicted]:.1%}), "
                            f"runner-up {names[second]} ({p[second]:.1%})\nDouble-click to open it in the Draw tab and see why")
            if predicted != true:
                item.setForeground(pg.mkColor(BAD))
            self.addItem(item)
        self._fit_captions(captions)

    def _fit_captions(self, captions: list[str]) -> None:
        """Cells tall enough for every caption in full (two lines at least): class names such as
        "Ankle boot" wrap onto more lines."""
        wrap, metrics = QRect(0, 0, GALLERY_CELL - 8, 1000), self.fontMetrics()
        text = max((metrics.boundingRect(wrap, Qt.TextFlag.TextWordWrap, c).height() for c in captions), default=0)
        self.setGridSize(QSize(GALLERY_CELL, GALLERY_ICON + 8 + max(text, 2 * metrics.lineSpacing())))
