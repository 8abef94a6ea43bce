"""The Train tab's Predictions page: a few validation digits that the run never trains on, and the
network's answer to each as it learns (as ConvNetJS's MNIST demo shows), green when right and red
when wrong; an answer that changed since the last look is in bold. Filled from ``Watched`` events."""

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from engine.datasets import are_digits, class_noun, items_noun
from engine.events import Watched
from engine.preprocess import PreparedImage
from gui.draw_tab import array_to_pixmap
from gui.export import add_picture_menu
from gui.style import BAD, GOOD, MUTED, names_are_words

WAITING = "The network's answers to a few validation digits it never trains on appear here when training starts, and change as it learns."
NAME_LENGTH = 8  # a class name cut to fit under its tile ("Ankle bo…"); whole in the tooltip


class Tile(QLabel):
    doubleClicked = Signal()

    def mouseDoubleClickEvent(self, event) -> None:
        self.doubleClicked.emit()


class WatchedView(QWidget):
    """Emits ``opened(source, label, prepared)`` when a tile is double-clicked, to read it in the Draw tab."""

    opened = Signal(str, str, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.header = QLabel("")
        self.header.setObjectName("watchedHeader")
        self.header.setStyleSheet("font-weight: bold")
        self.note = QLabel(WAITING)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {MUTED}")
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.note)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        add_picture_menu(self, "predictions")
        self.pictures: list[QLabel] = []
        self.captions: list[QLabel] = []
        self.shown: Watched | None = None
        self._scale = 2

    def reset(self) -> None:
        """Before a run: no answers yet."""
        self._clear()
        self.header.setText("")
        self.note.setText(WAITING)

    def show_answers(self, event: Watched) -> None:
        same_images = (self.shown is not None and self.shown.labels == event.labels
                       and np.array_equal(self.shown.images, event.images))
        before = self.shown.probabilities.argmax(1) if same_images else None
        between = "\n" if names_are_words(event.class_names) else " "  # a word and its share side by side outgrow a tile
        if not same_images:
            self._build(event)
        self.shown = event
        names = event.class_names
        answers = event.probabilities.argmax(1)
        right = int((answers == np.asarray(event.labels)).sum())
        noun = items_noun(names)
        self.header.setText(f"{right} of {len(answers)} {noun} read right · step {event.step:,} (epoch {event.epoch:.2f})")
        self.note.setText(f"{noun.capitalize()} of {event.source}, {len(answers) // len(names)} of each "
                          f"{class_noun(names)} (a column each), read by the network as it is now: its answer under "
                          "each, green when right, red when wrong, in bold when it changed since the last look. "
                          "Hover over one for its top three; double-click it to see why in the Draw tab, read by the "
                          "active model (the run's, once it ends).")
        for i, (picture, caption) in enumerate(zip(self.pictures, self.captions)):
            answer, truth = int(answers[i]), event.labels[i]
            colour = GOOD if answer == truth else BAD
            changed = before is not None and before[i] != answer
            caption.setText(f"{_short(names[answer])}{between}{event.probabilities[i, answer]:.0%}")
            caption.setStyleSheet(f"color: {colour}" + ("; font-weight: bold" if changed else ""))
            picture.setStyleSheet(f"border: 2px solid {colour}")
            top = np.argsort(event.probabilities[i])[::-1][:3]
            picture.setToolTip(f"{names[truth]}, read as " + ", ".join(
                f"{names[k]} {event.probabilities[i, k]:.1%}" for k in top) + ". Double-click to see why, in the Draw tab.")

    def _clear(self) -> None:
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.pictures, self.captions, self.shown = [], [], None

    def _build(self, event: Watched) -> None:
        """A tile per watched image, a column per class, when a run's first answers come."""
        self._clear()
        seen = {}
        for i, (image, label) in enumerate(zip(event.images, event.labels)):
            row = 2 * seen.setdefault(label, 0)
            seen[label] += 1
            picture = Tile()
            picture.doubleClicked.connect(lambda i=i: self._open(i))
            caption = QLabel("")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.addWidget(picture, row, label, Qt.AlignmentFlag.AlignHCenter)
            self.grid.addWidget(caption, row + 1, label, Qt.AlignmentFlag.AlignHCenter)
            self.pictures.append(picture)
            self.captions.append(caption)
        self._draw_pictures(event.images, self._fitting_scale(event))

    def _open(self, index: int) -> None:
        event = self.shown
        kind = "digit" if are_digits(event.class_names) else "image"
        self.opened.emit(f"validation {kind} {index + 1} of {len(event.labels)}",
                         event.class_names[event.labels[index]],
                         PreparedImage(event.images[index] / 255.0, frame=(0.0, 0.0, 28.0, 28.0)))

    def _fitting_scale(self, event: Watched) -> int:
        """Each input pixel 2 to 4 screen pixels wide, as the page's width and height allow."""
        columns = max(1, len(event.class_names))
        rows = -(-len(event.labels) // columns)
        room = self.height() - self.header.sizeHint().height() - self.note.heightForWidth(self.width()) - 40
        across = (self.width() / columns - 16) // 28
        down = (room / rows - self.fontMetrics().height() - 12) // 28
        return int(max(2, min(4, across, down)))

    def _draw_pictures(self, images: np.ndarray, scale: int) -> None:
        self._scale = scale
        for picture, image in zip(self.pictures, images):
            picture.setPixmap(array_to_pixmap(image / 255.0, scale))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.shown is not None and (scale := self._fitting_scale(self.shown)) != self._scale:
            self._draw_pictures(self.shown.images, scale)


def _short(name: str) -> str:
    return name if len(name) <= NAME_LENGTH else name[:NAME_LENGTH - 1] + "…"
