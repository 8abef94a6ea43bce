"""Teaching the model your handwriting: confirm or correct predictions, then personalise."""

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication, QDialog, QDialogButtonBox, QFileDialog, QGridLayout, QHBoxLayout, QInputDialog, QLabel, QListView,
    QListWidget, QListWidgetItem, QMessageBox, QPushButton, QVBoxLayout, QWidget,
)

from engine.checkpoint import SaveError, save_checkpoint
from engine.personal import (
    PersonalDataError, PersonalSamples, personalise, personalised_metadata, personalised_path, rehearsal_dataset,
)
from engine.predict import Predictor
from gui.active_model import ActiveModel
from gui.draw_tab import DrawTab, array_to_pixmap
from gui.style import BAD, GOOD, MUTED, section_label
from gui.workers import FunctionWorker, start_in_thread


class PersonalPanel(QWidget):
    """Lives in the Draw tab. Digit keys 0-9 label the drawing; Enter confirms the prediction."""

    def __init__(self, draw_tab: DrawTab, active: ActiveModel, store: PersonalSamples | None = None, parent=None):
        super().__init__(parent)
        self.draw_tab, self.active = draw_tab, active
        self.store = store or PersonalSamples()
        self._worker = None
        self.confirm_button = QPushButton("✓ Correct")
        self.confirm_button.setObjectName("confirmButton")
        self.confirm_button.setToolTip("The prediction is right: keep this drawing as a personal sample (Enter)")
        self.confirm_button.clicked.connect(self.confirm)
        self.label_buttons = []
        digits = QHBoxLayout()
        digits.setSpacing(2)
        for d in range(10):
            b = QPushButton(str(d))
            b.setObjectName(f"label{d}")
            b.setFixedWidth(30)
            b.setToolTip(f"It is a {d}: keep this drawing with the label {d} (key {d})")
            b.clicked.connect(lambda _checked=False, d=d: self.save_as(d))
            digits.addWidget(b)
            self.label_buttons.append(b)
            QShortcut(QKeySequence(str(d)), draw_tab, lambda d=d: self.save_as(d),
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            QShortcut(QKeySequence(key), draw_tab, self.confirm, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.personalise_button = QPushButton("Personalise")
        self.personalise_button.setObjectName("personaliseButton")
        self.personalise_button.setToolTip("Fine-tune the active model on MNIST plus your samples (a few seconds)")
        self.personalise_button.clicked.connect(self.start_personalise)
        self.browse_button = QPushButton("My samples…")
        self.browse_button.clicked.connect(self.browse)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("personalStatus")

        actions = QHBoxLayout()
        actions.addWidget(self.confirm_button)
        actions.addStretch(1)
        actions.addWidget(self.personalise_button)
        actions.addWidget(self.browse_button)
        corrections = QHBoxLayout()
        corrections.addWidget(QLabel("or it is:"))
        corrections.addLayout(digits)
        corrections.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(section_label("Teach it your handwriting"))
        layout.addLayout(actions)
        layout.addLayout(corrections)
        layout.addWidget(self.status)
        draw_tab.predicted.connect(self._prediction_changed)
        self._prediction_changed(None)
        self._show_count()

    def _prediction_changed(self, prediction) -> None:
        has_drawing = prediction is not None and prediction.digit is not None
        self.confirm_button.setEnabled(has_drawing)
        self.confirm_button.setText(f"✓ It is a {prediction.digit}" if has_drawing else "✓ Correct")
        for b in self.label_buttons:
            b.setEnabled(has_drawing)

    def _show_count(self, prefix: str = "") -> None:
        n = len(self.store)
        text = f"{n} personal sample{'s' if n != 1 else ''}" if n else "No personal samples yet: confirm or correct a few predictions."
        self.status.setStyleSheet(f"color: {MUTED}" if not prefix else "")
        self.status.setText(prefix + text)
        self.personalise_button.setEnabled(n > 0 and self._worker is None)

    # --- samples -------------------------------------------------------------------------------
    def confirm(self) -> None:
        prediction = self.draw_tab.last_prediction
        if prediction is not None and prediction.digit is not None:
            self.save_as(prediction.digit)

    def save_as(self, label: int) -> None:
        """Keep the drawing on the canvas with this label, then clear it for the next one."""
        if self.draw_tab.last_prediction is None or self.draw_tab.canvas.is_empty():
            return
        try:
            self.store.add(self.draw_tab.canvas.render_array(), label)
        except (PersonalDataError, OSError) as exc:
            self.status.setStyleSheet(f"color: {BAD}")
            self.status.setText(f"Not saved: {exc}")
            return
        self.draw_tab.canvas.clear()
        self._show_count(f"Saved as {label} ({self.store.counts()[label]} of this digit) · ")

    def browse(self) -> None:
        SamplesDialog(self.store, self).exec()
        self._show_count()

    # --- fine-tuning ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None

    def start_personalise(self) -> None:
        if self.running or len(self.store) == 0:
            return
        predictor, store = self.active.predictor, self.store
        self.status.setStyleSheet("")
        running = f"Personalising on {len(store)} samples plus its training digits"
        self.status.setText(running + "…")
        self.personalise_button.setEnabled(False)

        def work():  # reading and preparing every sample's drawing is slow work too: off the GUI thread
            def loading(label, done, total, unit="bytes"):  # the first use may download MNIST or draw the pen digits
                verb = "downloading " if unit == "bytes" else ""  # as the Train tab words it
                worker.progress.emit(f"{verb}{label}…" + (f" {done / total:.0%}" if total else ""))

            rehearsal = rehearsal_dataset(predictor.metadata, progress=loading)
            return personalise(predictor.model, store.tensors(), rehearsal,
                               progress=lambda step, steps: worker.progress.emit(f"{running}: {step / steps:.0%}"))

        worker = self._worker = FunctionWorker(work)
        worker.progress.connect(self.status.setText)
        worker.succeeded.connect(lambda result: self._finished(result, predictor))
        worker.failed.connect(self._failed)
        worker.done.connect(self._done)
        start_in_thread(worker, self, "personalise")

    def _done(self) -> None:
        self._worker = None
        self.personalise_button.setEnabled(len(self.store) > 0)

    def _failed(self, exc: Exception) -> None:
        self.status.setStyleSheet(f"color: {BAD}")
        self.status.setText(f"Personalising failed: {exc or type(exc).__name__}. The active model was not changed.")

    def _finished(self, result, base: Predictor) -> None:
        metadata = personalised_metadata(base.metadata, result)
        path = personalised_path()
        try:
            save_checkpoint(path, result.model, metadata)
            where = "saved in your models folder"
        except SaveError as exc:  # keep the model in memory, unsaved, rather than lose it
            path, where = None, f"not saved ({exc}): File → Save model keeps it"
        self.status.setToolTip(str(path) if path else "")
        self.active.set(Predictor(result.model, "cpu", metadata), path, saved=path is not None)
        self.status.setStyleSheet(f"color: {GOOD}")
        self.status.setText(f"Personalised in {result.seconds:.0f} s: {result.summary()}. "
                            f"It is now the active model ({where}).")


class SamplesDialog(QDialog):
    """Browse, relabel, delete, clear, export and import the personal samples."""

    def __init__(self, store: PersonalSamples, parent=None):
        super().__init__(parent)
        self.setWindowTitle("My handwriting samples")
        self.resize(720, 520)
        self.store = store
        self.summary = QLabel()
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(64, 64))
        self.grid.setGridSize(QSize(84, 96))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.grid.itemDoubleClicked.connect(lambda _item: self.relabel())
        buttons = QGridLayout()
        for col, (text, slot) in enumerate((("Relabel…", self.relabel), ("Delete", self.delete), ("Clear all…", self.clear),
                                            ("Export CSV…", self.export), ("Import CSV…", self.import_csv))):
            b = QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b, 0, col)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.grid, 1)
        layout.addLayout(buttons)
        layout.addWidget(close)
        self.refresh()

    def refresh(self) -> None:
        self.grid.clear()
        for sample in self.store.samples():
            drawing = self.store.image(sample)[::4, ::4].astype(np.float32) / 255  # shown small, as drawn
            item = QListWidgetItem(QIcon(array_to_pixmap(drawing, 1)), f"{sample.label}")
            item.setData(Qt.ItemDataRole.UserRole, sample.id)
            item.setToolTip(f"label {sample.label}, saved {sample.created}")
            self.grid.addItem(item)
        counts = self.store.counts()
        self.summary.setText(f"{len(self.store)} samples · per digit: " + "  ".join(f"{d}:{n}" for d, n in enumerate(counts))
                             + f"\nStored in {self.store.folder}")

    def _selected_ids(self) -> list[str]:
        return [item.data(Qt.ItemDataRole.UserRole) for item in self.grid.selectedItems()]

    def relabel(self) -> None:
        ids = self._selected_ids()
        if not ids:
            return
        label, ok = QInputDialog.getInt(self, "Relabel", f"Digit for {len(ids)} sample(s):", 0, 0, 9)
        if ok:
            for sample_id in ids:
                self.store.relabel(sample_id, label)
            self.refresh()

    def delete(self) -> None:
        for sample_id in self._selected_ids():
            self.store.remove(sample_id)
        self.refresh()

    def clear(self) -> None:
        if len(self.store) and QMessageBox.question(self, "Clear all samples",
                                                    f"Delete all {len(self.store)} personal samples?") == QMessageBox.StandardButton.Yes:
            self.store.clear()
            self.refresh()

    def export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export samples", "my-digits.csv", "CSV (*.csv)")
        if path:
            n = self.store.export_csv(path)
            self.summary.setText(f"Exported {n} samples to {path}")

    def import_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import samples", "", "CSV (*.csv);;All files (*)")
        if not path:
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # about 1 ms a row: a big file takes seconds
        try:
            n, error = self.store.import_csv(path), None
        except PersonalDataError as exc:
            n, error = 0, exc
        finally:
            QApplication.restoreOverrideCursor()
        if error:
            QMessageBox.warning(self, "Import failed", f"{error}\n\nNo samples were added.")
            return
        self.refresh()
        self.summary.setText(self.summary.text() + f"\nImported {n} samples.")
