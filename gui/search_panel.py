"""The Search page: Optuna trials of learning rate and weight decay on the validation split
(engine/search.py), shown as they finish: a table, the best so far, and validation accuracy against
learning rate and weight decay on log axes."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QSpinBox,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from engine.config import SEARCH_SPACE
from gui.export import add_picture_menu
from gui.settings import remember, remembered
from gui.style import BAD, MUTED, set_log_ticks, side_by_side
from gui.workers import JobWorker, StopsAndWaits, start_in_thread

QUICK = dict(dataset="mnist", augment=False, epochs=2, train_subset=8000, val_fraction=0.05)
TRIAL = -1  # the index JobWorker's events carry for a finished trial
COLUMNS = ("trial", "state", "learning rate", "weight decay", "val. accuracy", "seconds")


class SearchPanel(QWidget, StopsAndWaits):
    make_active = Signal(str)
    use_settings = Signal(dict, str)  # a trial's options for the Train tab, and which trial they are from
    activity = Signal(str)

    def __init__(self, base_config, parent=None):
        super().__init__(parent)
        self._base_config = base_config
        self.trials = QSpinBox(minimum=1, maximum=500, value=12)
        self.sampler = QComboBox()
        self.sampler.addItem("TPE (learns from past trials)", "tpe")
        self.sampler.addItem("Random", "random")
        self.quick = QCheckBox("Quick (a subset of MNIST, 2 epochs)", checked=True)
        self.start_button = QPushButton("Search")
        self.start_button.setObjectName("searchButton")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.note = QLabel("Each trial trains the Train tab's model with a learning rate and weight decay Optuna picks, "
                           "scored on the validation split (never the test set); a trial behind nearly all finished "
                           "ones after its first epoch is stopped there (pruned). The study is kept (in the user data folder) "
                           "and continued by the next search with the same settings.")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {MUTED}")
        self.best = QLabel("")
        self.best.setStyleSheet("font-weight: bold")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("trialsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)  # "pruned at epoch 1.5"
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.active_button = QPushButton("Make active")
        self.active_button.clicked.connect(self._make_active)
        self.use_button = QPushButton("Use in the Train tab")
        self.use_button.setObjectName("useSearchSettings")
        self.use_button.setToolTip("Set the Train tab's learning rate and weight decay to the selected trial's "
                                   "(the best trial's when none is selected)")
        self.use_button.clicked.connect(self._use_settings)
        self.plot = pg.PlotWidget(background=None, title="Validation accuracy of each trial")
        self.plot.setLogMode(x=True, y=True)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "weight decay")
        for side in ("bottom", "left"):  # plain values on the log axes, not "(x0.001)" prefixes
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        (lr_low, lr_high), (wd_low, wd_high) = SEARCH_SPACE["lr"], SEARCH_SPACE["weight_decay"]
        self.plot.setXRange(np.log10(lr_low), np.log10(lr_high))  # the whole search space, before any trial
        self.plot.setYRange(np.log10(wd_low), np.log10(wd_high))
        set_log_ticks(self.plot.getAxis("bottom"), SEARCH_SPACE["lr"])
        set_log_ticks(self.plot.getAxis("left"), SEARCH_SPACE["weight_decay"])
        self.points = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#374151"))
        self.plot.addItem(self.points)
        self.colour_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"), label="val. accuracy",
                                          interactive=False)
        self.colour_bar.setImageItem(pg.ImageItem(), insert_in=self.plot.getPlotItem())
        add_picture_menu(self.plot, "search")

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Trials"))
        controls.addWidget(self.trials)
        controls.addWidget(self.sampler)
        controls.addWidget(self.quick)
        controls.addStretch(1)
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)
        left = QVBoxLayout()
        left.addLayout(controls)
        left.addWidget(self.note)
        left.addWidget(self.best)
        left.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.active_button)
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        left.addLayout(buttons)
        side_by_side(self, left, self.plot, "search", (620, 620))
        self.results = []
        self._best: dict | None = None  # the study's best trial, as the search reports it
        self._quick_search = False  # whether the trials shown were scored on quick runs
        self._worker: JobWorker | None = None
        self._set_running(False)

    @property
    def running(self) -> bool:
        return self._worker is not None

    def restore_state(self, store: QSettings) -> None:
        self.trials.setValue(remembered(store, "search_trials"))
        self.sampler.setCurrentIndex(max(0, self.sampler.findData(remembered(store, "search_sampler"))))
        self.quick.setChecked(remembered(store, "search_quick"))

    def save_state(self, store: QSettings) -> None:
        remember(store, "search_trials", self.trials.value())
        remember(store, "search_sampler", self.sampler.currentData())
        remember(store, "search_quick", self.quick.isChecked())

    def base(self):
        config = self._base_config()
        return replace(config, **QUICK).validate() if self.quick.isChecked() else config

    def study_name(self, config) -> str:
        return f"app-{config.model}-{config.dataset}" + ("-quick" if self.quick.isChecked() else "")

    def start(self) -> None:
        if self.running:
            return
        from engine.search import Search  # Optuna loads only when a search starts

        base, trials, sampler = self.base(), self.trials.value(), self.sampler.currentData()
        study = self.study_name(base)
        self._quick_search = self.quick.isChecked()
        self.results, self._best = [], None
        self.table.setRowCount(0)
        self.best.setText(f"Searching: study “{study}”…")
        self.best.setStyleSheet("font-weight: bold")

        def make_search(emit) -> Search:
            search = Search(base, trials, sampler, study=study, on_trial=lambda result: emit(TRIAL, result))
            for result in search.earlier():  # the table and the plot show the whole study
                emit(TRIAL, result)
            return search

        self._worker = JobWorker(make_search)
        self._worker.event.connect(self._on_event)
        self._worker.failed.connect(self._failed)
        self._worker.done.connect(self._done)
        self._thread = start_in_thread(self._worker, self, "search")
        self._set_running(True)
        self.activity.emit(f"Searching learning rate and weight decay ({trials} trials)…")

    def _on_event(self, index: int, event) -> None:
        if index != TRIAL:
            return  # training events of the trial under way: the table waits for its end
        self.results.append(event)
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = (str(event.trial), event.outcome, f"{event.params.get('lr', math.nan):.2e}",
                  f"{event.params.get('weight_decay', math.nan):.2e}",
                  f"{event.val_accuracy:.2%}" if event.val_accuracy is not None else "—", f"{event.seconds:.1f}")
        for column, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        self._plot()
        job = self._worker.job if self._worker else None
        best = self._best = job.best() if job else None
        if best:
            self.best.setText(f"Best so far: trial {best['trial']}, learning rate {best['params']['lr']:.2e}, weight "
                              f"decay {best['params']['weight_decay']:.2e}: validation {best['val_accuracy']:.2%} "
                              f"({best['trials_in_study']} trials in the study)")

    def _plot(self) -> None:
        scored = [r for r in self.results if r.val_accuracy is not None and r.params]
        if not scored:
            return
        accuracy = np.array([r.val_accuracy for r in scored])
        low, high = float(accuracy.min()), float(accuracy.max())
        self.colour_bar.setLevels((low, max(high, low + 1e-6)))
        colours = pg.colormap.get("viridis").map((accuracy - low) / max(high - low, 1e-6), mode="qcolor")
        symbols = ["o" if r.state == "complete" else "x" for r in scored]
        lr, decay = [r.params["lr"] for r in scored], [r.params["weight_decay"] for r in scored]
        self.points.setData(np.log10(lr), np.log10(decay), brush=colours, symbol=symbols)
        set_log_ticks(self.plot.getAxis("bottom"), [*lr, *SEARCH_SPACE["lr"]])
        set_log_ticks(self.plot.getAxis("left"), [*decay, *SEARCH_SPACE["weight_decay"]])

    def _failed(self, exc: Exception) -> None:
        self.best.setText(f"The search failed: {exc or type(exc).__name__}")
        self.best.setStyleSheet(f"color: {BAD}")

    def _done(self) -> None:
        self._worker = None
        self._set_running(False)
        self.activity.emit("Search done")

    def stop(self) -> None:
        if self._worker:
            self._worker.stop()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _use_settings(self) -> None:
        row = self.table.currentRow()
        # A quick search scores each trial on a small, plain run: say so, since a full run may prefer other values.
        of = (f" of a quick search ({QUICK['train_subset']:,} MNIST digits, {QUICK['epochs']} epochs, no augmentation: "
              "a full run may do best with somewhat different values)") if self._quick_search else ""
        if 0 <= row < len(self.results) and self.results[row].params:
            self.use_settings.emit(dict(self.results[row].params), f"trial {self.results[row].trial}{of}")
        elif self._best:
            self.use_settings.emit(dict(self._best["params"]), f"trial {self._best['trial']}{of}")
        else:
            QMessageBox.information(self, "No trial yet", "Run a search, or select one of its trials.")

    def _make_active(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.results):
            self.make_active.emit(str(Path(self.results[row].folder) / "model.pt"))
