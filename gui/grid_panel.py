"""A grid of small pictures (kernels, feature maps) drawn as one image, read out under the mouse."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QVBoxLayout, QWidget

from gui.export import add_picture_menu
from gui.mosaic import Mosaic, tile
from gui.style import DIVERGING, MUTED, UNSURE, section_label


class HoverImage(pg.ImageItem):
    """An ImageItem that reports which pixel the mouse is over and which one is clicked."""

    def __init__(self, on_hover, on_click=None):
        super().__init__()
        self._on_hover, self._on_click = on_hover, on_click
        self.setAcceptHoverEvents(True)

    def hoverEvent(self, event):
        self._on_hover(None if event.isExit() else (event.pos().y(), event.pos().x()))

    def mouseClickEvent(self, event):
        if self._on_click is not None and event.button() == Qt.MouseButton.LeftButton:
            self._on_click((event.pos().y(), event.pos().x()))
            event.accept()


class GridPanel(QWidget):
    """A titled grid of tiles drawn as one image, with hover read-outs of the tile and value under the
    mouse; ``on_click(index)`` (if given) hears which tile was clicked, ``on_hover((index, y, x) or
    None)`` which pixel the mouse is over. ``mark`` outlines boxes on tiles."""

    def __init__(self, title: str, colormap: str, describe_cell, info: QLabel, parent=None, on_click=None, on_hover=None):
        super().__init__(parent)
        self.title = section_label(title)
        self.axes = QLabel("")
        self.axes.setStyleSheet(f"color: {MUTED}")
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(None)
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        add_picture_menu(self.view, title.lower().replace(" ", "-")[:40])
        self.image = HoverImage(self._hover, self._click if on_click else None)
        self._colormap = colormap
        self._shown_colormap = colormap
        self.image.setColorMap(pg.colormap.get(colormap))
        self.box.addItem(self.image)
        self.marks: dict[str, QGraphicsPathItem] = {}  # one outline item per colour, made when first used
        self.mosaic: Mosaic | None = None
        self.tiles: np.ndarray | None = None  # the values behind each tile, (rows*cols, h, w)
        self._describe_cell, self._info, self._on_click, self._on_hover = describe_cell, info, on_click, on_hover
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.axes)

    def display(self, mosaic: Mosaic, tiles: np.ndarray, levels: tuple[float, float], axes: str = "") -> None:
        self.mosaic, self.tiles = mosaic, tiles
        self.image.setImage(mosaic.image, levels=levels, autoLevels=False)
        self.box.autoRange(padding=0.02)
        self.axes.setText(axes)

    def display_activations(self, mosaic: Mosaic, tiles: np.ndarray, axes: str = "") -> None:
        """Maps after an activation: from zero to their largest value in the panel's own colours when none
        is negative (ReLU, sigmoid), on the diverging scale around zero when some are (tanh)."""
        signed = bool((tiles < 0).any())
        colormap = DIVERGING if signed else self._colormap
        if colormap != self._shown_colormap:
            self.image.setColorMap(pg.colormap.get(colormap))
            self._shown_colormap = colormap
        levels = symmetric_levels(tiles) if signed else (0.0, float(tiles.max()) or 1.0)
        self.display(mosaic, tiles, levels, axes)

    def show_nothing(self, why: str) -> None:
        """An empty panel that says why: the last model's pictures would mislead."""
        empty = np.full((1, 1, 1), np.nan, np.float32)
        self.display(tile(empty, 1), empty, (0.0, 1.0), why)

    def _tile_at(self, pos) -> tuple[int, int, int, int, int] | None:
        """(index, row, col, dy, dx) of the tile pixel at ``pos``, or None."""
        spot = self.mosaic.locate(*pos) if (pos and self.mosaic) else None
        if spot is None:
            return None
        index = spot[0] * self.mosaic.cols + spot[1]
        return (index, *spot) if index < len(self.tiles) else None

    def mark(self, boxes, colour: str = UNSURE) -> None:
        """Outline each (tile index, top, left, bottom, right) box in ``colour``, in the tile's pixels;
        no boxes clears that colour's outlines."""
        if colour not in self.marks:
            pen = QPen(QColor(colour), 2)
            pen.setCosmetic(True)  # two screen pixels wide however far the view is zoomed
            self.marks[colour] = QGraphicsPathItem()
            self.marks[colour].setPen(pen)
            self.box.addItem(self.marks[colour])
        path = QPainterPath()
        for index, top, left, bottom, right in boxes:
            y, x = self.mosaic.origin(index)
            path.addRect(QRectF(x + left, y + top, right - left, bottom - top))
        self.marks[colour].setPath(path)

    def outlined(self) -> QRectF:
        """The bounding box of every outline drawn, in image coordinates (empty when none)."""
        rect = QRectF()
        for item in self.marks.values():
            rect = rect.united(item.path().boundingRect()) if not item.path().isEmpty() else rect
        return rect

    def _hover(self, pos) -> None:
        spot = self._tile_at(pos)
        if self._on_hover is not None:
            self._on_hover(None if spot is None else (spot[0], spot[3], spot[4]))
        if spot is None:
            self.view.setToolTip("")
            return
        index, row, col, dy, dx = spot
        values = self.tiles[index]
        text = (f"{self._describe_cell(row, col)}: {values[dy, dx]:+.3f} at row {dy + 1}, column {dx + 1} "
                f"(range {values.min():+.3f} … {values.max():+.3f})")
        self._info.setText(text)
        self.view.setToolTip(text)

    def _click(self, pos) -> None:
        spot = self._tile_at(pos)
        if spot is not None:
            self._on_click(spot[0])


def symmetric_levels(arrays: np.ndarray) -> tuple[float, float]:
    m = float(np.abs(arrays).max()) or 1.0
    return -m, m
