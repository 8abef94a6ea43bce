"""The Evaluate tab: test-set accuracy, per-class (and per-writer) accuracy, a clickable confusion matrix, galleries
(drawn by gui/evaluate_views.py), the map of the digits, and turned and moved."""

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from engine.checkpoint import atomic_write_text
from engine.datasets import DIGITS, PEN, are_digits, class_noun, items_noun
from engine.evaluate import CONFIDENCE_BINS, EvalResult, default_test_set, evaluate_on, mismatch_note
from engine.calibrate import confidence_bin
from engine.digit_map import ITERATIONS, MAP_LIMIT, DigitMap, digit_map, map_sample, place_inputs
from engine.personal import PersonalSamples
from engine.predict import UNSURE_RULE, Predictor
from engine.testsets import files_left_out, left_out_note
from gui.digit_map_view import DRAWING, SAMPLE, DigitMapPlot
from gui.draw_tab import array_to_pixmap
from gui.evaluate_views import (
    GALLERY_LIMIT, ConfidencePlot, ConfusionMatrix, Gallery, WriterAccuracy, sample_source, set_name,
)
from gui.export import add_picture_menu, choose_save_path, save_or_explain
from gui.invariance_view import InvarianceView
from gui.settings import remember, remembered
from gui.style import ACCENT, BAD, MUTED, ClampedLabel, section_label, set_class_ticks
from gui.workers import FunctionWorker, start_in_thread

MOST_ALIKE = 30  # the digits shown as those the network finds most like one picked on the map


# The test sets a user can score on: MNIST's, the pen writers no shipped model trained on, Fashion-MNIST.
TEST_SETS = {"mnist": "MNIST test set (10,000)", PEN: "Pen digits: 6 held-out writers (1,499)",
             "fashion-mnist": "Fashion-MNIST test set (10,000)"}
# Digits a user brings (engine/testsets.py), offered after the test sets; picking one asks where they are.
YOUR_DIGITS = {"pictures": "Your pictures: a folder, one subfolder per digit…",
               "pen file": "Your pen trajectories: a UNIPEN file…"}
PEN_FILE_FILTER = "UNIPEN files (*.txt *.tra *.tes *.dat *.gz);;All files (*)"
SKIPPED_SHOWN = 20  # files left out listed in the tooltip


def test_set_for(predictor: Predictor) -> str:
    """The model's own test set when the tab offers it, else MNIST's."""
    own = default_test_set(predictor.metadata)
    return own if own in TEST_SETS else "mnist"


MAP_PENDING = "The map is laid out once the test set is scored."


def samples_on_map(model, made: DigitMap, personal: PersonalSamples):
    """Where the user's own samples go on the map, their labels, what the network made of each, and the
    samples left out because their file cannot be read."""
    images, labels, skipped = personal.tensors()
    at, features = place_inputs(model, made, images)
    return at, labels.numpy(), features, skipped


