"""The Runs page: every kept run (engine/runs.py), its curves reopened, any selection compared,
deleted, or exported as CSV. A damaged run folder is listed, greyed, with what is wrong with it."""

import csv
import io
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from engine import paths
from engine.checkpoint import atomic_write_text
from engine.runs import RunSummary, delete_run, list_runs, read_metrics
from gui.export import choose_save_path, save_or_explain
from gui.run_curves import CurveChart
from gui.style import MUTED, side_by_side

WHAT_WIDTH = 300  # px at most for the first column: wider would push the figures out of sight
# The figures next to what each run tried, where they stay in sight beside a long label.
COLUMNS = ("what", "val. accuracy", "test accuracy", "started", "model", "dataset", "seconds", "status", "folder")


def curve_points(rows: list[dict]) -> tuple[list, list]:
    """(epoch, loss) per reported batch and (epoch, validation accuracy) per evaluation, then per epoch
    past the last evaluation: runs scored only at epoch ends, and a comparison's run (scored four
    times an epoch) continued in the Train tab (scored at epoch ends)."""
    losses = [(r["epoch"], r["loss"]) for r in rows if r.get("kind") == "batch" and r.get("loss") is not None]
    scored = [r for r in rows if r.get("val_accuracy") is not None]
    scores = [(r["epoch"], r["val_accuracy"]) for r in scored if r.get("kind") == "evaluation"]
    last = scores[-1][0] if scores else 0
    scores += [(r["epoch"], r["val_accuracy"]) for r in scored if r.get("kind") == "epoch" and r["epoch"] > last]
    return losses, scores


def metrics_csv(runs: list[RunSummary]) -> str:
    """The selected runs' metrics as one CSV table (a run column, then every field any line has)."""
    rows = [{"run": run.name, **row} for run in runs for row in read_metrics(run.folder)]
    columns = ["run"] + sorted({key for row in rows for key in row} - {"run"})
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class RunsPanel(QWidget):
    make_active = Signal(str)
    continue_run = Signal(object)  # a resumable RunSummary, carried on by the Train tab
    activity = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.where = QLabel("")
        self.where.setStyleSheet(f"color: {MUTED}")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self._what_width_chosen = False  # set once the user drags the first column's edge: kept from then on
        self._fitting = False
        self.table.horizontalHeader().sectionResized.connect(self._column_resized)
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.itemSelectionChanged.connect(self._show_selected)
        buttons = QHBoxLayout()
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Carry the selected stopped or interrupted run on from its last full epoch, "
                                        "in the Train tab")
        self.continue_button.setEnabled(False)
        self.continue_button.clicked.connect(self._continue)
        buttons.addWidget(self.continue_button)
        for text, slot, tip in (("Refresh", self.refresh, "Read the runs folder again"),
                                ("Make active", self._make_active, "Use the selected run's model"),
                                ("Open folder", self._open_folder, "Show the selected run's files (record, metrics, "
                                 "checkpoints, kernel replay) in the file manager"),
                                ("Export CSV…", self._export, "Save the selected runs' metrics as one CSV table"),
                                ("Delete…", self._delete, "Delete the selected runs' folders")):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.chart = CurveChart()
        left = QVBoxLayout()
        left.addWidget(self.where)
        left.addWidget(self.table, 1)
        left.addLayout(buttons)
        side_by_side(self, left, self.chart, "runs")
        self.runs: list[RunSummary] = []

    def refresh(self) -> None:
        self.runs = list_runs()
        self.where.setText(f"{len(self.runs)} runs in {paths.shown(paths.runs_dir())} · select several to compare their curves; "
                           "right-click a chart to save it")
        self.table.setRowCount(len(self.runs))
        for i, run in enumerate(self.runs):
            row = run.row()
            if run.readable:
                values = (row["what"], _percent(row["val_accuracy"]), _percent(row["test_accuracy"]),
                          (row["started"] or "")[:16].replace("T", " "), row["model"], row["dataset"],
                          f"{row['seconds']:.0f}" if row["seconds"] is not None else "—", row["status"], row["run"])
            else:
                values = ("unreadable: " + row["problem"],) + ("",) * (len(COLUMNS) - 2) + (row["run"],)
            for j, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if not run.readable:
                    item.setForeground(Qt.GlobalColor.gray)
                    item.setToolTip(row["problem"])
                self.table.setItem(i, j, item)
        if not self._what_width_chosen:
            self._fitting = True
            self.table.resizeColumnToContents(0)  # what each run tried, shown whole (a search trial's settings)…
            self.table.setColumnWidth(0, min(self.table.columnWidth(0), WHAT_WIDTH))  # …but not a long "unreadable: …"
            self._fitting = False
        self._show_selected()  # the rows kept selected may hold other runs, or the same runs further on

    def _column_resized(self, column: int, _old: int, _new: int) -> None:
        if column == 0 and not self._fitting:
            self._what_width_chosen = True

    def selected(self) -> list[RunSummary]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def _show_selected(self) -> None:
        chosen = self.selected()
        self.continue_button.setEnabled(len(chosen) == 1 and chosen[0].resumable)
        self.chart.clear()
        for run in chosen:
            if not run.readable:
                continue
            index = self.chart.add_run(run.record.get("label") or run.name)
            losses, scores = curve_points(read_metrics(run.folder))
            for epoch, loss in losses:
                self.chart.add_loss(index, epoch, loss)
            for epoch, accuracy in scores:
                self.chart.add_accuracy(index, epoch, accuracy)
        self.chart.redraw()

    def _continue(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1 and chosen[0].resumable:
            self.continue_run.emit(chosen[0])

    def _make_active(self) -> None:
        chosen = [r for r in self.selected() if (r.folder / "model.pt").exists()]
        if chosen:
            self.make_active.emit(str(chosen[0].folder / "model.pt"))
        else:
            QMessageBox.information(self, "No model", "Select a run that saved a model.")

    def _open_folder(self) -> None:
        chosen = self.selected()
        if chosen:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(chosen[0].folder)))
        else:
            QMessageBox.information(self, "Nothing selected", "Select a run to show its folder.")

    def _export(self) -> None:
        chosen = [r for r in self.selected() if r.readable]
        if not chosen:
            QMessageBox.information(self, "Nothing selected", "Select the runs to export.")
            return
        path = choose_save_path(self, "Export metrics", Path.home() / "runs.csv", "CSV (*.csv)")
        if path:
            self.export_csv(chosen, path)

    def export_csv(self, runs: list[RunSummary], path: Path) -> bool:
        text = metrics_csv(runs)
        if not save_or_explain(self, "the metrics", lambda: atomic_write_text(path, text)):
            return False
        self.activity.emit(f"Exported {len(runs)} runs' metrics to {path}")
        return True

    def _delete(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        answer = QMessageBox.question(self, "Delete runs", f"Delete {len(chosen)} run folders and their models?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(chosen)

    def delete(self, runs: list[RunSummary]) -> None:
        for run in runs:
            try:
                delete_run(run.folder)
            except (OSError, ValueError) as exc:
                QMessageBox.warning(self, "Could not delete", str(exc))
        self.refresh()


def _percent(value) -> str:
    return f"{value:.2%}" if isinstance(value, (int, float)) else "—"
