"""The Kernels tab: what the first two conv layers learned, and what they see in your drawing."""

import numpy as np
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.events import KernelSnapshot
from engine.predict import Predictor
from gui.grid_panel import GridPanel, symmetric_levels
from gui.mosaic import tile, tile_grid
from gui.style import DIVERGING, MUTED, SEQUENTIAL


class KernelsTab(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = QLabel("")
        self.source.setStyleSheet("font-weight: bold")
        self.info = QLabel("Hover over a cell to see which filter it is and its value range.")
        self.info.setStyleSheet(f"color: {MUTED}")
        self.mean_channels = QCheckBox("conv2: average over input channels")
        self.mean_channels.setToolTip("Show one kernel per conv2 filter (the mean over its input channels) "
                                      "instead of the full filter × input-channel grid")
        self.mean_channels.toggled.connect(lambda _on: self._show_kernels(self._kernels))
        self.conv1 = GridPanel("Layer 1 kernels", DIVERGING, lambda r, c: f"conv1 filter {r * self.conv1.mosaic.cols + c + 1}", self.info)
        self.conv2 = GridPanel("Layer 2 kernels", DIVERGING, self._describe_conv2, self.info)
        self.maps1 = GridPanel("Layer 1 feature maps of your drawing", SEQUENTIAL,
                               lambda r, c: f"conv1 feature map {r * self.maps1.mosaic.cols + c + 1}", self.info)
        self.maps2 = GridPanel("Layer 2 feature maps of your drawing", SEQUENTIAL,
                               lambda r, c: f"conv2 feature map {r * self.maps2.mosaic.cols + c + 1}", self.info)
        grid = QGridLayout()
        grid.addWidget(self.conv1, 0, 0)
        grid.addWidget(self.conv2, 0, 1)
        grid.addWidget(self.maps1, 1, 0)
        grid.addWidget(self.maps2, 1, 1)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)
        top = QHBoxLayout()
        top.addWidget(self.source, 1)
        top.addWidget(self.mean_channels)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid, 1)
        legend = QLabel("Kernels: blue negative, white zero, red positive weights (each layer on its own symmetric "
                        "scale). Feature maps: the layer's output after its activation, dark low to yellow high.")
        legend.setWordWrap(True)
        legend.setStyleSheet(f"color: {MUTED}")
        layout.addWidget(legend)
        layout.addWidget(self.info)
        self._kernels: list[np.ndarray] = []
        self._predictor: Predictor | None = None
        self._pixels: np.ndarray | None = None
        self._maps_stale = False
        self.maps_updates = 0  # how many times the feature maps were redrawn (tests, benchmarks)

    def _describe_conv2(self, row: int, col: int) -> str:
        if self.mean_channels.isChecked():
            return f"conv2 filter {row * self.conv2.mosaic.cols + col + 1} (mean over input channels)"
        return f"conv2 filter {col + 1}, input channel {row + 1}"

    # --- inputs ----------------------------------------------------------------------------------
    def set_model(self, predictor: Predictor) -> None:
        self._predictor = predictor
        meta = predictor.metadata
        accuracy = meta.get("metrics", {}).get("test_accuracy")
        self.source.setText(f"Active model: {meta.get('model', {}).get('name', '?')}"
                            + (f" ({accuracy:.2%} test accuracy)" if accuracy is not None else ""))
        self._show_kernels(predictor.kernels()[:2])
        self._maps_stale = True
        self._refresh_maps()

    def show_training_snapshot(self, snapshot: KernelSnapshot) -> None:
        self.source.setText(f"Live from training: step {snapshot.step:,} (feature maps still use the active model)")
        self._show_kernels(list(snapshot.kernels))

    def set_input(self, pixels: np.ndarray | None) -> None:
        """The 28×28 network input of the drawing on the canvas (None when it is empty)."""
        self._pixels = pixels
        self._maps_stale = True
        if self.isVisible():
            self._refresh_maps()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._refresh_maps()

    # --- drawing ----------------------------------------------------------------------------------
    def _show_kernels(self, kernels: list[np.ndarray]) -> None:
        self._kernels = kernels
        if not kernels:
            return
        k1 = kernels[0][:, 0]  # conv1 has one input channel
        self.conv1.display(tile(k1, cols=min(8, len(k1))), k1, symmetric_levels(k1), f"{len(k1)} filters of {k1.shape[1]}×{k1.shape[2]}")
        if len(kernels) < 2:
            return
        k2 = kernels[1]
        if self.mean_channels.isChecked():
            means = k2.mean(1)
            self.conv2.display(tile(means, cols=8), means, symmetric_levels(means), f"{len(means)} filters, averaged over {k2.shape[1]} input channels")
        else:
            by_channel = k2.transpose(1, 0, 2, 3)  # one row per input channel, one column per filter
            self.conv2.display(tile_grid(by_channel), by_channel.reshape(-1, *k2.shape[2:]), symmetric_levels(k2),
                               f"columns: {k2.shape[0]} filters · rows: the {k2.shape[1]} input channels each one reads")

    def _refresh_maps(self) -> None:
        if not self._maps_stale or self._predictor is None:
            return
        self._maps_stale = False
        self.maps_updates += 1
        if self._pixels is None:
            for panel in (self.maps1, self.maps2):
                panel.display(tile(np.zeros((1, 28, 28), np.float32), 1), np.zeros((1, 28, 28)), (0, 1), "draw something on the Draw tab")
            return
        maps = [layer.values for layer in self._predictor.layers(self._pixels)[:2]]
        for panel, fmap in zip((self.maps1, self.maps2), maps):
            top = float(fmap.max()) or 1.0
            panel.display(tile(fmap, cols=8), fmap, (0.0, top), f"{fmap.shape[0]} maps of {fmap.shape[1]}×{fmap.shape[2]}")
