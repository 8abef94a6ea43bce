"""A form for ``TrainConfig``, generated from its fields so it always offers every option."""

from dataclasses import fields

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPlainTextEdit, QSpinBox, QWidget,
)

from engine.config import TrainConfig
from engine.models import CUSTOM

LABELS = {"lr": "Learning rate", "val_fraction": "Validation fraction", "ema": "Weight averaging (EMA)",
          "checkpoint_every": "Checkpoint every (epochs)", "init": "Initialisation", "compile": "torch.compile"}
# What a field's lowest value means, shown instead of the number
AT_MINIMUM = {"dropout": "the model's own", "train_subset": "all", "checkpoint_every": "only at the end"}


def option_label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


class TrimmedSpinBox(QDoubleSpinBox):
    """Shows 0.4 and 3 rather than 0.4000 and 3.0000; the decimals stay for typing finer values."""

    def textFromValue(self, value: float) -> str:
        text = self.locale().toString(value, "f", self.decimals())
        point = self.locale().decimalPoint()
        return text.rstrip("0").rstrip(point) if point in text else text


class LayersEdit(QPlainTextEdit):
    """A network written one layer a line (``engine.network_text``), in a fixed-width font so its columns line up."""

    LINES = 7  # digitnet's ten lines scroll a little; a seed's fit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.note = QLabel()  # under it: the shapes it makes, or why it cannot be built
        self.note.setWordWrap(True)
        self.note.setObjectName("layersNote")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * self.LINES + 2 * self.frameWidth() + 8)

    def value(self) -> str:
        return self.toPlainText()

    def setValue(self, text: str) -> None:
        if text != self.toPlainText():  # resetting the same text would move the cursor of someone typing
            self.setPlainText(text)


class ConfigForm(QWidget):
    changed = Signal(str)  # the field that changed

    def __init__(self, parent=None, disabled_choices: dict | None = None):
        super().__init__(parent)
        self.editors = {}
        # Values a spin box can only show rounded (1/12 → 0.0833) are kept exact until edited, so the
        # app trains on the same split as the command line.
        self._exact: dict[str, float] = {}
        layout = QFormLayout(self)
        for f in fields(TrainConfig):
            meta, default = f.metadata, f.default
            if meta["choices"]:
                editor = QComboBox()
                editor.addItems(list(meta["choices"]))
                for choice in (disabled_choices or {}).get(f.name, ()):
                    item = editor.model().item(editor.findText(choice))
                    item.setEnabled(False)
                    item.setToolTip("not available on this machine")
                editor.currentTextChanged.connect(lambda _v, n=f.name: self.changed.emit(n))
            elif isinstance(default, bool):
                editor = QCheckBox()
                editor.toggled.connect(lambda _v, n=f.name: self.changed.emit(n))
            elif isinstance(default, str):  # the one text option: a network's layers
                editor = LayersEdit()
                editor.textChanged.connect(lambda n=f.name: self.changed.emit(n))
            elif isinstance(default, int):
                editor = QSpinBox(minimum=meta["min"], maximum=meta["max"])
                editor.valueChanged.connect(lambda _v, n=f.name: self.changed.emit(n))
            else:
                editor = TrimmedSpinBox(minimum=meta["min"], maximum=meta["max"], decimals=6 if f.name == "lr" else 4)
                editor.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
                editor.valueChanged.connect(lambda _v, n=f.name: self.changed.emit(n))
            if isinstance(editor, QAbstractSpinBox):
                editor.setSpecialValueText(AT_MINIMUM.get(f.name, ""))
            editor.setObjectName(f"config_{f.name}")
            editor.setToolTip(meta["help"])
            self.editors[f.name] = editor
            if isinstance(editor, LayersEdit):  # the whole width: a layer is a line of words
                layout.addRow(QLabel(option_label(f.name)))
                layout.addRow(editor)
                layout.addRow(editor.note)
            else:
                layout.addRow(option_label(f.name), editor)
        self.set_config(TrainConfig())

    def add_beside(self, name: str, widget: QWidget) -> None:
        """Put ``widget`` to the right of option ``name``'s editor, in its row (a button that fills it in)."""
        layout, editor = self.layout(), self.editors[name]
        row, _role = layout.getWidgetPosition(editor)
        layout.removeWidget(editor)
        pair = QWidget()
        both = QHBoxLayout(pair)
        both.setContentsMargins(0, 0, 0, 0)
        both.addWidget(editor, 1)
        both.addWidget(widget)
        layout.setWidget(row, QFormLayout.ItemRole.FieldRole, pair)

    def set_value(self, name: str, value) -> None:
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            index = editor.findText(str(value))
            if index >= 0 and editor.model().item(index).isEnabled():
                editor.setCurrentIndex(index)
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        else:
            editor.setValue(value)
            if isinstance(editor, QDoubleSpinBox):
                self._exact[name] = value

    def set_config(self, config: TrainConfig) -> None:
        for f in fields(TrainConfig):
            if f.name != "layers" or config.model == CUSTOM:  # a zoo network's text is its own, not ""
                self.set_value(f.name, getattr(config, f.name))

    def config(self) -> TrainConfig:
        values = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QComboBox):
                values[name] = editor.currentText()
            elif isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            elif isinstance(editor, LayersEdit):  # the text shows a zoo network's layers too, to start from
                values[name] = editor.value() if self.editors["model"].currentText() == CUSTOM else ""
            else:
                exact = self._exact.get(name)
                shown = editor.value()
                values[name] = exact if exact is not None and round(exact, editor.decimals()) == shown else shown
        return TrainConfig(**values)
