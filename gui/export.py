"""Every picture can be kept: a right-click menu to copy it or save it as PNG.

pyqtgraph views are rendered by pyqtgraph's own ImageExporter (at the scene's full resolution);
other widgets as they are on screen. Saving is atomic, and a failure says why."""

import logging
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers pg.exporters)
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from engine.checkpoint import SaveError, atomic_write

log = logging.getLogger(__name__)
_last_folder = Path.home()  # where the last picture went, for the next save this session


def choose_save_path(parent: QWidget, title: str, suggested: Path, file_filter: str) -> Path | None:
    """A file dialog for saving; the suggested name's suffix is added when the user types a name
    without one, so a model saved as "mine" is still found as "mine.pt"."""
    path, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), file_filter)
    if not path:
        return None
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + suggested.suffix)


def save_or_explain(parent: QWidget, what: str, save) -> bool:
    """Call ``save()``; a SaveError becomes one logged message box naming ``what``. Whether it saved."""
    try:
        save()
    except SaveError as exc:
        log.warning("%s not saved: %s", what, exc)
        QMessageBox.warning(parent, f"Could not save {what}", str(exc))
        return False
    return True


def picture_of(widget: QWidget) -> QImage:
    if isinstance(widget, pg.GraphicsView):
        return pg.exporters.ImageExporter(widget.scene()).export(toBytes=True)
    return widget.grab().toImage()


def save_picture(widget: QWidget, path: Path) -> None:
    """Write the widget's picture to ``path`` as PNG (atomically; SaveError on failure)."""
    image = picture_of(widget)

    def write(tmp: str) -> None:
        if not image.save(tmp, "PNG"):
            raise OSError(f"could not write a PNG to {tmp}")

    atomic_write(Path(path), write)


def copy_picture(widget: QWidget) -> None:
    QGuiApplication.clipboard().setImage(picture_of(widget))


def add_picture_menu(widget: QWidget, name: str) -> None:
    """Right-click on ``widget``: Copy picture, Save picture as PNG… (``name`` suggests the file name), then any
    actions added to the widget."""
    widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    widget.customContextMenuRequested.connect(lambda pos: _show_menu(widget, name, pos))


def _show_menu(widget: QWidget, name: str, pos) -> None:
    menu = QMenu(widget)
    menu.addAction("Copy picture", lambda: copy_picture(widget))
    menu.addAction("Save picture as PNG…", lambda: _choose_and_save(widget, name))
    if widget.actions():  # the widget's own choices (how an accuracy chart is drawn)
        menu.addSeparator()
        menu.addActions(widget.actions())
    menu.exec(widget.mapToGlobal(pos))


def _choose_and_save(widget: QWidget, name: str) -> None:
    global _last_folder
    path = choose_save_path(widget, "Save picture", _last_folder / f"{name}.png", "PNG images (*.png)")
    if not path:
        return
    if save_or_explain(widget, "the picture", lambda: save_picture(widget, path)):
        _last_folder = path.parent
