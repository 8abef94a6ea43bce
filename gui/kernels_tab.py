"""The Kernels tab: what the first two conv layers learned, what each filter looks for, and how the
kernels formed over training (a replay of the run's snapshots)."""

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSlider, QVBoxLayout, QWidget,
)

from engine.checkpoint import model_title
from engine.datasets import class_noun
from engine.events import KernelSnapshot
from engine.filters import TOP, patches_for, unit_pictures
from engine.predict import Predictor
from engine.prototypes import class_prototypes
from engine.replay import Replay, find_replay, load_replay, save_gif
from gui.export import choose_save_path, save_or_explain
from gui.grid_panel import GridPanel, symmetric_levels
from gui.mosaic import tile, tile_grid
from gui.settings import remember, remembered
from gui.style import DIVERGING, MUTED, SEQUENTIAL
from gui.workers import FunctionWorker, WorkStopped, start_in_thread

log = logging.getLogger(__name__)
PLAY_EVERY_MS = 90


def learned_pictures(model, dataset, stopping: threading.Event) -> tuple[list[np.ndarray], np.ndarray]:
    """What each filter looks for (its strongest test patches) and what the network takes each class to
    be; WorkStopped when ``stopping`` is set before both are found (the window closing need not wait)."""
    patches = patches_for(model, dataset, stopping.is_set)
    prototypes = class_prototypes(model, stop=stopping.is_set) if patches is not None else None
    if stopping.is_set():
        raise WorkStopped
    return patches, prototypes


CONV1_TITLE = "Layer 1 kernels"
ONE_CONV = "This network has a single conv layer: no second layer to show"
NO_CONV = "This network has no conv layers: no kernel slides over the picture, so no filters to show"


def patch_sheets(patches: np.ndarray) -> np.ndarray:
    """filters × 9 × s × s patches → one 3×3 sheet per filter (NaN gaps), filters × S × S."""
    return np.stack([tile(filter_patches, cols=3).image for filter_patches in patches])


