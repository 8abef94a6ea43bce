"""The model every tab uses, and its one owner: loading, replacing (train, personalise), saving and
whether it is saved all go through here. A new model notifies every tab through ``changed``; a save
changes only where it lives, so it emits ``saved_changed`` and nothing re-evaluates."""

import shutil
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.checkpoint import atomic_write, describe, save_checkpoint
from engine.device import device_name
from engine.predict import Predictor


class ActiveModel(QObject):
    changed = Signal(object)  # the new Predictor
    saved_changed = Signal()

    def __init__(self, predictor: Predictor, path: Path | None, parent=None):
        super().__init__(parent)
        self.predictor = predictor
        self.path = path  # the file holding exactly these weights, if any
        self.saved = path is not None  # False until the user keeps it (a trained or personalised model)

    def set(self, predictor: Predictor, path: Path | None, saved: bool) -> None:
        self.predictor, self.path, self.saved = predictor, path, saved
        self.changed.emit(predictor)

    def load(self, path) -> None:
        """Make the checkpoint at ``path`` active; on any error the current model stays active."""
        predictor = Predictor.load(path)  # raises CheckpointError before anything changes
        self.set(predictor, Path(path), saved=True)

    def save(self, path) -> None:
        """Write the active model to ``path`` (atomically; raises SaveError or CheckpointError)."""
        path, source = Path(path), self.path
        if source is not None and Path(source).is_file() and Path(source).resolve() != path.resolve():
            atomic_write(path, lambda tmp: shutil.copyfile(source, tmp))
        else:
            save_checkpoint(path, self.predictor.model, self.predictor.metadata)
        self.path, self.saved = path, True
        self.saved_changed.emit()

    @property
    def description(self) -> str:
        return describe(self.predictor.metadata)

    @property
    def device_name(self) -> str:
        """The device inference really runs on (not the one training may use)."""
        return device_name(self.predictor.device)
