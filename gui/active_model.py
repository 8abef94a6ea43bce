"""The model every tab uses. Replacing it (load, train, personalise) notifies them all at once."""

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.checkpoint import describe
from engine.predict import Predictor


class ActiveModel(QObject):
    changed = Signal(object)  # the new Predictor

    def __init__(self, predictor: Predictor, path: Path | None, parent=None):
        super().__init__(parent)
        self.predictor = predictor
        self.path = path  # where it was loaded from / last saved; None for an unsaved model
        self.saved = path is not None

    def set(self, predictor: Predictor, path: Path | None, saved: bool) -> None:
        self.predictor, self.path, self.saved = predictor, path, saved
        self.changed.emit(predictor)

    def load(self, path) -> None:
        """Make the checkpoint at ``path`` active; on any error the current model stays active."""
        predictor = Predictor.load(path)  # raises CheckpointError before anything changes
        self.set(predictor, Path(path), saved=True)

    @property
    def description(self) -> str:
        return describe(self.predictor.metadata)
