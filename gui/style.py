"""Shared look: colours, pyqtgraph settings, section headings."""

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

ACCENT = "#1f77b4"
UNSURE = "#d97706"
MUTED = "#6b7280"
GOOD = "#16a34a"
BAD = "#dc2626"
TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#ff7f0e"
PEN_COLOUR = "#2ca02c"
DIVERGING = "CET-D1"  # blue-white-red: negative, zero and positive weights
SEQUENTIAL = "viridis"

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, foreground="#374151")


def bar_brushes(highlight: int | None, n: int = 10) -> list:
    return [pg.mkBrush(ACCENT if i == highlight else "#9ca3af") for i in range(n)]


def section_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(f"color: {MUTED}; font-weight: bold; text-transform: uppercase; margin-top: 6px")
    return label
