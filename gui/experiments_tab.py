"""The Experiments tab: the seed tutorials' comparisons side by side (Compare), hyper-parameter search
(Search, gui/search_panel.py) and the kept runs (Runs, gui/runs_panel.py).

Compare: a preset (or a custom choice of one or two options to vary) runs one run after another in a
worker; their curves overlay live, one colour per run, and a table lists how each did."""

import logging

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton,
    QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from engine.compare import (
    PRESETS, Comparison, RunResult, estimate_seconds, parse_vary, plain_images_per_sec, plan, preset_base,
    varied_options,
)
from engine.events import BatchEnd, EpochEnd, Evaluation, Failed, Finished
from gui.run_curves import CurveChart, run_colour
from gui.runs_panel import RunsPanel
from gui.search_panel import SearchPanel
from gui.settings import remember, remembered
from gui.style import BAD, MUTED, side_by_side
from gui.workers import JobWorker, StopsAndWaits, start_in_thread

log = logging.getLogger(__name__)
REDRAW_MS = 250
CUSTOM = "custom"
ASSUMED_IMAGES_PER_SEC = 3500  # until a run has measured this machine (digitnet, 2 CPU cores, no augmentation)


# Headings on two lines, so that every column fits beside the charts on a 1366 px screen.
COLUMNS = ("", "run", "val.\naccuracy", "test\naccuracy", "pen\nwriters", "train\naccuracy", "seconds", "to\n99 %",
           "images\nper s", "parameters")