class KernelsTab(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = QLabel("")
        self.source.setStyleSheet("font-weight: bold")
        self.info = QLabel("Hover over a cell to see which filter it is and its values.")
        self.info.setStyleSheet(f"color: {MUTED}")
        self.mean_channels = QCheckBox("conv2: average over input channels")
        self.mean_channels.setToolTip("Show one kernel per conv2 filter (the mean over its input channels) "
                                      "instead of the full filter × input-channel grid")
        self.mean_channels.toggled.connect(lambda _on: self._show_kernels(self._kernels))
        self.conv1 = GridPanel(CONV1_TITLE, DIVERGING, self._describe_conv1, self.info)
        self.conv2 = GridPanel("Layer 2 kernels", DIVERGING, self._describe_conv2, self.info)
        self.patches1 = GridPanel(f"Layer 1: each filter's {TOP} strongest test patches", SEQUENTIAL,
                                  lambda r, c: f"conv1 filter {r * self.patches1.mosaic.cols + c + 1}, strongest first", self.info)
        self.patches2 = GridPanel(f"Layer 2: each filter's {TOP} strongest test patches", SEQUENTIAL,
                                  lambda r, c: f"conv2 filter {r * self.patches2.mosaic.cols + c + 1}, strongest first", self.info)
        self.prototypes = GridPanel("What it takes each digit to be: an input made to maximise each score", SEQUENTIAL,
                                    self._describe_prototype, self.info)
        grid = QGridLayout()
        grid.addWidget(self.conv1, 0, 0)
        grid.addWidget(self.conv2, 0, 1)
        grid.addWidget(self.patches1, 1, 0)
        grid.addWidget(self.patches2, 1, 1)
        grid.addWidget(self.prototypes, 2, 0, 1, 2)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)

        self.play_button = QPushButton("▶ Replay")
        self.play_button.setObjectName("replayButton")
        self.play_button.setToolTip("Watch the kernels form over the training run that made this model")
        self.play_button.clicked.connect(self.toggle_play)
        self.replay_slider = QSlider(Qt.Orientation.Horizontal)
        self.replay_slider.setObjectName("replaySlider")
        self.replay_slider.valueChanged.connect(self._show_snapshot)
        self.replay_label = QLabel("")
        self.replay_label.setStyleSheet(f"color: {MUTED}")
        self.replay_label.setMinimumWidth(220)
        self.open_replay_button = QPushButton("Open run…")
        self.open_replay_button.setToolTip("Replay the kernels of another run (its folder, or its kernels.npz)")
        self.open_replay_button.clicked.connect(self.choose_replay)
        self.gif_button = QPushButton("Export GIF…")
        self.gif_button.setToolTip("Save the replay as an animated GIF")
        self.gif_button.clicked.connect(self.choose_gif)
        replay_bar = QHBoxLayout()
        for widget, stretch in ((self.play_button, 0), (self.replay_slider, 1), (self.replay_label, 0),
                                (self.open_replay_button, 0), (self.gif_button, 0)):
            replay_bar.addWidget(widget, stretch)
        self._play_timer = QTimer(self, interval=PLAY_EVERY_MS, timeout=self._advance)

        top = QHBoxLayout()
        top.addWidget(self.source, 1)
        top.addWidget(self.mean_channels)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid, 1)
        layout.addLayout(replay_bar)
        legend = QLabel("Kernels: blue negative, white zero, red positive weights (each layer on its own symmetric "
                        "scale). Patches: the part of an MNIST test digit that one unit of the filter sees (its "
                        "receptive field), from the nine digits that excite the filter most. Each digit: an input grown "
                        "from a blank one to raise that class's score as high as it goes (activation maximisation). "
                        "Your drawing, layer by layer, is on the Layers tab.")
        legend.setWordWrap(True)
        legend.setStyleSheet(f"color: {MUTED}")
        layout.addWidget(legend)
        layout.addWidget(self.info)

        self._kernels: list[np.ndarray] = []
        self._predictor: Predictor | None = None
        self.replay: Replay | None = None
        self._patch_worker: FunctionWorker | None = None
        self._patches_for: Predictor | None = None  # the model whose patches are wanted
        self._searching_for: Predictor | None = None  # the model whose patches are being found
        self._patches_shown: Predictor | None = None
        self._prototype_reads = np.zeros((0, 0))  # how the network reads each class's input
        self._first_dense = ""  # a network without conv layers: its first dense layer, whose units are shown instead

    def _describe_prototype(self, _row: int, col: int) -> str:
        name = self._predictor.class_names[col]
        return (f"the input grown to raise {name}'s score, read as {name} at "
                f"{self._prototype_reads[col, col]:.1%}")

    def _describe_conv1(self, row: int, col: int) -> str:
        index = row * self.conv1.mosaic.cols + col + 1
        return f"{self._first_dense} unit {index}" if self._first_dense else f"conv1 filter {index}"

    def _describe_conv2(self, row: int, col: int) -> str:
        if self.mean_channels.isChecked():
            return f"conv2 filter {row * self.conv2.mosaic.cols + col + 1} (mean over input channels)"
        return f"conv2 filter {col + 1}, input channel {row + 1}"

    def restore_state(self, store: QSettings) -> None:
        self.mean_channels.setChecked(remembered(store, "kernels_mean_channels"))

    def save_state(self, store: QSettings) -> None:
        remember(store, "kernels_mean_channels", self.mean_channels.isChecked())

    # --- inputs ----------------------------------------------------------------------------------
    def set_model(self, predictor: Predictor, checkpoint: Path | None = None) -> None:
        self._predictor = predictor
        meta = predictor.metadata
        accuracy = meta.get("metrics", {}).get("test_accuracy")
        self.source.setText(f"Active model: {model_title(meta)}"
                            + (f" ({accuracy:.2%} test accuracy)" if accuracy is not None else ""))
        self._show_kernels(predictor.kernels()[:2])
        self._show_units(predictor)
        self.prototypes.title.setText(f"What it takes each {class_noun(predictor.class_names)} to be: an input made to maximise each score")
        if self.isVisible():
            self._find_patches(predictor)
        path = find_replay(meta, checkpoint)
        self._set_replay(None, "No replay: this network has no kernels to watch form." if self._first_dense else
                         "No replay for this model: train one on the Train tab to watch its kernels form.")
        if path is not None:
            self.open_replay(path)

    def show_training_snapshot(self, snapshot: KernelSnapshot) -> None:
        if not snapshot.kernels and snapshot.units is None:
            return
        self._stop_playing()
        shown = "the kernels" if snapshot.kernels else "what each unit weighs each pixel by"
        self.source.setText(f"Live from training, step {snapshot.step:,}: {shown} (the patches and inputs below "
                            "are the active model's until the run ends)")
        if snapshot.kernels:
            self._show_kernels(list(snapshot.kernels))
        else:
            self._show_unit_pictures(*snapshot.units)

    # --- what each filter looks for ----------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._patches_shown is not self._predictor and self._predictor is not None:
            self._find_patches(self._predictor)  # only once someone looks: it reads 10,000 digits

    @property
    def finding_patches(self) -> bool:
        return self._patch_worker is not None

    def _find_patches(self, predictor: Predictor) -> None:
        self._patches_for = predictor
        if self._patch_worker is not None:  # the search under way, for another model, is of no use now:
            if predictor is not self._searching_for:  # it stops, and starts again for this one
                self._patch_worker.stop()
            return
        self._searching_for = predictor
        for panel in (self.patches1, self.patches2, self.prototypes):
            panel.show_nothing("Finding the strongest patches among 10,000 test digits…")
        self.prototypes.axes.setText("Growing an input for each class…")
        self._patch_worker = worker = FunctionWorker(
            lambda: learned_pictures(predictor.model, predictor.metadata.get("dataset"), worker.stopping))
        self._patch_worker.succeeded.connect(lambda patches, wanted=predictor: self._show_patches(patches, wanted))
        self._patch_worker.failed.connect(self._patches_failed)
        self._patch_worker.done.connect(self._patches_done)
        start_in_thread(self._patch_worker, self, "filter-patches")

    def stop_work(self) -> None:
        """End a search for patches under way, and start no other (the window closing)."""
        if self._patch_worker is not None:
            self._patch_worker.stop()
        self._patches_for = self._searching_for

    def _patches_done(self) -> None:
        self._patch_worker = None
        if self._patches_for is not self._searching_for:  # the model changed during the search
            self._find_patches(self._patches_for)

    def _show_patches(self, pictures: tuple[list[np.ndarray], np.ndarray], wanted: Predictor) -> None:
        if wanted is not self._predictor:
            return  # another model arrived meanwhile
        self._patches_shown = wanted
        patches, prototypes = pictures
        read = wanted.probabilities(prototypes)
        self._prototype_reads = read
        own = read[np.arange(len(read)), np.arange(len(read))]
        each_bright = prototypes / np.maximum(prototypes.max((1, 2), keepdims=True), 1e-6)  # each on its own scale
        self.prototypes.display(tile(each_bright, cols=len(prototypes), gap=2), prototypes, (0.0, 1.0),
                                f"Each is read as its own class (the least sure at {own.min():.1%}): the strokes the "
                                "network looks for, not a digit anyone drew")
        for panel, block in zip((self.patches1, self.patches2), patches):
            sheets = patch_sheets(block)
            panel.display(tile(sheets, cols=8, gap=3), sheets, (0.0, 1.0),
                          f"{len(block)} filters · each: its {block.shape[1]} strongest {block.shape[2]}×{block.shape[3]} patches")
        for panel in (self.patches1, self.patches2)[len(patches):]:
            panel.show_nothing(ONE_CONV if patches else NO_CONV)

    def _patches_failed(self, exc: Exception) -> None:
        for panel in (self.patches1, self.patches2, self.prototypes):
            panel.axes.setText(f"Could not find the patches: {exc or type(exc).__name__}")

    # --- replay --------------------------------------------------------------------------------------
    def open_replay(self, path: Path) -> bool:
        try:
            replay = load_replay(path)
        except ValueError as exc:
            log.warning("%s", exc)
            self._set_replay(None, str(exc))
            return False
        self._set_replay(replay, "")
        return True

    def _set_replay(self, replay: Replay | None, message: str) -> None:
        self._stop_playing()
        self.replay = replay
        for widget in (self.play_button, self.replay_slider, self.gif_button):
            widget.setEnabled(replay is not None and len(replay) > 1)
        if replay is None:
            self.replay_label.setText(message)
            return
        self.replay_slider.blockSignals(True)
        self.replay_slider.setRange(0, len(replay) - 1)
        self.replay_slider.setValue(len(replay) - 1)
        self.replay_slider.blockSignals(False)
        self.replay_label.setText(self._replay_position(len(replay) - 1))

    def _replay_position(self, i: int) -> str:
        when = "last stage, on small scans" if self.replay.in_last_stage(i) else f"epoch {self.replay.epochs[i]:.2f}"
        return f"step {self.replay.steps[i]:,} · {when} · {i + 1}/{len(self.replay)}"

    def _show_snapshot(self, i: int) -> None:
        if self.replay is None:
            return
        self.replay_label.setText(self._replay_position(i))
        self.source.setText(f"Replay: the kernels at step {self.replay.steps[i]:,} of the run")
        self._show_kernels(self.replay.layers[i])

    def toggle_play(self) -> None:
        if self._play_timer.isActive():
            self._stop_playing()
            return
        if self.replay_slider.value() == self.replay_slider.maximum():
            self.replay_slider.setValue(0)
        self.play_button.setText("❚❚ Pause")
        self._play_timer.start()

    def _advance(self) -> None:
        if self.replay_slider.value() >= self.replay_slider.maximum():
            self._stop_playing()
        else:
            self.replay_slider.setValue(self.replay_slider.value() + 1)

    def _stop_playing(self) -> None:
        self._play_timer.stop()
        self.play_button.setText("▶ Replay")

    def choose_replay(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a run's kernel replay", "", "Kernel replays (kernels.npz);;All files (*)")
        if path and not self.open_replay(Path(path)):
            QMessageBox.warning(self, "Could not open the replay", self.replay_label.text())

    def choose_gif(self) -> None:
        path = choose_save_path(self, "Export the replay", Path.home() / "kernels.gif", "GIF (*.gif)")
        if path:
            self.export_gif(path)

    def export_gif(self, path: Path) -> bool:
        if not save_or_explain(self, "the GIF", lambda: save_gif(self.replay, path)):
            return False
        self.info.setText(f"Saved the replay to {path}")
        return True

    # --- drawing ----------------------------------------------------------------------------------
    def _show_units(self, predictor: Predictor) -> None:
        """A network without conv layers: in the kernels' place, what each unit of its first dense layer weighs
        each pixel by, the picture of what that unit looks for."""
        units = unit_pictures(predictor.model)
        if units is not None:  # otherwise its kernels are shown, by _show_kernels
            self._show_unit_pictures(*units)

    def _show_unit_pictures(self, name: str, pictures: np.ndarray) -> None:
        self._first_dense = name
        self.conv1.title.setText(f"{self._first_dense}: what each unit weighs each pixel by")
        side = pictures.shape[1]
        self.conv1.display(tile(pictures, cols=min(16, len(pictures)), gap=2), pictures, symmetric_levels(pictures),
                           f"{len(pictures)} units, each reading all {side}×{side} pixels at once: red adds, blue takes away")
        self.conv2.show_nothing(NO_CONV)

    def _show_kernels(self, kernels: list[np.ndarray]) -> None:
        self._kernels = kernels
        self.mean_channels.setEnabled(len(kernels) > 1)
        if not kernels:
            return
        self._first_dense = ""  # kernels, even a replayed run's while a network without them is active
        self.conv1.title.setText(CONV1_TITLE)
        k1 = kernels[0][:, 0]  # conv1 has one input channel
        self.conv1.display(tile(k1, cols=min(8, len(k1))), k1, symmetric_levels(k1), f"{len(k1)} filters of {k1.shape[1]}×{k1.shape[2]}")
        if len(kernels) < 2:
            self.conv2.show_nothing(ONE_CONV)
            return
        k2 = kernels[1]
        if self.mean_channels.isChecked():
            means = k2.mean(1)
            self.conv2.display(tile(means, cols=8), means, symmetric_levels(means), f"{len(means)} filters, averaged over {k2.shape[1]} input channels")
        else:
            by_channel = k2.transpose(1, 0, 2, 3)  # one row per input channel, one column per filter
            self.conv2.display(tile_grid(by_channel), by_channel.reshape(-1, *k2.shape[2:]), symmetric_levels(k2),
                               f"columns: {k2.shape[0]} filters · rows: the {k2.shape[1]} input channels each one reads")
