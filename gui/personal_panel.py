"""Teaching the model your handwriting: confirm or correct predictions, then personalise."""

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFileDialog, QGridLayout, QHBoxLayout, QInputDialog, QLabel, QListView, QMessageBox,
    QProgressDialog, QPushButton, QVBoxLayout, QWidget,
)

from engine.checkpoint import SaveError, save_checkpoint
from engine.datasets import are_digits
from engine.events import Downloading
from engine.paths import shown
from engine.personal import (
    PersonalDataError, PersonalSamples, Sample, personalise, personalised_metadata, personalised_path, rehearsal_dataset,
)
from engine.predict import Predictor
from engine.testsets import left_out_note
from gui.active_model import ActiveModel
from gui.draw_tab import DrawTab, array_to_pixmap
from gui.export import choose_save_path
from gui.settings import remember, remembered
from gui.style import BAD, GOOD, MUTED, ClampedLabel, section_label
from gui.workers import FunctionWorker, start_in_thread

log = logging.getLogger(__name__)
THUMBNAIL = 64  # side of a sample's picture in My samples, in pixels
TEACH = "Teach each digit"


class KeptSample(NamedTuple):
    """The sample last kept from the canvas, for Undo to take back (a wrong digit key pressed) and Redo
    to keep again."""
    sample: Sample
    picture: np.ndarray  # the drawing as it was kept
    asked: int | None  # the digit the guided round asked for when it was kept
    corrected: bool  # kept as another digit than the one read
    from_test_set: bool
    mark: object  # the canvas's token of the step: its history mark once kept, its redo mark once taken back