class RunsTable(QTableWidget):
    """One row per run: a checkbox that shows or hides its curves, its colour, and its figures."""

    visibility = Signal(int, bool)

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.horizontalHeaderItem(COLUMNS.index("pen\nwriters")).setToolTip(
            "The pen digits of six writers no training set holds (1,499), as people draw: how well the run reads them")
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The figures keep their width and the run's name takes the rest, on two lines or more where it needs
        # them ("optimizer=momentum," over "lr=0.01"), so every column fits beside the charts
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().sectionResized.connect(lambda *_: self.resizeRowsToContents())
        self.horizontalHeader().setStretchLastSection(False)
        self.horizontalHeaderItem(COLUMNS.index("to\n99 %")).setToolTip(
            "Seconds until the validation accuracy first reached 99 % (— : it never did)")
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a word longer than the column keeps both ends
        self.itemChanged.connect(self._toggled)

    def add_run(self, index: int, label: str) -> None:
        self.blockSignals(True)
        self.insertRow(index)
        shown = QTableWidgetItem()
        shown.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        shown.setCheckState(Qt.CheckState.Checked)
        shown.setBackground(run_colour(index))
        shown.setToolTip("Show or hide this run's curves")
        self.setItem(index, 0, shown)
        # An option a line, and one too long for the column broken after its "=" (a zero-width space); a network's
        # layers a line each under "layers=", as they are written in the Train tab.
        name = QTableWidgetItem(label.replace(", ", ",\n").replace("=", "=\u200b").replace("layers=\u200b", "layers=\n"))
        name.setToolTip(label)
        self.setItem(index, 1, name)
        for column in range(2, len(COLUMNS)):
            self.setItem(index, column, QTableWidgetItem("…"))
        self.resizeRowToContents(index)
        self.blockSignals(False)

    def show_result(self, index: int, result: RunResult) -> None:
        def percent(value):
            return f"{value:.2%}" if value is not None else "—"

        values = (percent(result.val_accuracy), percent(result.test_accuracy), percent(result.pen_accuracy),
                  percent(result.train_accuracy),
                  f"{result.seconds:.1f}" if result.seconds is not None else "—",
                  f"{result.seconds_to_target:.1f} s" if result.seconds_to_target is not None else "—",
                  f"{result.images_per_sec:,.0f}" if result.images_per_sec else "—", f"{result.parameters:,}")
        for column, text in enumerate(values, start=2):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(index, column, item)
        if result.failed:
            self.item(index, 1).setToolTip(result.failed)
            self.item(index, 1).setForeground(pg.mkColor(BAD))

    def _toggled(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self.visibility.emit(item.row(), item.checkState() == Qt.CheckState.Checked)


class ComparePanel(QWidget, StopsAndWaits):
    """Presets and custom comparisons, with live curves and the runs table."""

    make_active = Signal(str)  # a run's model file
    use_settings = Signal(dict, str)  # a run's choice of the options compared, for the Train tab
    activity = Signal(str)

    def __init__(self, base_config, parent=None):
        super().__init__(parent)
        self._base_config = base_config  # the Train tab's options, for custom comparisons
        self.preset = QComboBox()
        self.preset.setObjectName("presetChoice")
        for name, preset in PRESETS.items():
            self.preset.addItem(preset.title, name)
        self.preset.addItem("Custom: vary options of the Train tab's settings", CUSTOM)
        self.preset.currentIndexChanged.connect(self._describe)
        self.quick = QCheckBox("Quick (a subset of the training images)", checked=True)
        self.quick.toggled.connect(self._describe)
        self.vary = QLineEdit()
        self.vary.setPlaceholderText("e.g.  optimizer=sgd,adam   or   optimizer=sgd,adam; lr=0.01,0.1")
        self.vary.setToolTip("One or two options of the Train tab, each with the values to try, separated by commas; "
                             "networks written as layers by |, e.g. layers=conv 8 3x3, dense 32 | conv 16 5x5, maxpool 2")
        self.vary.textChanged.connect(self._describe)
        self.lesson = QLabel("")
        self.lesson.setWordWrap(True)
        self.estimate = QLabel("")
        self.estimate.setStyleSheet(f"color: {MUTED}")
        self.start_button = QPushButton("Run comparison")
        self.start_button.setObjectName("compareButton")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause", checkable=True)
        self.pause_button.toggled.connect(self._pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the run under way (it is kept) and skip the rest")
        self.stop_button.clicked.connect(self.stop)
        self.active_button = QPushButton("Make active")
        self.active_button.setToolTip("Use the selected run's model on the Draw, Kernels and Layers tabs")
        self.active_button.clicked.connect(self._make_active)
        self.use_button = QPushButton("Use in the Train tab")
        self.use_button.setObjectName("useCompareSettings")
        self.use_button.setToolTip("Set the options this comparison varies to the selected run's, in the Train tab")
        self.use_button.clicked.connect(self._use_settings)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.chart = CurveChart()
        self.table = RunsTable()
        self.table.visibility.connect(self.chart.set_visible)

        controls = QVBoxLayout()
        controls.addWidget(self.preset)
        controls.addWidget(self.vary)
        controls.addWidget(self.lesson)
        row = QHBoxLayout()
        row.addWidget(self.quick)
        row.addStretch(1)
        for button in (self.start_button, self.pause_button, self.stop_button):
            row.addWidget(button)
        controls.addLayout(row)
        controls.addWidget(self.estimate)
        controls.addWidget(self.status)
        controls.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.active_button)
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        controls.addLayout(buttons)
        side_by_side(self, controls, self.chart, "compare")

        self._worker: JobWorker | None = None
        self._finished_job = None
        self._timer = QTimer(self, interval=REDRAW_MS, timeout=self.chart.redraw)
        self.images_per_sec = ASSUMED_IMAGES_PER_SEC
        self._set_running(False)
        self._describe()

    @property
    def running(self) -> bool:
        return self._worker is not None

    def restore_state(self, store: QSettings) -> None:
        self.preset.setCurrentIndex(max(0, self.preset.findData(remembered(store, "compare_preset"))))
        self.quick.setChecked(remembered(store, "compare_quick"))
        self.vary.setText(remembered(store, "compare_vary"))

    def save_state(self, store: QSettings) -> None:
        remember(store, "compare_preset", self.preset.currentData())
        remember(store, "compare_quick", self.quick.isChecked())
        remember(store, "compare_vary", self.vary.text())

    @property
    def results(self) -> list[RunResult]:
        job = self._worker.job if self._worker else self._finished_job
        return job.results if job else []

    # --- what will run ------------------------------------------------------------------------------
    def plans(self):
        """The runs the current choice makes (ValueError with a readable message if it makes none)."""
        name = self.preset.currentData()
        if name == CUSTOM:
            options = [part.strip() for part in self.vary.text().split(";") if part.strip()]
            if not 1 <= len(options) <= 2:
                raise ValueError("Name one or two options to vary, e.g. optimizer=sgd,adam; lr=0.01,0.1")
            return plan(self._base_config(), parse_vary(options))
        preset = PRESETS[name]
        return plan(preset_base(name, self.quick.isChecked()), preset.variations, preset.folds)

    def _describe(self) -> None:
        name = self.preset.currentData()
        self.vary.setVisible(name == CUSTOM)
        self.quick.setVisible(name != CUSTOM and bool(PRESETS[name].quick))  # 300 images: quick as it is
        self.lesson.setText(PRESETS[name].lesson if name != CUSTOM else
                            "Runs the Train tab's settings once per value (or pair of values) of the options named.")
        try:
            plans = self.plans()
        except ValueError as exc:
            self.estimate.setText(str(exc))
            return
        seconds = estimate_seconds(plans, self.images_per_sec, 60_000)
        self.estimate.setText(f"{len(plans)} runs, about {seconds / 60:.0f} min on this machine" if seconds >= 90
                              else f"{len(plans)} runs, about {seconds:.0f} s on this machine")

    # --- running --------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        try:
            plans = self.plans()
        except ValueError as exc:
            QMessageBox.warning(self, "Nothing to compare", str(exc))
            return
        self.chart.clear()
        self.table.setRowCount(0)
        for index, item in enumerate(plans):
            self.chart.add_run(item.label)
            self.table.add_run(index, item.label)
        self._finished_job = None
        self._worker = JobWorker(lambda emit: Comparison(plans, emit))
        self._worker.event.connect(self._on_event)
        self._worker.failed.connect(self._failed)
        self._worker.done.connect(self._done)
        self._thread = start_in_thread(self._worker, self, "comparison")
        self._timer.start()
        self._set_running(True)
        self.status.setText(f"Run 1 of {len(plans)}: {plans[0].label}")
        self.status.setStyleSheet("")
        self.activity.emit(f"Comparing {len(plans)} runs…")

    def _on_event(self, index: int, event) -> None:
        if isinstance(event, BatchEnd):
            self.chart.add_loss(index, event.epoch - 1 + event.batch / event.batches_per_epoch, event.loss)
        elif isinstance(event, Evaluation):
            self.chart.add_accuracy(index, event.epoch, event.val_accuracy)
        elif isinstance(event, EpochEnd):  # kept as a speed without augmentation, which the estimates scale
            self.images_per_sec = plain_images_per_sec(event.images_per_sec, self.results[index].config)
        elif isinstance(event, (Finished, Failed)):
            self.table.show_result(index, self.results[index])
            total = self.table.rowCount()
            if index + 1 < total:
                self.status.setText(f"Run {index + 2} of {total}: {self.table.item(index + 1, 1).toolTip()}")

    def _failed(self, exc: Exception) -> None:
        self.status.setText(f"The comparison failed: {exc or type(exc).__name__}")
        self.status.setStyleSheet(f"color: {BAD}")

    def _done(self) -> None:
        self._finished_job = self._worker.job
        self._worker = None
        self._timer.stop()
        self.chart.redraw()
        self._set_running(False)
        done = sum(r.test_accuracy is not None for r in self.results)
        if not self.status.styleSheet():
            self.status.setText(f"Done: {done} of {self.table.rowCount()} runs finished, each kept in the Runs list.")
        self.activity.emit("Comparison done")
        self._describe()

    def _pause(self, paused: bool) -> None:
        if self._worker and self._worker.job:
            (self._worker.job.pause if paused else self._worker.job.resume)()
        self.pause_button.setText("Resume" if paused else "Pause")

    def stop(self) -> None:
        if self._worker:
            self._worker.stop()
            self.status.setText("Stopping after the current batch; finished runs are kept…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.preset.setEnabled(not running)
        if not running:
            self.pause_button.setChecked(False)

    def _use_settings(self) -> None:
        job = self._worker.job if self._worker else self._finished_job
        row = self.table.currentRow()
        options = varied_options(job.plans, row) if job and 0 <= row < len(job.plans) else {}
        if not options:
            QMessageBox.information(self, "Nothing to use", "Select a run of a comparison whose runs differ in "
                                    "their options (the folds of a cross-validation share theirs).")
            return
        self.use_settings.emit(options, f"the compared run “{job.plans[row].label}”")

    def _make_active(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.results) and self.results[row].folder and (self.results[row].folder / "model.pt").exists():
            self.make_active.emit(str(self.results[row].folder / "model.pt"))
        else:
            QMessageBox.information(self, "No model yet", "Select a run that has finished.")


class ExperimentsTab(QWidget):
    """Compare, Search and Runs, as three pages."""

    make_active = Signal(str)
    continue_run = Signal(object)  # from the Runs page
    use_settings = Signal(dict, str)  # a compared run's or a search trial's options, for the Train tab
    activity = Signal(str)

    def __init__(self, base_config, parent=None):
        super().__init__(parent)
        self.compare = ComparePanel(base_config)
        self.search = SearchPanel(base_config)
        self.runs = RunsPanel()
        self.pages = QTabWidget()
        self.pages.setObjectName("experimentPages")
        self.pages.addTab(self.compare, "Compare")
        self.pages.addTab(self.search, "Search")
        self.pages.addTab(self.runs, "Runs")
        self.pages.currentChanged.connect(lambda _i: self.pages.currentWidget() is self.runs and self.runs.refresh())
        for panel in (self.compare, self.search, self.runs):
            panel.make_active.connect(self.make_active)
            panel.activity.connect(self.activity)
        self.runs.continue_run.connect(self.continue_run)
        for panel in (self.compare, self.search):
            panel.use_settings.connect(self.use_settings)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)

    @property
    def running(self) -> bool:
        return self.compare.running or self.search.running

    def restore_state(self, store: QSettings) -> None:
        self.pages.setCurrentIndex(remembered(store, "experiments_page"))
        self.compare.restore_state(store)
        self.search.restore_state(store)

    def save_state(self, store: QSettings) -> None:
        remember(store, "experiments_page", self.pages.currentIndex())
        self.compare.save_state(store)
        self.search.save_state(store)

    def stop_and_wait(self) -> None:
        self.compare.stop_and_wait()
        self.search.stop_and_wait()
