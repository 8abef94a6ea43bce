"""The Evaluate tab's map: each test digit a dot where the network puts it (engine/digit_map.py),
coloured by what it is, those read wrong ringed in red, the user's drawing a star among the digits
most like it."""

import base64
import html
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, Signal
from PySide6.QtGui import QFont, QPixmap

from gui.style import BAD, RUN_COLOURS, legend_brush

HOVER_PIXELS = 8  # how near the mouse must be to a dot to name it


def inline_image(pixmap: QPixmap) -> str:
    """The picture as an <img> of rich text, which reads data: URLs: a tooltip that shows the digit."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buffer, "PNG")
    return f'<img src="data:image/png;base64,{base64.b64encode(bytes(buffer.data())).decode()}">'


class DigitMapPlot(pg.PlotWidget):
    """Hover shows a dot's digit (``picture(position)``, when given) and names it; a click picks one: ``dotClicked(position on the map)``, or ``DRAWING`` for the star.
    The wheel zooms and a drag moves, as on any map; the "A" button in the corner shows it all again."""

    dotClicked = Signal(int)
    DRAWING = -1

    def __init__(self, parent=None):
        super().__init__(parent, background=None)
        self.setMenuEnabled(False)
        for side in ("left", "bottom"):  # a t-SNE plane's axes measure nothing
            self.hideAxis(side)
        self.setAspectLocked(True)
        self.dots = pg.ScatterPlotItem(size=6, pen=None)
        self.rings = pg.ScatterPlotItem(size=12, pen=pg.mkPen(BAD, width=1.5), brush=None)
        self.chosen = pg.ScatterPlotItem(size=15, pen=pg.mkPen(pg.getConfigOption("foreground"), width=2), brush=None)
        # White with a black edge: no island's colour, and seen on a light or a dark window.
        self.star = pg.ScatterPlotItem(symbol="star", size=28, pen=pg.mkPen("#111827", width=2), brush=pg.mkBrush("#ffffff"))
        for item in (self.dots, self.rings, self.chosen, self.star):
            self.addItem(item)
        self.star.setZValue(20)  # over the islands' names too
        self.names: list[pg.TextItem] = []
        self.points = np.zeros((0, 2), np.float32)
        self.labels = np.zeros(0, int)
        self.wrong = np.zeros(0, bool)
        self.tips: list[str] = []
        self.chosen_at = np.zeros(0, int)
        self.drawing_at: np.ndarray | None = None
        self.picture: Callable[[int], QPixmap] | None = None
        self._hovering: int | None = None
        self.scene().sigMouseMoved.connect(self._hovered)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_digits(self, labels: np.ndarray, predictions: np.ndarray, class_names, tips: list[str]) -> None:
        """What the dots are, before any place is known: their classes, which were read wrong, what hover says."""
        self.labels, self.wrong, self.tips = labels, predictions != labels, tips
        self._hovering = None
        self._brushes = [pg.mkBrush(RUN_COLOURS[label % len(RUN_COLOURS)]) for label in labels]
        for name in self.names:
            self.removeItem(name)
        font = QFont()
        font.setBold(True)
        font.setPointSize(12)
        self.names = []
        for k, class_name in enumerate(class_names):
            # In the island's colour, on a box of the window's colour over any dots of another island.
            name = pg.TextItem(class_name, color=RUN_COLOURS[k % len(RUN_COLOURS)], anchor=(0.5, 1.0), fill=legend_brush())
            name.setFont(font)
            name.setZValue(10)
            self.addItem(name)
            self.names.append(name)
            name.hide()
        self.points = np.zeros((0, 2), np.float32)
        for item in (self.dots, self.rings, self.chosen):
            item.clear()
        self.chosen_at = np.zeros(0, int)
        self.show_drawing(None)

    def show_points(self, points: np.ndarray) -> None:
        """The dots at ``points`` (the map forming, or formed), each class named over where most of it lies."""
        self.points = points
        self.dots.setData(pos=points, brush=self._brushes)
        self.rings.setData(pos=points[self.wrong])
        self.chosen.setData(pos=points[self.chosen_at])
        for k, name in enumerate(self.names):
            mine = points[self.labels == k]
            name.setVisible(len(mine) > 0)
            if len(mine):  # above the island's middle, not over its dots
                name.setPos(np.median(mine[:, 0]), np.percentile(mine[:, 1], 90))
        self.getPlotItem().vb.autoRange(padding=0.04)

    def choose(self, positions: np.ndarray) -> None:
        """Circle these dots (a digit picked and those the network finds most like it)."""
        self.chosen_at = np.asarray(positions, int)
        self.chosen.setData(pos=self.points[self.chosen_at] if len(self.points) else np.zeros((0, 2)))

    def show_drawing(self, at: np.ndarray | None) -> None:
        self.drawing_at = at
        self.star.setData(pos=np.zeros((0, 2)) if at is None else np.asarray(at, np.float32).reshape(1, 2))

    def _near(self, scene_pos) -> int | None:
        """The dot (or ``DRAWING``) under the mouse, if any is within a few pixels."""
        view = self.getPlotItem().vb
        if not len(self.points) or not self.sceneBoundingRect().contains(scene_pos):
            return None
        at = view.mapSceneToView(scene_pos)
        width, height = view.viewPixelSize()
        if self.drawing_at is not None and np.hypot((self.drawing_at[0] - at.x()) / width,
                                                    (self.drawing_at[1] - at.y()) / height) < 2 * HOVER_PIXELS:
            return self.DRAWING
        pixels = np.hypot((self.points[:, 0] - at.x()) / width, (self.points[:, 1] - at.y()) / height)
        nearest = int(pixels.argmin())
        return nearest if pixels[nearest] < HOVER_PIXELS else None

    def _hovered(self, scene_pos) -> None:
        near = self._near(scene_pos)
        if near == self._hovering:  # the mouse moved within one dot: its tooltip stands
            return
        self._hovering = near
        if near is None:
            self.setToolTip("")
        elif near == self.DRAWING:
            self.setToolTip("Your drawing, among the digits the network finds most like it (click to see them)")
        else:
            shown = f"{inline_image(self.picture(near))}<br>" if self.picture else ""
            self.setToolTip(f"{shown}{html.escape(self.tips[near])}<br>Click to see the digits the network finds most like it")

    def _clicked(self, event) -> None:
        near = self._near(event.scenePos())
        if near is not None:
            self.dotClicked.emit(near)