class PersonalPanel(QWidget):
    """Lives in the Draw tab. Digit keys 0-9 label the drawing; Enter confirms the prediction."""

    def __init__(self, draw_tab: DrawTab, active: ActiveModel, store: PersonalSamples | None = None,
                 settings: QSettings | None = None, parent=None):
        super().__init__(parent)
        self.draw_tab, self.active, self.settings = draw_tab, active, settings or QSettings()
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
        self.teach_button = QPushButton(TEACH)
        self.teach_button.setObjectName("teachButton")
        self.teach_button.setToolTip("Draw each digit once as you write it, then Personalise: about a minute that "
                                     "teaches the model your style (Enter keeps each drawing)")
        self.teach_button.clicked.connect(self.toggle_teaching)
        self._asked: int | None = None  # the digit the guided round asks for next
        self._kept: KeptSample | None = None  # the Undo that brings its drawing back takes it away
        self._taken_back: KeptSample | None = None  # the Redo that clears its drawing again keeps it again
        self._dialog: SamplesDialog | None = None  # My samples, while it is open
        self.browse_button = QPushButton("My samples…")
        self.browse_button.clicked.connect(self.browse)
        self.status = ClampedLabel(lines=2)  # a long message must not squeeze the pictures above it
        self.status.setObjectName("personalStatus")

        actions = QHBoxLayout()
        actions.addWidget(self.confirm_button)
        actions.addStretch(1)
        actions.addWidget(self.teach_button)
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
        draw_tab.canvas.undone.connect(self._take_back)
        draw_tab.canvas.redone.connect(self._keep_again)
        active.changed.connect(lambda _predictor: self.show_count())
        QGuiApplication.instance().applicationStateChanged.connect(self._app_state_changed)
        self._prediction_changed(None)
        self.show_count()

    def _app_state_changed(self, state) -> None:
        """Back in the app: samples kept or removed meanwhile in another of its windows, or by the
        personalise command, are counted and shown."""
        if state == Qt.ApplicationState.ApplicationActive and self.store.reload():
            self.show_count()
            if self._dialog is not None:
                self._dialog.refresh()

    def _reads_digits(self) -> bool:
        """Whether the active model reads digits: one of other classes (Fashion-MNIST's) has no handwriting to learn."""
        return are_digits(self.active.predictor.class_names)

    def _prediction_changed(self, prediction) -> None:
        has_drawing = (prediction is not None and prediction.digit is not None and self._reads_digits()
                       and not self.draw_tab.is_number())  # a sample is one digit
        self.confirm_button.setEnabled(has_drawing)
        if has_drawing:
            self.confirm_button.setText(f"✓ It is a {self._asked if self._asked is not None else prediction.digit}")
        else:
            self.confirm_button.setText("✓ Correct")
        for b in self.label_buttons:
            b.setEnabled(has_drawing)

    def show_count(self, prefix: str = "", suffix: str = "") -> None:
        """The status line: how many personal samples there are, between ``prefix`` and ``suffix``."""
        n = len(self.store)
        text = f"{n} personal sample{'s' if n != 1 else ''}" if n else "No personal samples yet: confirm or correct a few predictions."
        if not self._reads_digits():
            text = (f"A model of {self.active.predictor.metadata.get('dataset', 'other classes')}: your handwriting "
                    "teaches digit models only.")
        self.status.setStyleSheet(f"color: {MUTED}" if not prefix else "")
        self.status.setText(prefix + text + suffix)
        self._enable_actions()

    def _enable_actions(self) -> None:
        """Personalise and Teach each digit: not while Personalise runs, nor for a model that does not read digits
        (a guided round under way can still be stopped; it ends with Personalise)."""
        digits, idle = self._reads_digits(), self._worker is None
        self.personalise_button.setEnabled(len(self.store) > 0 and idle and digits and self._asked is None)
        self.teach_button.setEnabled((digits or self._asked is not None) and idle)

    # --- samples -------------------------------------------------------------------------------
    def confirm(self) -> None:
        """Keep the drawing as the digit asked for, in a guided round, or else as the digit read."""
        prediction = self.draw_tab.last_prediction
        if prediction is not None and prediction.digit is not None:
            self.save_as(self._asked if self._asked is not None else prediction.digit)

    def save_as(self, label: int) -> None:
        """Keep the drawing on the canvas with this label, then clear it for the next one."""
        if self.draw_tab.last_prediction is None or self.draw_tab.canvas.is_empty():
            return
        if self.draw_tab.is_number():
            self._show_problem("Not kept: a sample is one digit, and the canvas holds several. Draw one at a time.")
            return
        canvas = self.draw_tab.canvas
        picture, from_test_set = canvas.render_array(), canvas.shows_test_image()
        corrected = label != self.draw_tab.last_prediction.digit
        try:
            sample = self.store.add(picture, label)
        except (PersonalDataError, OSError) as exc:
            self._show_problem(f"Not saved: {exc}")
            return
        canvas.clear()
        self._kept_now(KeptSample(sample, picture, self._asked, corrected, from_test_set, canvas.history_mark()))

    def _kept_now(self, kept: KeptSample) -> None:
        """A sample was kept (or kept again by Redo): say so and, in a guided round, ask for the next digit."""
        self._kept, self._taken_back = kept, None
        label = kept.sample.label
        undo = QKeySequence(QKeySequence.StandardKey.Undo).toString(QKeySequence.SequenceFormat.NativeText)
        if kept.asked is not None and self._asked is not None:  # the next digit; another digit's key asks again
            self._ask(kept.asked + 1 if label == kept.asked else kept.asked, f"Kept as {label} ({undo} takes it back) · ")
            return
        advice = f" · Personalise to teach it your {label}s" if kept.corrected else ""
        if kept.from_test_set:  # teaching the model a test digit flatters that test set's score afterwards
            advice += " · This digit is from a test set: after Personalise, that set's score counts a digit it was taught"
        self.show_count(f"Saved as {label} ({self.store.counts()[label]} of this digit; {undo} takes it back) · ", advice)

    def _show_problem(self, text: str) -> None:
        self.status.setStyleSheet(f"color: {BAD}")
        self.status.setText(text)

    def _take_back(self, brought_back) -> None:
        """Undo brought back the drawing last kept: the store loses its sample."""
        if self._kept is None or brought_back is not self._kept.mark:
            return
        kept, self._kept = self._kept, None
        label = kept.sample.label
        try:
            self.store.remove([kept.sample.id])
        except (PersonalDataError, OSError) as exc:
            self._show_problem(f"The sample of a {label} was not taken back: {exc}")
            return
        self._taken_back = kept._replace(mark=self.draw_tab.canvas.redo_mark())
        if kept.asked is not None and self._asked is not None:  # the round asks again for the digit it asked for then
            self._ask(kept.asked, f"Took back the {label} · ")
        else:
            self.show_count(f"Took back the sample of a {label} · ")

    def _keep_again(self, brought_back) -> None:
        """Redo cleared again the drawing Undo took back: it is kept again, as before."""
        if self._taken_back is None or brought_back is not self._taken_back.mark:
            return
        taken, self._taken_back = self._taken_back, None
        try:
            sample = self.store.add(taken.picture, taken.sample.label)
        except (PersonalDataError, OSError) as exc:
            self._show_problem(f"The sample of a {taken.sample.label} was not kept again: {exc}")
            return
        self._kept_now(taken._replace(sample=sample, mark=self.draw_tab.canvas.history_mark()))

    # --- a guided round: each digit once, then Personalise ---------------------------------------
    def toggle_teaching(self) -> None:
        if self._asked is None:
            self.draw_tab.canvas.clear()
            self._ask(0)
        else:
            self._end_teaching()
            self.show_count("Teaching stopped; the digits drawn are kept · ")

    def _ask(self, digit: int, prefix: str = "") -> None:
        if digit == 10:
            self._end_teaching()
            self.start_personalise()
            return
        self._asked = digit
        self.teach_button.setText("Stop teaching")
        self._enable_actions()
        self.draw_tab.canvas.set_hint(f"Draw a {digit}")
        self.status.setStyleSheet("")
        self.status.setText(f"{prefix}Draw a {digit} the way you usually write it, then press Enter ({digit + 1} of 10; "
                            "Personalise starts after the 9).")
        self._prediction_changed(self.draw_tab.last_prediction)

    def _end_teaching(self) -> None:
        self._asked = None
        self.draw_tab.canvas.set_hint()
        self.teach_button.setText(TEACH)
        self._prediction_changed(self.draw_tab.last_prediction)

    def browse(self) -> None:
        dialog = self._dialog = SamplesDialog(self.store, self.settings, self)
        dialog.exec()
        self._dialog = None
        dialog.deleteLater()  # a child of the panel: without this, every visit would leave one behind
        self.show_count()

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
        self.teach_button.setEnabled(False)

        def work():  # reading and preparing every sample's drawing is slow work too: off the GUI thread
            def loading(*args):  # the first use may download MNIST or draw the pen digits (a minute or two)
                event = Downloading(*args)
                worker.report(f"{event.what}…" + (f" {event.done / event.total:.0%}" if event.total else ""))

            rehearsal = rehearsal_dataset(predictor.metadata, progress=loading)
            images, labels, skipped = store.tensors()
            result = personalise(predictor.model, (images, labels), rehearsal,
                                 progress=lambda step, steps: worker.report(f"{running}: {step / steps:.0%}"))
            return result, skipped

        worker = self._worker = FunctionWorker(work)
        worker.progress.connect(self.status.setText)
        worker.succeeded.connect(lambda outcome: self._finished(*outcome, predictor))
        worker.failed.connect(self._failed)
        worker.done.connect(self._done)
        start_in_thread(worker, self, "personalise")

    def _done(self) -> None:
        self._worker = None
        self._enable_actions()

    def stop_work(self) -> None:
        """End Personalise at its next report (the window closing); the samples stay."""
        if self._worker is not None:
            self._worker.stop()

    def _failed(self, exc: Exception) -> None:
        self._show_problem(f"Personalising failed: {exc or type(exc).__name__}. The active model was not changed.")

    def _finished(self, result, skipped: tuple[str, ...], base: Predictor) -> None:
        metadata = personalised_metadata(base.metadata, result)
        path = personalised_path()
        try:
            save_checkpoint(path, result.model, metadata)
            where = "saved in your models folder"
        except SaveError as exc:  # keep the model in memory, unsaved, rather than lose it
            path, where = None, f"not saved ({exc}): File → Save model keeps it"
        self.active.set(Predictor(result.model, "cpu", metadata), path, saved=path is not None)
        self.status.setStyleSheet(f"color: {GOOD}")
        self.status.setText(f"Personalised in {result.seconds:.0f} s: {result.summary()}. "
                            f"It is now the active model ({where}). {left_out_note(skipped)}".strip(), str(path or ""))


