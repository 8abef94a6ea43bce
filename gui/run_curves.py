"""Curves of several runs on shared charts, one colour per run (Compare and Runs)."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gui.error_rate import AccuracyScale
from gui.export import add_picture_menu
from gui.legend_corner import LegendCorner
from gui.style import RUN_COLOURS, legend_brush, set_log_ticks

SMOOTHING = 0.05  # the weight of each new batch's loss in the smoothed curve


LEGEND_CHARS = 44  # a longer run name (a network's layers) is cut short in the legend, whole in the table


def legend_name(label: str) -> str:
    return label if len(label) <= LEGEND_CHARS else label[:LEGEND_CHARS - 1].rstrip(" ,") + "…"


class Smoothed:
    """A running exponential average of a run's loss, debiased as TensorBoard's is: its first points are the
    mean of the losses so far, not held up near the first one (which drew a fast fall as a slow one).
    A loss that is not finite (a diverging batch) leaves it as it was."""

    def __init__(self):
        self._total = self._weight = 0.0

    def add(self, loss: float) -> float:
        if np.isfinite(loss):
            self._total += SMOOTHING * (loss - self._total)
            self._weight += SMOOTHING * (1.0 - self._weight)
        return self._total / self._weight if self._weight else loss


def run_colour(index: int) -> pg.Color:
    return pg.mkColor(RUN_COLOURS[index % len(RUN_COLOURS)])


class CurveChart(QWidget):
    """Loss per batch (smoothed) and validation accuracy several times per epoch, one curve per run."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss = pg.PlotWidget(background=None, title="Training loss (smoothed)")
        self.loss.setLabel("bottom", "epoch")
        self.loss.setLogMode(y=True)
        self.loss.showGrid(x=True, y=True, alpha=0.15)
        self.accuracy = pg.PlotWidget(background=None, title="Validation accuracy")
        self.accuracy.setLabel("bottom", "epoch")
        self.accuracy_scale = AccuracyScale(self.accuracy, "Validation accuracy", "Validation error rate (log scale)")
        self.accuracy.showGrid(x=True, y=True, alpha=0.15)
        self.legend = self.accuracy.addLegend(brush=legend_brush())
        self.legend_corner = LegendCorner(self.accuracy, self.legend, place=(1, 1))  # accuracy climbs away from it
        for plot, name in ((self.loss, "loss"), (self.accuracy, "validation-accuracy")):
            add_picture_menu(plot, name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss, 1)
        layout.addWidget(self.accuracy, 1)
        self.clear()

    def clear(self) -> None:
        self.loss.clear()
        self.accuracy.clear()
        self.legend.clear()
        self.legend.setVisible(False)  # an empty legend is a blank box in the chart's corner
        self._curves: list[tuple] = []
        self._data: list[dict] = []
        self._show_numbers(False)

    def _show_numbers(self, shown: bool) -> None:
        """Before the first point the epoch axes carry no numbers (not 0.1-0.9 epochs of nothing), and
        the loss and accuracy axes the ranges a run moves in; with points, each axis follows them."""
        self._numbers = shown
        for plot in (self.loss, self.accuracy):
            plot.getAxis("bottom").setStyle(showValues=shown)
            if shown:
                plot.enableAutoRange()
        if not shown:
            self.loss.setYRange(-2.1, 0.5, padding=0)  # log10: under 0.01 .. 3, so that 0.01 is labelled
            set_log_ticks(self.loss.getAxis("left"), [0.01, 3])
            self.accuracy_scale.reset()
            self.accuracy_scale.fit([], lowest=0.0)

    def set_error_rate(self, error_rate: bool) -> None:
        self.accuracy_scale.set_error_rate(error_rate)
        for data in self._data:
            data["dirty"] = True
        self._show_numbers(self._numbers)  # the axes as they were, in the new scale
        self.redraw()

    def add_run(self, label: str) -> int:
        index = len(self._curves)
        pen = pg.mkPen(run_colour(index), width=2)
        self._curves.append((self.loss.plot([], [], pen=pen),
                             self.accuracy.plot([], [], pen=pen, symbol="o", symbolSize=4, symbolPen=None,
                                                symbolBrush=run_colour(index), name=legend_name(label))))
        self._data.append({"loss_x": [], "loss_y": [], "smoothed": Smoothed(), "acc_x": [], "acc_y": [], "dirty": True})
        self.legend.setVisible(True)
        return index

    def add_loss(self, index: int, epoch: float, loss: float) -> None:
        data = self._data[index]
        data["loss_x"].append(epoch)
        data["loss_y"].append(data["smoothed"].add(loss))
        data["dirty"] = True

    def add_accuracy(self, index: int, epoch: float, accuracy: float) -> None:
        data = self._data[index]
        data["acc_x"].append(epoch)
        data["acc_y"].append(accuracy)
        data["dirty"] = True

    def set_visible(self, index: int, visible: bool) -> None:
        for curve in self._curves[index]:
            curve.setVisible(visible)
        self.legend_corner.update()  # a hidden run leaves room

    def redraw(self) -> None:
        if not self._numbers and any(data["loss_x"] or data["acc_x"] for data in self._data):
            self._show_numbers(True)
        set_log_ticks(self.loss.getAxis("left"), [y for data in self._data for y in data["loss_y"][-200:]])
        self.accuracy_scale.follow([a for data in self._data for a in data["acc_y"]])
        changed = False
        for (loss, accuracy), data in zip(self._curves, self._data):
            if data["dirty"]:
                data["dirty"], changed = False, True
                loss.setData(data["loss_x"], np.maximum(data["loss_y"], 1e-6) if data["loss_y"] else [])
                accuracy.setData(data["acc_x"], self.accuracy_scale.y(data["acc_y"]))
        if changed:  # the timer redraws four times a second, mostly with nothing new
            self.legend_corner.update()
