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

from engine.datasets import items_noun
from gui.style import BAD, RUN_COLOURS, legend_brush

HOVER_PIXELS = 8  # how near the mouse must be to a dot to name it


def inline_image(pixmap: QPixmap) -> str:
    """The picture as an <img> of rich text, which reads data: URLs: a tooltip that shows the digit."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buffer, "PNG")
    return f'<img src="data:image/png;base64,{base64.b64encode(bytes(buffer.data())).decode()}">'


DIGIT, DRAWING, SAMPLE = "digit", "drawing", "sample"  # what can be picked on the map: a test digit, the star, a diamond


class DigitMapPlot(pg.PlotWidget):
    """Test digits as dots, the user's drawing as a star and their own samples as diamonds. Hover shows a
    dot's digit (``picture(position)``, when given) and names it; a click picks one: ``picked(kind, index)``
    (``DIGIT`` and its position on the map, ``DRAWING``, or ``SAMPLE`` and which). The wheel zooms and a
    drag moves, as on any map; the "A" button in the corner shows it all again."""

    picked = Signal(str, int)

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
        # The user's own samples: in their digit's colour, with the star's black edge.
        self.yours = pg.ScatterPlotItem(symbol="d", size=13, pen=pg.mkPen("#111827", width=1.5))
        for item in (self.dots, self.rings, self.chosen, self.yours, self.star):
            self.addItem(item)
        self.yours.setZValue(15)  # over the islands' names, under the star
        self.star.setZValue(20)
        self.names: list[pg.TextItem] = []
        self.points = np.zeros((0, 2), np.float32)
        self.labels = np.zeros(0, int)
        self.wrong = np.zeros(0, bool)
        self.tips: list[str] = []
        self.chosen_at = np.zeros(0, int)
        self.drawing_at: np.ndarray | None = None
        self.yours_at = np.zeros((0, 2), np.float32)
        self.yours_labels = np.zeros(0, int)
        self.class_names: tuple[str, ...] = ()
        self.picture: Callable[[int], QPixmap] | None = None
        self._hovering: int | None = None
        self.scene().sigMouseMoved.connect(self._hovered)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_digits(self, labels: np.ndarray, predictions: np.ndarray, class_names, tips: list[str]) -> None:
        """What the dots are, before any place is known: their classes, which were read wrong, what hover says."""
        self.labels, self.wrong, self.tips = labels, predictions != labels, tips
        self.class_names = tuple(class_names)
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
        self.show_yours(np.zeros((0, 2), np.float32), np.zeros(0, int))

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

    def show_yours(self, at: np.ndarray, labels: np.ndarray) -> None:
        """The user's own samples as diamonds at ``at``, each in the colour of its digit (``labels``)."""
        self.yours_at, self.yours_labels = np.asarray(at, np.float32).reshape(-1, 2), np.asarray(labels, int)
        self.yours.setData(pos=self.yours_at, brush=[pg.mkBrush(RUN_COLOURS[k % len(RUN_COLOURS)]) for k in self.yours_labels])

    def _near(self, scene_pos) -> tuple[str, int] | None:
        """What is under the mouse, if anything is within a few pixels: the star first, then a diamond, then a dot."""
        view = self.getPlotItem().vb
        if not len(self.points) or not self.sceneBoundingRect().contains(scene_pos):
            return None
        at = view.mapSceneToView(scene_pos)
        width, height = view.viewPixelSize()

        def pixels_to(points: np.ndarray) -> np.ndarray:
            return np.hypot((points[:, 0] - at.x()) / width, (points[:, 1] - at.y()) / height)

        if self.drawing_at is not None and pixels_to(np.reshape(self.drawing_at, (1, 2)))[0] < 2 * HOVER_PIXELS:
            return DRAWING, 0
        for kind, points, reach in ((SAMPLE, self.yours_at, 1.5 * HOVER_PIXELS), (DIGIT, self.points, HOVER_PIXELS)):
            if len(points):
                distances = pixels_to(points)
                nearest = int(distances.argmin())
                if distances[nearest] < reach:
                    return kind, nearest
        return None

    def _hovered(self, scene_pos) -> None:
        near = self._near(scene_pos)
        if near == self._hovering:  # the mouse moved within one dot: its tooltip stands
            return
        self._hovering = near
        likes = f"Click to see the {items_noun(self.class_names)} the network finds most like it"
        if near is None:
            self.setToolTip("")
        elif near[0] == DRAWING:
            self.setToolTip(f"Your drawing. {likes}")
        elif near[0] == SAMPLE:
            self.setToolTip(f"Your own sample of a {self.class_names[self.yours_labels[near[1]]]} (My samples…). {likes}")
        else:
            shown = f"{inline_image(self.picture(near[1]))}<br>" if self.picture else ""
            self.setToolTip(f"{shown}{html.escape(self.tips[near[1]])}<br>{likes}")

    def _clicked(self, event) -> None:
        near = self._near(event.scenePos())
        if near is not None:
            self.picked.emit(*near)