class SampleThumbnails(QAbstractListModel):
    """The personal samples for a list view. A drawing is read and shrunk only when its row is
    shown, so the dialog opens at once however many samples there are."""

    def __init__(self, store: PersonalSamples, parent=None):
        super().__init__(parent)
        self.store = store
        self._samples = store.samples()
        self._icons: dict[str, QIcon] = {}

    def reload(self) -> None:
        self.beginResetModel()
        self._samples = self.store.samples()
        kept = {s.id for s in self._samples}
        self._icons = {i: icon for i, icon in self._icons.items() if i in kept}  # a relabel keeps its drawing
        self.endResetModel()

    def loaded(self) -> int:
        """How many drawings have been read so far."""
        return len(self._icons)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._samples)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        sample = self._samples[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return str(sample.label)
        if role == Qt.ItemDataRole.DecorationRole:
            if sample.id not in self._icons:
                self._icons[sample.id] = self._thumbnail(sample)
            return self._icons[sample.id]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"label {sample.label}, saved {sample.created}"
        if role == Qt.ItemDataRole.UserRole:
            return sample.id
        return None

    def _thumbnail(self, sample) -> QIcon:
        try:
            drawing = self.store.image(sample).astype(np.float32) / 255  # as drawn: a canvas, or 28×28 if imported
        except (OSError, ValueError) as exc:  # a damaged file shows as a blank tile, not a broken dialog
            log.warning("cannot show personal sample %s: %s", sample.path, exc)
            return QIcon()
        pixmap = array_to_pixmap(drawing, 1)
        side = round(THUMBNAIL * pixmap.devicePixelRatio())
        thumbnail = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        thumbnail.setDevicePixelRatio(pixmap.devicePixelRatio())
        return QIcon(thumbnail)


class SamplesDialog(QDialog):
    """Browse, relabel, delete, clear, export and import the personal samples."""

    def __init__(self, store: PersonalSamples, settings: QSettings | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("My handwriting samples")
        self.resize(720, 520)
        self.store = store
        self.settings = settings or QSettings()
        self._worker = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)  # a note can name a long path
        self.thumbnails = SampleThumbnails(store, self)
        self.grid = QListView()
        self.grid.setModel(self.thumbnails)
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.grid.setGridSize(QSize(84, 96))
        self.grid.setUniformItemSizes(True)  # laid out without reading every drawing
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.grid.doubleClicked.connect(lambda _index: self.relabel())
        buttons = QGridLayout()
        self.buttons = []
        for col, (text, slot) in enumerate((("Relabel…", self.relabel), ("Delete", self.delete), ("Clear all…", self.clear),
                                            ("Export CSV…", self.export), ("Import CSV…", self.import_csv),
                                            ("Import pictures…", self.choose_pictures))):
            b = QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b, 0, col)
            self.buttons.append(b)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.grid, 1)
        layout.addLayout(buttons)
        layout.addWidget(close)
        self._show_summary()

    def refresh(self, note: str = "") -> None:
        self.thumbnails.reload()
        self._show_summary(note)

    def _show_summary(self, note: str = "") -> None:
        counts = self.store.counts()
        self.summary.setText(f"{len(self.store)} samples · per digit: " + "  ".join(f"{d}:{n}" for d, n in enumerate(counts))
                             + f"\nStored in {shown(self.store.folder)}" + (f"\n{note.strip()}" if note.strip() else ""))

    def _selected_ids(self) -> list[str]:
        return [index.data(Qt.ItemDataRole.UserRole) for index in self.grid.selectionModel().selectedIndexes()]

    def relabel(self) -> None:
        ids = self._selected_ids()
        if not ids:
            return
        label, ok = QInputDialog.getInt(self, "Relabel", f"Digit for {len(ids)} sample(s):", 0, 0, 9)
        if ok:
            self._change(lambda: self.store.relabel(ids, label))

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Delete):  # the Delete key, as in a file manager
            self.delete()
        else:
            super().keyPressEvent(event)

    def delete(self) -> None:
        ids = self._selected_ids()
        if ids and QMessageBox.question(self, "Delete samples", f"Delete the {len(ids)} selected sample{'s' if len(ids) > 1 else ''}? "
                                        "Their drawings are removed from disk.") == QMessageBox.StandardButton.Yes:
            self._change(lambda: self.store.remove(ids))

    def clear(self) -> None:
        if len(self.store) and QMessageBox.question(self, "Clear all samples",
                                                    f"Delete all {len(self.store)} personal samples?") == QMessageBox.StandardButton.Yes:
            self._change(self.store.clear)

    def _change(self, change) -> None:
        try:
            change()
        except (OSError, PersonalDataError) as exc:  # e.g. the folder became read-only
            log.warning("personal samples not changed: %s", exc)
            QMessageBox.warning(self, "Could not change the samples", str(exc))
        self.refresh()

    # --- CSV, in a worker: thousands of drawings take seconds ---------------------------------------
    @property
    def busy(self) -> bool:
        return self._worker is not None

    def export(self) -> None:
        folder = remembered(self.settings, "last_samples_dir") or str(Path.home())
        path = choose_save_path(self, "Export samples", Path(folder) / "my-digits.csv", "CSV (*.csv)")
        if path:
            remember(self.settings, "last_samples_dir", str(Path(path).parent))
            self._run("Exporting", "samples", lambda progress: self.store.export_csv(path, progress),
                      lambda outcome: self.refresh(f"Exported {outcome[0]} samples to {path}. {left_out_note(outcome[1])}"),
                      "Export failed")

    def import_csv(self) -> None:
        folder = remembered(self.settings, "last_samples_dir")
        path, _ = QFileDialog.getOpenFileName(self, "Import samples", folder, "CSV (*.csv);;All files (*)")
        if path:
            remember(self.settings, "last_samples_dir", str(Path(path).parent))
            self._run("Importing", "rows", lambda progress: self.store.import_csv(path, progress),
                      lambda n: self.refresh(f"Imported {n} samples."), "Import failed")

    def choose_pictures(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import pictures: a folder with subfolders 0 to 9",
                                                  remembered(self.settings, "last_samples_dir"))
        if folder:
            remember(self.settings, "last_samples_dir", str(Path(folder).parent))
            self.import_pictures(Path(folder))

    def import_pictures(self, folder: Path) -> None:
        """Add every picture of a folder sorted by digit (0/ … 9/), each labelled by its subfolder."""
        def imported(outcome) -> None:
            added, skipped = outcome
            self.refresh(f"Imported {added} samples from {folder.name}. {left_out_note(skipped)}")

        self._run("Importing", "pictures", lambda progress: self.store.import_digits(folder, progress),
                  imported, "Import failed")

    def _run(self, doing: str, unit: str, work, succeeded, failure_title: str) -> None:
        """``work(progress)`` in a worker, behind a progress dialog; the samples dialog waits for it."""
        if self.busy:
            return
        progress = QProgressDialog(f"{doing}…", None, 0, 0, self)  # no Cancel: a stopped import would keep some rows, not others
        progress.setWindowTitle("My handwriting samples")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        QTimer.singleShot(300, lambda: self._worker is worker and progress.show())  # only if it takes a while
        for b in self.buttons:
            b.setEnabled(False)
        worker = self._worker = FunctionWorker(
            lambda: work(lambda done, total: worker.progress.emit(f"{doing}… {done:,} of {total:,} {unit}")))
        worker.progress.connect(progress.setLabelText)
        worker.succeeded.connect(succeeded)
        before = len(self.store)
        worker.failed.connect(lambda exc: self._failed(failure_title, exc, len(self.store) - before))
        worker.done.connect(lambda: self._done(progress))
        start_in_thread(worker, self, "samples")

    def _failed(self, title: str, exc: Exception, added: int) -> None:
        log.warning("%s: %s", title, exc)
        self.refresh()  # a full disk can stop an import part-way: what was stored is kept and shown
        kept = f"{added} samples were added before it stopped; they are kept." if added else "Your samples are unchanged."
        QMessageBox.warning(self, title, f"{exc}\n\n{kept}")

    def _done(self, progress: QProgressDialog) -> None:
        self._worker = None
        progress.close()
        progress.deleteLater()  # and its own show-after-a-while timer with it
        for b in self.buttons:
            b.setEnabled(True)

    def reject(self) -> None:
        if not self.busy:  # closing mid-import would leave the worker writing to a dialog that is gone
            super().reject()
