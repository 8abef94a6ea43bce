"""A page of small 28×28 pictures, each with a caption under it, a header and a note above them: the Train
tab's Predictions and Batches pages. Each picture is 2 to 4 screen pixels per input pixel, as the page's
size allows; a double-click opens it in the Draw tab; a right-click copies or saves the page."""

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from engine.preprocess import PreparedImage
from gui.draw_tab import array_to_pixmap
from gui.export import add_picture_menu
from gui.style import MUTED

NAME_LENGTH = 8  # a class name cut to fit under its tile ("Ankle bo…"); whole in the tooltip


class Tile(QLabel):
    doubleClicked = Signal()

    def mouseDoubleClickEvent(self, event) -> None:
        self.doubleClicked.emit()


class TilePage(QWidget):
    """Emits ``opened(source, label, prepared)`` when a tile is double-clicked, to read it in the Draw tab;
    a page says what the tile is by ``tile_source`` and ``tile_label``."""

    opened = Signal(str, str, object)

    def __init__(self, waiting: str, picture_name: str, parent=None):
        super().__init__(parent)
        self.waiting = waiting
        self.header = QLabel("")
        self.header.setStyleSheet("font-weight: bold")
        self.note = QLabel(waiting)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {MUTED}")
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.note)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        add_picture_menu(self, picture_name)
        self.pictures: list[QLabel] = []
        self.captions: list[QLabel] = []
        self.images: np.ndarray | None = None  # uint8 N×28×28, the pictures shown
        self._rows = 1  # rows of tiles, for the fitting scale
        self._scale = 2

    def reset(self) -> None:
        """Before a run: nothing to show yet."""
        self._clear()
        self.header.setText("")
        self.note.setText(self.waiting)

    def _clear(self) -> None:
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.pictures, self.captions, self.images = [], [], None
        self._rows = 1

    def _add_tile(self, row: int, column: int) -> None:
        """A picture at ``row``, ``column`` of tiles, its caption under it."""
        index = len(self.pictures)
        picture = Tile()
        picture.doubleClicked.connect(lambda: self.opened.emit(self.tile_source(index), self.tile_label(index),
                                                               PreparedImage(self.images[index] / 255.0,
                                                                             frame=(0.0, 0.0, 28.0, 28.0))))
        caption = QLabel("")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(picture, 2 * row, column, Qt.AlignmentFlag.AlignHCenter)
        self.grid.addWidget(caption, 2 * row + 1, column, Qt.AlignmentFlag.AlignHCenter)
        self.pictures.append(picture)
        self.captions.append(caption)
        self._rows = max(self._rows, row + 1)

    def tile_source(self, index: int) -> str:
        raise NotImplementedError

    def tile_label(self, index: int) -> str:
        raise NotImplementedError

    def columns(self) -> int:
        return max(1, self.grid.columnCount())

    def _fitting_scale(self) -> int:
        """Each input pixel 2 to 4 screen pixels wide, as the page's width and height allow."""
        room = self.height() - self.header.sizeHint().height() - self.note.heightForWidth(self.width()) - 40
        across = (self.width() / self.columns() - 16) // 28
        down = (room / self._rows - self.fontMetrics().height() - 12) // 28
        return int(max(2, min(4, across, down)))

    def draw_pictures(self, images: np.ndarray) -> None:
        """Show ``images`` (uint8, one per tile) at the scale that fits."""
        self.images = images
        self._scale = self._fitting_scale()
        for picture, image in zip(self.pictures, images):
            picture.setPixmap(array_to_pixmap(image / 255.0, self._scale))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.images is not None and self._fitting_scale() != self._scale:
            self.draw_pictures(self.images)


def short_name(name: str) -> str:
    return name if len(name) <= NAME_LENGTH else name[:NAME_LENGTH - 1] + "…"
