"""Shared look: colours, pyqtgraph settings, section headings."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

ACCENT = "#1f77b4"
UNSURE = "#d97706"
MUTED = "#6b7280"
GOOD = "#16a34a"
BAD = "#dc2626"
TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#ff7f0e"
PEN_COLOUR = "#2ca02c"
LR_COLOUR = "#9467bd"  # the learning rate beside the loss
DIVERGING = "CET-D1"  # blue-white-red: negative, zero and positive weights
SEQUENTIAL = "viridis"

LIGHT_FOREGROUND = "#374151"  # axes and titles on a light window: softer than black

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, foreground=LIGHT_FOREGROUND)


_legend_background = (255, 255, 255, 210)


def follow_palette(palette: QPalette) -> None:
    """Plots are drawn on the window's own background: on a dark desktop (macOS and Windows dark mode)
    their axes, titles and legends take the window's light text colour, or they would be dark on dark.
    Call it before any plot is made; pyqtgraph reads the colour as each item is created."""
    global _legend_background
    window, text = palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.WindowText)
    dark = window.lightness() < 128
    pg.setConfigOptions(foreground=text.name() if dark else LIGHT_FOREGROUND)
    _legend_background = (*window.getRgb()[:3], 210) if dark else (255, 255, 255, 210)


def legend_brush():
    """A legend's box over the curves: the window's colour, nearly opaque, under the legend's text."""
    return pg.mkBrush(*_legend_background)


def bar_brushes(highlight: int | None, n: int = 10) -> list:
    return [pg.mkBrush(ACCENT if i == highlight else "#9ca3af") for i in range(n)]


def section_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(f"color: {MUTED}; font-weight: bold; text-transform: uppercase; margin-top: 6px")
    return label


class ClampedLabel(QLabel):
    """Wrapped text kept to ``lines`` lines: a longer text ends in "…" and is whole in the tooltip (with the
    text's ``detail``). A wrapped label otherwise grows with its text, or its height for its width becomes the
    page's, and squeezes the fixed-size pictures above it until they overlap. ``text()`` is the whole text."""

    def __init__(self, lines: int):
        super().__init__("")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)  # a short text on its first line
        self._whole, self.detail = "", ""
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + 2)

    def hasHeightForWidth(self) -> bool:
        return False

    def text(self) -> str:
        return self._whole

    def setText(self, text: str, detail: str = "") -> None:
        """Show ``text``; ``detail`` (a path, say) is added to the tooltip while this text is shown."""
        self._whole, self.detail = text, detail
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fits(self, text: str) -> bool:
        room = QRect(0, 0, max(1, self.contentsRect().width()), 100_000)
        return self.fontMetrics().boundingRect(room, Qt.TextFlag.TextWordWrap, text).height() <= self.height()

    def _fit(self) -> None:
        shown = self._whole
        if not self._fits(shown):
            words = shown.split(" ")
            low, high = 0, len(words)  # the most words that fit with "…" after them
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if self._fits(" ".join(words[:middle]) + "…") else (low, middle - 1)
            shown = " ".join(words[:low]) + "…"
        super().setText(shown)
        self.setToolTip("\n".join(part for part in (self._whole if shown != self._whole else "", self.detail) if part))


# Tableau's ten: distinct at a glance, one per run of a comparison.
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf")


def set_log_ticks(axis: pg.AxisItem, values) -> None:
    """1-2-5 ticks on a log axis (decades over a wide range): pyqtgraph labels every minor tick of a
    short range, and they collide."""
    shown = np.asarray([v for v in values if np.isfinite(v) and v > 0], dtype=np.float64)
    if not shown.size:
        return
    low, high = int(np.floor(np.log10(shown.min()))), int(np.ceil(np.log10(shown.max())))
    steps = (1, 2, 5) if high - low < 3 else (1,)  # over many decades, decades only
    axis.setTicks([[(np.log10(m * 10.0 ** k), f"{m * 10.0 ** k:g}") for k in range(low, high + 1) for m in steps], []])


def names_are_words(class_names) -> bool:
    """Whether class names are words ("Sneaker"), not one or two characters ("7"): shown smaller than digits."""
    return max(map(len, class_names), default=1) > 2


def set_class_ticks(axis: pg.AxisItem, class_names) -> None:
    """One tick per class, at its number. Names that are words (Fashion-MNIST's) are a point smaller, so that
    neighbours do not touch, and one of two words or with a slash goes on two lines ("Ankle\nboot"), the axis
    made tall enough for them: pyqtgraph does not grow it for a second line."""
    names = [name.replace("/", "/\n", 1) if "/" in name else name.replace(" ", "\n", 1) for name in class_names]
    axis.setTicks([[(i, name) for i, name in enumerate(names)]])
    font = None
    if names_are_words(class_names):
        font = QFont()
        font.setPointSizeF(font.pointSizeF() - 1)
    axis.setStyle(tickFont=font)
    lines = max((name.count("\n") + 1 for name in names), default=1)
    axis.setHeight(None if lines == 1 else lines * QFontMetrics(font or QFont()).lineSpacing() + 14)


class WholeNumberAxis(pg.AxisItem):
    """An axis of counted things (epochs): ticks on whole numbers only, never at 1.5."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1.0, 0.0)]


class FewTicksAxis(pg.AxisItem):
    """An axis a hundred pixels long (a small histogram): at most three labels, none closer to the next
    than their widths allow (pyqtgraph's four to six ran into each other: "-0.020.02"), and none near an
    end, where pyqtgraph hides a label that would pass it."""

    INNER = 0.12  # of the range at each end where no tick is put
    GAP = 4  # pixels at least between two labels

    def tickValues(self, minVal: float, maxVal: float, size: float):
        span = maxVal - minVal
        if not span > 0:
            return super().tickValues(minVal, maxVal, size)
        low, high = minVal + self.INNER * span, maxVal - self.INNER * span
        decade = 10 ** np.floor(np.log10(span / 3))
        metrics = QFontMetrics(self.style["tickFont"] or self.font())
        for step in (1, 2, 2.5, 5, 10, 20, 25, 50):
            spacing = step * decade
            ticks = np.arange(np.ceil(low / spacing), np.floor(high / spacing) + 1) * spacing
            if len(ticks) > 3:
                continue
            for shown in (ticks, ticks[::2]) if len(ticks) == 3 else (ticks,):  # -x, 0, x too tight: -x and x
                widths = [metrics.horizontalAdvance(text) for text in self.tickStrings(shown, 1, spacing)]
                places = (shown - minVal) / span * size
                if all(b - a >= (wa + wb) / 2 + self.GAP for a, b, wa, wb in zip(places, places[1:], widths, widths[1:])):
                    return [(spacing, list(shown))]

    def tickStrings(self, values, scale, spacing):
        # pyqtgraph's own would write 2.5 as "2"; + 0.0 makes -0.0 a plain 0
        return [f"{value * scale + 0.0:.4g}" for value in values]


def side_by_side(owner: QWidget, left, right: QWidget, name: str, sizes=(640, 600)) -> None:
    """Fill ``owner`` with ``left`` (a widget or a layout) and ``right``, split by a movable bar that the
    window remembers by ``name``."""
    if not isinstance(left, QWidget):
        holder = QWidget()
        holder.setLayout(left)
        left.setContentsMargins(0, 0, 0, 0)
        left = holder
    splitter = QSplitter()
    splitter.setObjectName(f"{name}Splitter")
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setSizes(list(sizes))
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(splitter)
