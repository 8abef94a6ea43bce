"""A chart's legend kept where its curves leave most room, as matplotlib's ``loc="best"`` places one: a legend in
a fixed corner hid the very curve a lesson was about (a sigmoid network's flat line at chance, along the bottom
of the accuracy chart where the legend sat)."""

import numpy as np
import pyqtgraph as pg

MARGIN = 10  # px between the legend and the chart's edges
SAMPLES = 200  # points along each curve, so that a line crossing the legend counts, not only its markers
# Where the legend may sit, as fractions of the free width and height (0: left or top): the corners first,
# then the middles of the edges; never the middle of the chart.
PLACES = ((1, 0), (1, 1), (0, 1), (0, 0), (1, 0.5), (0, 0.5), (0.5, 0), (0.5, 1))


def _pixels(view: pg.ViewBox, curve: pg.PlotDataItem) -> np.ndarray:
    """The curve's points, and points along its segments, in the view box's pixels (x right, y down)."""
    x, y = curve.getData()  # as drawn: logarithms on a log axis
    if x is None or not len(x):
        return np.empty((0, 2))
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = np.asarray(x, float)[keep], np.asarray(y, float)[keep]
    if len(x) > 1 and np.all(np.diff(x) > 0):
        along = np.linspace(x[0], x[-1], SAMPLES)
        x, y = np.concatenate([x, along]), np.concatenate([y, np.interp(along, x, y)])
    (x0, x1), (y0, y1) = view.viewRange()
    rect = view.boundingRect()
    return np.column_stack([(x - x0) / ((x1 - x0) or 1.0) * rect.width(),
                            (y1 - y) / ((y1 - y0) or 1.0) * rect.height()])


def _points(view: pg.ViewBox, curves) -> np.ndarray:
    """Every visible curve's points (and points along its segments) in the view box's pixels."""
    return np.concatenate([_pixels(view, c) for c in curves if c.isVisible()] or [np.empty((0, 2))])


def _inside(points: np.ndarray, view: pg.ViewBox, legend: pg.LegendItem, place: tuple[float, float]) -> int:
    """How many of ``points`` the legend would cover at ``place``."""
    rect = view.boundingRect()
    w, h = legend.width(), legend.height()
    left = MARGIN + place[0] * (rect.width() - w - 2 * MARGIN)
    top = MARGIN + place[1] * (rect.height() - h - 2 * MARGIN)
    inside = (points[:, 0] >= left) & (points[:, 0] <= left + w) & (points[:, 1] >= top) & (points[:, 1] <= top + h)
    return int(inside.sum())


def covered(view: pg.ViewBox, legend: pg.LegendItem, curves, place: tuple[float, float]) -> int:
    """How many points of the visible ``curves`` the legend would cover at ``place``."""
    return _inside(_points(view, curves), view, legend, place)


class LegendCorner:
    """Keeps ``legend`` at the place of ``plot`` (a corner, or the middle of an edge) that covers the fewest
    points of its curves, as they or the view change; it moves only for a place that covers strictly fewer."""

    def __init__(self, plot: pg.PlotWidget, legend: pg.LegendItem, place: tuple[float, float] = PLACES[0]):
        self.plot, self.legend = plot, legend
        self.place = place
        self._put(place)
        view = plot.getViewBox()
        view.sigRangeChanged.connect(self.update)
        view.sigResized.connect(self.update)

    def _put(self, place: tuple[float, float]) -> None:
        self.place = place
        offset = tuple(MARGIN * (1 - 2 * p) for p in place)  # inward from the edges it leans on
        self.legend.anchor(itemPos=place, parentPos=place, offset=offset)

    def update(self, *_args) -> None:
        if not self.legend.isVisible():
            return
        view = self.plot.getViewBox()
        curves = [c for c in self.plot.getPlotItem().listDataItems() if isinstance(c, pg.PlotDataItem)]
        points = _points(view, curves)  # once, for every place tried
        counts = {place: _inside(points, view, self.legend, place) for place in PLACES}
        best = min(PLACES, key=lambda place: (counts[place], place != self.place))
        if counts[best] < counts[self.place]:
            self._put(best)
