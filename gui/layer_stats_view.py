"""Layer statistics while training: each layer's gradient norm over time and the latest histograms
of its outputs and weight gradients (engine/layer_stats.py). Items are made once per run and
refreshed with setData from the Train tab's redraw timer."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.events import LayerStats
from gui.export import add_picture_menu
from gui.style import MUTED, FewTicksAxis, set_log_ticks


def layer_colours(n: int) -> list:
    return [pg.intColor(i, hues=max(n, 1), values=1, maxValue=200) for i in range(n)]


class LayerStatsView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.norm_plot = pg.PlotWidget(background=None, title="Gradient norm per layer")
        self.norm_plot.setLabel("bottom", "batch")
        self.norm_plot.setLogMode(y=True)
        self.norm_plot.showGrid(x=True, y=True, alpha=0.15)
        # A row under the chart rather than a box over it: the layers' curves spread over its whole height, most
        # of all when the gradient fades from layer to layer (a deep sigmoid network), and a box hid some.
        self.legend = pg.LegendItem(colCount=8)
        self.norm_plot.plotItem.layout.addItem(self.legend, 4, 1)
        self.histograms = pg.GraphicsLayoutWidget()
        self.histograms.setBackground(None)
        self.caption = QLabel("Histograms of the latest watched batch. Top: each layer's outputs after its "
                              "activation (the last layer: its logits). Bottom: its weight gradients.")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet(f"color: {MUTED}")
        add_picture_menu(self.norm_plot, "gradient-norms")
        add_picture_menu(self.histograms, "layer-histograms")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.norm_plot, 2)
        layout.addWidget(self.histograms, 3)
        layout.addWidget(self.caption)
        self.reset()

    def reset(self) -> None:
        self.norm_plot.clear()
        self.legend.clear()
        self.histograms.clear()
        self.names: tuple = ()
        self.steps: list[int] = []
        self.norms: list[tuple] = []
        self.latest: LayerStats | None = None
        self._norm_curves, self._activation_curves, self._gradient_curves = [], [], []
        self._dirty = False

    def add(self, stats: LayerStats) -> None:
        if stats.names != self.names:
            self._build(stats.names)
        self.steps.append(stats.step)
        self.norms.append(stats.gradient_norms)
        self.latest = stats
        self._dirty = True

    def _build(self, names: tuple) -> None:
        self.reset()
        self.names = names
        colours = layer_colours(len(names))
        for name, colour in zip(names, colours):
            curve = self.norm_plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4,
                                        symbolPen=None, symbolBrush=colour)
            self.legend.addItem(curve, name)
            self._norm_curves.append(curve)
        for row, curves in ((0, self._activation_curves), (1, self._gradient_curves)):
            for col, (name, colour) in enumerate(zip(names, colours)):
                plot = self.histograms.addPlot(row=row, col=col, title=name if row == 0 else None,
                                               axisItems={"bottom": FewTicksAxis("bottom")})
                plot.hideAxis("left")
                plot.setMenuEnabled(False)
                plot.setMouseEnabled(False, False)
                plot.getAxis("bottom").setStyle(tickTextOffset=2, maxTickLevel=0)
                brush = pg.mkBrush(colour.red(), colour.green(), colour.blue(), 110)
                curves.append(plot.plot([0, 1], [0], stepMode="center", fillLevel=0, brush=brush, pen=pg.mkPen(colour)))

    def redraw(self) -> None:
        if not self._dirty or self.latest is None:
            return
        self._dirty = False
        norms = np.array(self.norms, dtype=np.float64)
        steps = np.array(self.steps)
        for i, curve in enumerate(self._norm_curves):
            shown = np.isfinite(norms[:, i]) & (norms[:, i] > 0)  # a log axis has no place for 0 or NaN
            curve.setData(steps[shown], norms[shown, i])
        set_log_ticks(self.norm_plot.getAxis("left"), norms.ravel())
        for curves, histograms in ((self._activation_curves, self.latest.activations),
                                   (self._gradient_curves, self.latest.gradients)):
            for curve, (counts, edges) in zip(curves, histograms):
                curve.setData(edges, counts)

    def blow_up(self) -> str:
        """What the layer statistics saw before a run diverged: which layer's gradients grew most,
        and whether they died out."""
        norms, steps = np.array(self.norms, dtype=np.float64), np.array(self.steps)
        if not len(norms):
            return ""
        finite = np.isfinite(norms).all(1)
        if not finite.any():
            return "The gradients were already non-finite when first watched."
        said = []
        alive = finite & (norms > 0).any(1)
        if alive.sum() == 1:
            row = norms[alive][0]
            said.append(f"At batch {steps[alive][0]} the largest gradient norm was {row.max():.3g}, in "
                        f"{self.names[int(row.argmax())]}.")
        elif alive.sum() >= 2:
            first, last = norms[alive][0], norms[alive][-1]
            growth = np.where(first > 0, last / np.where(first > 0, first, 1), 0)
            worst = int(np.argmax(growth))
            if growth[worst] > 1:
                said.append(f"The gradients grew most in {self.names[worst]}: from {first[worst]:.3g} at batch "
                            f"{steps[alive][0]} to {last[worst]:.3g} at batch {steps[alive][-1]}.")
        if not norms[finite][-1].any():
            said.append(f"By batch {steps[finite][-1]} every layer's gradients were zero: its units had stopped "
                        "responding (see Layer statistics).")
        return " ".join(said)
