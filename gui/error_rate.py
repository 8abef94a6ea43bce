"""An accuracy chart's y axis as accuracy or as error rate on a log scale (View → Accuracy as error rate).

Near the top an accuracy axis draws 99.4 % and 99.6 % as one line; as error rates, 0.6 % and 0.4 %, they are
a third of a decade apart, as seed 003 plots its curves and papers compare models. The chart keeps its
accuracies and draws them through ``AccuracyScale.y``."""

import numpy as np
import pyqtgraph as pg

LOWEST_ERROR = 1e-4  # a perfect score is drawn at 0.01 %: a log axis has no zero


def percent(error: float) -> str:
    return f"{error * 100:g} %"


def percent_ticks(axis: pg.AxisItem, low: float, high: float) -> None:
    """Ticks between two error rates (log10 of each), labelled as percentages: decades first, then 2 and 5
    of each, which pyqtgraph labels only where a short axis has room."""
    decades = range(int(np.floor(low)), int(np.ceil(high)) + 1)
    levels = [[(np.log10(m * 10.0 ** k), percent(m * 10.0 ** k)) for k in decades for m in steps if m * 10.0 ** k <= 1]
              for steps in ((1,), (2, 5))]
    axis.setTicks(levels)


class AccuracyScale:
    """One chart's accuracy axis. ``accuracy_title`` is the chart's own; as error rate it says so."""

    def __init__(self, plot: pg.PlotWidget, accuracy_title: str, error_title: str):
        self.plot = plot
        self.titles = accuracy_title, error_title
        self.error_rate = False
        self._range: tuple[float, float] | None = None  # the y range last set by fit

    def set_error_rate(self, error_rate: bool) -> None:
        self.error_rate = error_rate
        self.plot.setTitle(self.titles[error_rate])
        self.plot.getAxis("left").setTicks(None)  # accuracy's own numbers; error rates get theirs with a range
        self.reset()

    def reset(self) -> None:
        """The next ``fit`` sets the range even if it is the one set last (a new run's axes)."""
        self._range = None

    def y(self, accuracies) -> np.ndarray:
        """What to draw for these accuracies (a missing one, NaN, stays missing)."""
        values = np.asarray(accuracies, dtype=np.float64)
        if not self.error_rate:
            return values
        return np.log10(np.clip(1.0 - values, LOWEST_ERROR, 1.0))

    def fit(self, accuracies, lowest: float) -> None:
        """Show ``lowest`` to 100 % (as error rates, 0.1 % to 1 − ``lowest``) and every accuracy given, grown in
        steps (a twentieth of accuracy, half a decade of error) so that the axis moves seldom."""
        values = np.asarray([a for a in accuracies if np.isfinite(a)], dtype=np.float64)
        if self.error_rate:
            shown = self.y(values)
            bottom, top = -3.0, float(self.y([lowest])[0])
            if shown.size:
                bottom, top = min(bottom, np.floor(shown.min() * 2) / 2), max(top, np.ceil(shown.max() * 2) / 2)
        else:
            bottom, top = lowest, 1.0
            if values.size:
                bottom = min(bottom, max(0.0, np.floor(values.min() * 20) / 20))
        if (bottom, top) != self._range:
            self._range = bottom, top
            if self.error_rate:  # room for the end decades' labels, which pyqtgraph hides when they overhang
                self.plot.setYRange(bottom - 0.2, top + 0.2, padding=0)
                percent_ticks(self.plot.getAxis("left"), bottom, top)
            else:
                self.plot.setYRange(bottom, top, padding=0.02)

    def follow(self, accuracies) -> None:
        """Error-rate ticks over what the chart draws (a chart whose range follows its data)."""
        if self.error_rate:
            shown = self.y([a for a in accuracies if np.isfinite(a)])
            if shown.size:
                percent_ticks(self.plot.getAxis("left"), shown.min(), shown.max())