class EvaluateTab(QWidget):
    activity = Signal(str)
    # A thumbnail double-clicked: where it came from, its label and the input the network read (PreparedImage).
    sampleOpened = Signal(str, str, object)

    def __init__(self, settings: QSettings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or QSettings()
        self.predictor: Predictor | None = None
        self.result: EvalResult | None = None
        self.data = None  # the test set last scored
        self._stale = True
        self._worker = None
        self._scoring = None  # (model, test set) of the run under way
        self.digit_map: DigitMap | None = None  # the map of the result shown, once laid out
        self._map_worker = None
        self._drawing: np.ndarray | None = None  # the Draw tab's input, to be put on the map
        self._likes_wanted = False  # the digits most like the drawing asked for before the map was laid out
        self.personal: PersonalSamples | None = None  # the user's own samples, shown on the map as diamonds
        self._yours_worker = None
        self._yours_shown: tuple | None = None  # the samples (id, label) the diamonds show; None: none for this map
        self._yours_placing: tuple | None = None
        self._yours_features = torch.empty(0, 0)
        self.run_button = QPushButton("Evaluate on the test set")
        self.run_button.setObjectName("evaluateButton")
        self.run_button.clicked.connect(self.start)
        self.test_set = QComboBox()
        self.test_set.setObjectName("testSet")
        self.test_set.setToolTip("Which test images to read: none of them were seen in training")
        for name, title in TEST_SETS.items():
            self.test_set.addItem(title, name)
        self.test_set.insertSeparator(len(TEST_SETS))
        for kind, title in YOUR_DIGITS.items():
            self.test_set.addItem(title, kind)
        self._picked = 0  # the chooser's entry being shown, to go back to when a file dialog is cancelled
        self.test_set.activated.connect(self._test_set_picked)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setObjectName("exportEvaluation")
        self.export_button.setToolTip("The confusion matrix with each digit's count and accuracy (and each writer's, for pen digits), for a spreadsheet")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.choose_csv)
        self.accuracy_label = QLabel("Evaluates the active model on a test set it never trained on.")
        self.accuracy_label.setObjectName("evaluationAccuracy")
        font = QFont()
        font.setPointSize(14)
        font.setBold(True)
        self.accuracy_label.setFont(font)
        self.accuracy_label.setWordWrap(True)  # a long file name wraps rather than widening the window
        self.left_out = QLabel()  # the user's files that could not be read
        self.left_out.setObjectName("evaluationLeftOut")
        self.left_out.setStyleSheet(f"color: {MUTED}")
        self.left_out.setWordWrap(True)
        self.left_out.hide()
        self.per_class = pg.PlotWidget(background=None, title="Per-class accuracy")
        self.per_class.setMenuEnabled(False)
        self.per_class.setMouseEnabled(False, False)
        set_class_ticks(self.per_class.getAxis("bottom"), DIGITS)
        self.per_class_bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=ACCENT)  # none until a result
        self.per_class.addItem(self.per_class_bars)
        self.per_class.setXRange(-0.5, 9.5)
        self.per_class.setYRange(0.0, 1.0)  # until the first result
        self.confidence = ConfidencePlot()
        self.confidence.setObjectName("confidencePlot")
        self.confidence.barClicked.connect(self.show_as_sure_as)
        self.questioning = QLabel("")
        self.questioning.setStyleSheet(f"color: {MUTED}")
        self.questioning.setToolTip(UNSURE_RULE)
        self.per_writer = WriterAccuracy()  # shown when the test set knows its writers (pen digits)
        self.per_writer.setObjectName("perWriterAccuracy")
        self.per_writer.hide()
        self.per_writer.writerClicked.connect(self.show_writer)
        self.confusion = ConfusionMatrix()
        add_picture_menu(self.confusion, "confusion-matrix")
        add_picture_menu(self.per_class, "per-class-accuracy")
        add_picture_menu(self.confidence, "confidence")
        add_picture_menu(self.per_writer, "per-writer-accuracy")
        self.confusion.cellClicked.connect(self.show_cell)
        self.cell_title = section_label("Click a cell of the confusion matrix")
        self.cell_gallery = Gallery()
        self.cell_gallery.setObjectName("cellGallery")
        self.errors_title = section_label("Misclassified test images")
        self.errors_gallery = Gallery()
        self.errors_gallery.setObjectName("errorsGallery")
        for gallery in (self.cell_gallery, self.errors_gallery):
            gallery.opened.connect(self._open_sample)
        for title in (self.cell_title, self.errors_title):
            title.setWordWrap(True)  # a long title takes a second line rather than widening the window

        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.test_set)
        top.addWidget(self.accuracy_label, 1)
        top.addWidget(self.export_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        confidence_page = QWidget()
        confidence_layout = QVBoxLayout(confidence_page)
        confidence_layout.setContentsMargins(0, 0, 0, 0)
        confidence_layout.addWidget(self.confidence, 1)
        confidence_layout.addWidget(self.questioning)
        self.views = QTabWidget()  # the three pictures of the whole test set, each given the room it needs
        self.views.setDocumentMode(True)
        self.views.addTab(self.confusion, "Confusion matrix")
        self.views.addTab(confidence_page, "How sure vs how often right")
        self.views.setTabToolTip(0, "Which digit was read as which: click a cell to see its digits")
        self.views.setTabToolTip(1, "Are its probabilities honest? The answers grouped by how sure the model was, "
                                    "and how often each group was right: click a bar to see its answers")
        self.map_plot = DigitMapPlot()
        self.map_plot.setObjectName("digitMap")
        self.map_plot.picked.connect(self.show_most_alike)
        add_picture_menu(self.map_plot, "digit-map")
        self.map_caption = ClampedLabel(lines=4)  # three about the map, one about your drawing on it
        self.map_caption.setStyleSheet(f"color: {MUTED}")
        self.map_caption.setText(MAP_PENDING)
        self.map_page = QWidget()
        map_layout = QVBoxLayout(self.map_page)
        map_layout.setContentsMargins(0, 0, 0, 0)
        map_layout.addWidget(self.map_plot, 1)
        map_layout.addWidget(self.map_caption)
        self.views.addTab(self.map_page, "Map of the digits")
        self.views.setTabToolTip(2, "How the network sorts the digits: each test digit placed near those its last hidden "
                                    "layer makes alike (t-SNE), your drawing among them: click a dot to see the digits "
                                    "most like it")
        self.invariance = InvarianceView()
        self.views.addTab(self.invariance, "Turned and moved")
        self.views.setTabToolTip(3, "Your drawing turned, moved, resized, slanted or made bolder, step by step, and "
                                    "what the network reads at each step: how far can a digit change and still be read?")
        self.views.currentChanged.connect(lambda _index: self._map_wanted())
        left_layout.addWidget(self.views, 3)
        left_layout.addWidget(self.per_class, 1)
        left_layout.addWidget(self.per_writer, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.cell_title)
        right_layout.addWidget(self.cell_gallery, 1)
        right_layout.addWidget(self.errors_title)
        right_layout.addWidget(self.errors_gallery, 1)
        splitter = QSplitter()
        splitter.setObjectName("evaluateSplitter")
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([560, 640])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.left_out)
        layout.addWidget(splitter, 1)

    def restore_state(self, store: QSettings) -> None:
        self.views.setCurrentIndex(remembered(store, "evaluate_view"))
        self.invariance.choose(remembered(store, "turned_and_moved"))

    def save_state(self, store: QSettings) -> None:
        remember(store, "evaluate_view", self.views.currentIndex())
        remember(store, "turned_and_moved", self.invariance.change.currentData())

    def set_model(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.invariance.set_predictor(predictor)
        self._forget_map()
        if not isinstance(self.test_set.currentData(), Path):  # the user's own digits stay chosen
            self.test_set.setCurrentIndex(max(0, self.test_set.findData(test_set_for(predictor))))
            self._picked = self.test_set.currentIndex()
        self._stale = True
        if self.isVisible():
            self.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale and self.predictor is not None:
            self.start()
        else:
            self._map_wanted()
            self._place_drawing()  # drawn while the tab was hidden
            self._place_yours()  # samples added or removed meanwhile

    def _test_set_picked(self, index: int) -> None:
        kind = self.test_set.itemData(index)
        if kind in YOUR_DIGITS:
            path = self.ask_for_digits(kind)
            if path is None:
                self.test_set.setCurrentIndex(self._picked)
                return
            self.use_digits(path)
        self._picked = self.test_set.currentIndex()
        self.start()

    def ask_for_digits(self, kind: str) -> Path | None:
        folder = remembered(self.settings, "last_test_set_dir") or str(Path.home())
        if kind == "pictures":
            path = QFileDialog.getExistingDirectory(self, "Score on your pictures: a folder with subfolders 0 to 9", folder)
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Score on your pen trajectories", folder, PEN_FILE_FILTER)
        if not path:
            return None
        remember(self.settings, "last_test_set_dir", str(Path(path).parent))
        return Path(path)

    def use_digits(self, path: Path) -> None:
        """Put the user's digits among the test sets (one entry, replaced by the next) and choose it."""
        index = next((i for i in range(self.test_set.count()) if isinstance(self.test_set.itemData(i), Path)), None)
        if index is None:
            index = len(TEST_SETS)
            self.test_set.insertItem(index, "", path)
        self.test_set.setItemText(index, f"Your digits: {path.name}")
        self.test_set.setItemData(index, path)
        self.test_set.setItemData(index, str(path), Qt.ItemDataRole.ToolTipRole)
        self.test_set.setCurrentIndex(index)

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self) -> None:
        if self.running:
            if self._scoring != (self.predictor, self.test_set.currentData()):  # another set or model meanwhile:
                self._stale = True  # the run under way is of no use; this one starts as soon as it has stopped
                self._worker.stop()
            return
        if self.predictor is None:
            return
        self._stale = False
        self.run_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.accuracy_label.setText("Evaluating on the test set…")
        self.left_out.hide()
        self.accuracy_label.setStyleSheet(f"color: {MUTED}")
        self.activity.emit("Evaluating…")

        def report(label, done, total=None, _unit=None):  # a download, drawing pen digits, reading files, scoring
            worker.report(f"{label[:1].upper()}{label[1:]}… " + (f"{done / total:.0%}" if total else ""))

        self._scoring = (self.predictor, self.test_set.currentData())
        worker = self._worker = FunctionWorker(evaluate_on, *self._scoring, None, report)
        worker.progress.connect(self.accuracy_label.setText)
        self._worker.succeeded.connect(self._show_result)
        self._worker.failed.connect(self._show_error)
        self._worker.done.connect(self._done)
        start_in_thread(self._worker, self, "evaluation")

    def _done(self) -> None:
        self._worker = None
        self.run_button.setEnabled(True)
        if self._stale and self.isVisible():
            self.start()
        else:
            self._map_wanted()

    def _show_error(self, exc: Exception) -> None:
        self.accuracy_label.setText(f"Evaluation failed: {exc or type(exc).__name__}")
        self.accuracy_label.setStyleSheet(f"color: {BAD}")
        self.activity.emit("Evaluation failed")

    def _show_result(self, outcome) -> None:
        data, result = outcome
        self.data, self.result = data, result
        n, errors = int(result.confusion.sum()), len(result.misclassified())
        if data.test_sources:  # the user's own digits
            what = f"of your digits in {data.name}"
        else:
            what = "pen digits of held-out writers" if data.name == PEN else f"{set_name(data)} test images"
        note = mismatch_note(self.predictor.metadata, data)
        self.accuracy_label.setStyleSheet(f"color: {BAD}" if note else "")
        self.accuracy_label.setText(f"Accuracy {result.accuracy:.2%} on {n:,} {what} · {errors} mistakes"
                                    + (f"\n{note}" if note else ""))
        self._show_left_out(data.skipped)
        self.per_class_bars.setOpts(x=np.arange(len(result.per_class_accuracy)), height=result.per_class_accuracy)
        low = float(np.nanmin(result.per_class_accuracy))
        self.per_class.setYRange(max(0.0, low - 0.02), 1.0)
        self.confidence.show_result(result)
        self.questioning.setText(result.confidence_line())
        self.per_writer.setVisible(result.writers is not None)
        self.per_writer.set_writers(result.per_writer())
        self.confusion.set_matrix(result.confusion, data.class_names)
        set_class_ticks(self.per_class.getAxis("bottom"), data.class_names)
        # Most confident mistakes first: those are the most instructive.
        order = result.misclassified()[np.argsort(-result.probabilities[result.misclassified()].max(1))]
        self.errors_title.setText(f"MISCLASSIFIED TEST IMAGES ({errors}, most confident first)")
        self.errors_gallery.show_samples(data, result, order)
        worst = np.unravel_index(np.argmax(result.confusion - np.diag(np.diag(result.confusion))), result.confusion.shape)
        self.confusion.select(*map(int, worst))
        self.show_cell(*map(int, worst))
        self.export_button.setEnabled(True)
        self.activity.emit(f"Evaluated: {result.accuracy:.2%}")
        self._forget_map()

    def _show_left_out(self, skipped: tuple[str, ...]) -> None:
        """Name the user's files that could not be read, the first in full, the rest in a tooltip."""
        self.left_out.setVisible(bool(skipped))
        if not skipped:
            return
        count = files_left_out(skipped) + (" (hover for all)" if len(skipped) > 1 else "")
        self.left_out.setText(f"{count}: {skipped[0]}")
        shown = skipped[:SKIPPED_SHOWN]
        more = len(skipped) - len(shown)
        self.left_out.setToolTip("\n".join(shown) + (f"\n… and {more} more" if more > 0 else ""))

    def choose_csv(self) -> None:
        if self.result is None:
            return
        path = choose_save_path(self, "Export the evaluation", Path.home() / f"evaluation-{self.data.name}.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: Path) -> bool:
        text = self.result.to_csv(self.data.class_names)
        if not save_or_explain(self, "the evaluation", lambda: atomic_write_text(path, text)):
            return False
        self.activity.emit(f"Exported the evaluation to {path}")
        return True

    def _open_sample(self, index: int) -> None:
        label = self.data.class_names[int(self.data.test_labels[index])]
        self.sampleOpened.emit(sample_source(self.data, index), label, self.data.test_input(index))

    def show_cell(self, true: int, predicted: int) -> None:
        if self.result is None:
            return
        indices = self.result.cell(true, predicted)
        names = self.data.class_names
        what = "correct" if true == predicted else "confused"
        self.cell_title.setText(f"TRUE {names[true]}, PREDICTED {names[predicted]}: {len(indices)} image{'' if len(indices) == 1 else 's'} ({what})"
                                + (f", first {GALLERY_LIMIT} shown" if len(indices) > GALLERY_LIMIT else ""))
        self.per_writer.clear_selection()
        self.cell_gallery.show_samples(self.data, self.result, indices)

    def show_as_sure_as(self, confidence: float) -> None:
        """The answers about as sure as ``confidence`` (one bar of how sure vs how often right), least sure first."""
        if self.result is None:
            return
        indices = self.result.as_sure_as(confidence)
        bin_ = confidence_bin(confidence, CONFIDENCE_BINS)
        low, high = bin_ / CONFIDENCE_BINS, (bin_ + 1) / CONFIDENCE_BINS
        right = int((self.result.predictions[indices] == self.result.labels[indices]).sum())
        self.cell_title.setText(f"ANSWERS {low:.0%} TO {high:.0%} SURE: {len(indices)}, {right} RIGHT (least sure first)"
                                + (f", first {GALLERY_LIMIT} shown" if len(indices) > GALLERY_LIMIT else ""))
        self.confusion.clear_selection()
        self.per_writer.clear_selection()
        self.cell_gallery.show_samples(self.data, self.result, indices)

    def show_writer(self, writer: int) -> None:
        """All of one writer's digits, mistakes first, in the gallery a confusion cell fills."""
        if self.result is None or self.result.writers is None:
            return
        theirs = np.flatnonzero(self.result.writers == writer)
        wrong = self.result.predictions[theirs] != self.result.labels[theirs]
        order = np.concatenate([theirs[wrong], theirs[~wrong]])
        self.cell_title.setText(f"WRITER {writer}: {len(theirs)} digits, {int(wrong.sum())} misread (first)"
                                + (f", first {GALLERY_LIMIT} shown" if len(theirs) > GALLERY_LIMIT else ""))
        self.confusion.clear_selection()
        self.per_writer.select(writer)
        self.cell_gallery.show_samples(self.data, self.result, order)

    # The map: laid out when it is first looked at (seconds of work), again for each new result.

    def _stop_map(self) -> None:
        """End a map being laid out; nothing it sends after counts (``_from_map_worker``)."""
        if self._map_worker is not None:
            self._map_worker.stop()
            self._map_worker = None

    def _forget_map(self) -> None:
        self._stop_map()  # a map being laid out belongs to the result before
        self._yours_worker = None
        self._yours_shown = None
        self.digit_map = None
        self.map_plot.set_digits(np.zeros(0, int), np.zeros(0, int), (), [])
        self.map_caption.setText(MAP_PENDING)

    def _map_wanted(self) -> None:
        if (self.views.currentWidget() is self.map_page and self.isVisible() and self.result is not None
                and self.digit_map is None and self._map_worker is None and not self.running):
            self.start_map()

    def start_map(self) -> None:
        indices = map_sample(self.result, MAP_LIMIT)
        self._set_map_digits(indices)
        worker = self._map_worker = FunctionWorker(
            digit_map, self.predictor.model, self.data.test_images, indices,
            lambda step, points: (worker.partial.emit(points), worker.progress.emit(f"step {step} of {ITERATIONS}")),
            lambda: worker.stopping.is_set())
        self.map_caption.setText(self._placing())
        # Bound methods, so that each arrives queued on the GUI thread, in the order it was sent.
        worker.progress.connect(self._map_progress)
        worker.partial.connect(self._map_forming)
        worker.succeeded.connect(self._show_map)
        worker.failed.connect(self._map_failed)
        worker.done.connect(self._map_done)
        start_in_thread(worker, self, "digit-map")

    def stop_work(self) -> None:
        """The window closing: end the scoring of a test set (or its download, or first drawing) at its next
        report, and a map being laid out, and let nothing either sends after start more work."""
        if self._worker is not None:
            self._worker.stop()
        self._stale = False
        self._stop_map()

    def _from_map_worker(self) -> bool:
        """Whether the signal being handled comes from the map being laid out now, not from one forgotten."""
        return self._map_worker is not None and self.sender() is self._map_worker

    def _placing(self) -> str:
        return f"Placing {len(self.map_plot.labels):,} digits by what the network makes of them…"

    def _map_progress(self, steps: str) -> None:
        if self._from_map_worker():
            self.map_caption.setText(f"{self._placing()} {steps}")

    def _map_forming(self, points: np.ndarray) -> None:
        if self._from_map_worker():
            self.map_plot.show_points(points)

    def _map_done(self) -> None:
        if self._from_map_worker():
            self._map_worker = None

    def _map_failed(self, exc: Exception) -> None:
        if self._from_map_worker():
            self.map_caption.setText(f"The map could not be made: {exc or type(exc).__name__}")
            self.activity.emit("The map could not be made")

    def _set_map_digits(self, indices: np.ndarray) -> None:
        result, names = self.result, self.data.class_names
        tips = []
        for i in indices:
            true, predicted = int(result.labels[i]), int(result.predictions[i])
            answer = f"read as {names[predicted]}" if predicted != true else "read right"
            tips.append(f"{sample_source(self.data, i)}: {names[true]}, {answer} ({result.probabilities[i].max():.0%})")
        self.map_plot.set_digits(result.labels[indices], result.predictions[indices], names, tips)
        self.map_plot.picture = lambda position, data=self.data: array_to_pixmap(data.test_input(int(indices[position])).pixels, 2)

    def _show_map(self, made: DigitMap) -> None:
        if not self._from_map_worker():
            return
        self.digit_map = made
        self.map_plot.show_points(made.points)
        self._place_drawing()
        if self._likes_wanted:
            self._likes_wanted = False
            self.show_most_alike(DRAWING)
        self._place_yours()

    def _map_text(self) -> str:
        made, result = self.digit_map, self.result
        noun = class_noun(self.data.class_names)
        items = items_noun(self.data.class_names)
        sample = (f"{len(made.indices):,} test {items}" if len(made.indices) == len(result.labels) else
                  f"{len(made.indices):,} of {len(result.labels):,} test {items} (all read wrong, the rest at random)")
        yours = len(self.map_plot.yours_labels)
        return (f"{sample}, each placed near those the network's last hidden layer ({made.layer}) makes alike "
                f"(t-SNE). Colour: the true {noun}; red ring: read wrong"
                + (f"; diamonds: your {yours} own sample{'s' if yours != 1 else ''}" if yours else "")
                + f". Click a dot to see the {items} most like it.")

    def set_drawing(self, pixels: np.ndarray | None) -> None:
        """The Draw tab's input (None: nothing drawn), shown on the map as a star."""
        self._drawing = pixels
        self.invariance.set_input(pixels)
        if self.isVisible():
            self._place_drawing()

    def _place_drawing(self) -> None:
        if self.digit_map is None or not len(self.digit_map.indices):
            return
        if self._drawing is None:
            self.map_plot.show_drawing(None)
            self.map_caption.setText(self._map_text())
            return
        at, near = self.digit_map.place(self.predictor.last_hidden(self._drawing))
        self.map_plot.show_drawing(at)
        names = self.data.class_names
        labels = self.result.labels[self.digit_map.indices[near]]
        counts = np.bincount(labels, minlength=len(names))
        among = ", ".join(f"{counts[k]} × {names[k]}" for k in np.argsort(-counts, kind="stable") if counts[k])
        self.map_caption.setText(self._map_text() + f"\nThe star is your drawing, among {among} (click it to see them).")

    def _place_yours(self) -> None:
        """Put the user's own samples on the map (in a worker: each is read from its file and prepared),
        when there is a map and they were added, removed or relabelled since it last showed them."""
        # Only while the tab is shown (showEvent asks again): after the window closed, no thread may start.
        # Handwritten digits have no place on the map of a model of other classes (Fashion-MNIST's).
        if (self.personal is None or self.digit_map is None or self._yours_worker is not None or not self.isVisible()
                or not are_digits(self.predictor.class_names)):
            return
        samples = tuple((sample.id, sample.label) for sample in self.personal.samples())
        if samples == self._yours_shown:
            return
        self._yours_placing = samples
        worker = self._yours_worker = FunctionWorker(samples_on_map, self.predictor.model, self.digit_map, self.personal)
        worker.succeeded.connect(self._show_yours)
        worker.failed.connect(self._yours_failed)
        worker.done.connect(self._yours_done)
        start_in_thread(worker, self, "samples-on-map")

    def _from_yours_worker(self) -> bool:
        return self._yours_worker is not None and self.sender() is self._yours_worker

    def _show_yours(self, placed) -> None:
        if not self._from_yours_worker():
            return
        at, labels, self._yours_features, skipped = placed
        self._yours_shown = self._yours_placing
        self.map_plot.show_yours(at, labels)
        if skipped:
            self.activity.emit(f"Some of your samples are not on the map: {left_out_note(skipped)}")
        self._place_drawing()  # the caption counts them

    def _yours_failed(self, exc: Exception) -> None:
        if self._from_yours_worker():
            self._yours_shown = self._yours_placing  # not tried again until the samples change
            self.activity.emit(f"Your samples could not be put on the map: {exc or type(exc).__name__}")

    def _yours_done(self) -> None:
        if self._from_yours_worker():
            self._yours_worker = None
            self._place_yours()  # samples changed while these were placed

    def show_drawing_likes(self) -> None:
        """The map, the drawing on it and the test digits most like it (at once, or once the map is laid out)."""
        self.views.setCurrentWidget(self.map_page)
        if self.digit_map is None:
            self._likes_wanted = True
        else:
            self.show_most_alike(DRAWING)

    def show_most_alike(self, kind: str, position: int = 0) -> None:
        """What was picked on the map (a test digit, the drawing or one of the user's samples) and the test
        digits the network finds most like it, in the gallery."""
        made, names = self.digit_map, self.data.class_names if self.data else ()
        if made is None:
            return
        items = items_noun(names).upper()
        if kind == DRAWING:
            if self._drawing is None:
                return
            near = made.nearest(self.predictor.last_hidden(self._drawing), MOST_ALIKE)
            title = f"THE {len(near)} {items} THE NETWORK FINDS MOST LIKE YOUR DRAWING"
        elif kind == SAMPLE:
            near = made.nearest(self._yours_features[position], MOST_ALIKE)
            label = names[int(self.map_plot.yours_labels[position])]
            title = f"THE {len(near)} {items} THE NETWORK FINDS MOST LIKE YOUR SAMPLE OF A {label}"
        else:
            near = made.nearest(made.features[position], MOST_ALIKE + 1)  # the digit itself first
            index = int(made.indices[position])
            true, predicted = int(self.result.labels[index]), int(self.result.predictions[index])
            what = f"A {names[true]} READ AS {names[predicted]}" if true != predicted else f"A {names[true]}"
            title = f"{what} (FIRST) AND THE {len(near) - 1} {items} THE NETWORK FINDS MOST LIKE IT"
        self.map_plot.choose(near)
        self.cell_title.setText(title)
        self.confusion.clear_selection()
        self.per_writer.clear_selection()
        self.cell_gallery.show_samples(self.data, self.result, made.indices[near])
