"""The Layers tab: the drawing followed through the whole network, from its input to the answer."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSizePolicy, QVBoxLayout, QWidget)

from engine.ablation import TEST_DIGITS, MapsNeeded, knocked_out, maps_needed
from engine.checkpoint import model_title
from engine.datasets import items_noun, pictured_test_set, pictured_test_spec
from engine.events import ModelSnapshot
from engine.predict import LayerView, Predictor
from engine.preprocess import sample_input
from engine.unit import DenseWork, dense_work, unit_work
from gui.export import add_picture_menu
from gui.grid_panel import GridPanel, symmetric_levels
from gui.mosaic import tile
from gui.style import ACCENT, DIVERGING, MUTED, SEQUENTIAL, ClampedLabel, bar_brushes, section_label
from gui.workers import FunctionWorker, start_in_thread

ROW_HEIGHT = 170  # pixels per layer in the column
MAP_COLUMNS = 16
HINT = "Hover over a map or bar to read its values; click a feature map to see how it was made."
SWITCH_TIP = (f"Set the selected map to zero, whatever it reads, and follow the drawing through the network without it; "
              f"and read {TEST_DIGITS:,} test images without each map of its layer in turn. Click other maps to switch "
              "each off instead.")
FIRST_SAMPLE = 7  # followed until the user draws: its bar and diagonal give the first maps edges to find


def followed_sample(digit: int) -> tuple[np.ndarray, str]:
    """The network's input for the app's sample drawing of ``digit``, and the caption that says it is one:
    what the pictures of the network follow until something is drawn."""
    return sample_input(digit), f"the app's sample drawing of a {digit}; draw on the Draw tab to follow yours"


# Outlines of what a kernel slice adds to a unit (red) or takes away (blue), as the kernels are coloured;
# light enough to stand out on viridis's dark purple.
ADDS, TAKES_AWAY = "#f43f5e", "#38bdf8"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class BarsPanel(QWidget):
    """A titled bar chart (a dense layer's units, or the output probabilities); ``describe(unit)``, if
    given, says what the bar under the mouse is."""

    def __init__(self, title: str, info: QLabel, parent=None, describe=None):
        super().__init__(parent)
        self.title = section_label(title)
        self.plot = pg.PlotWidget(background=None)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        add_picture_menu(self.plot, title.split(":")[0].lower())
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=ACCENT)
        self.plot.addItem(self.bars)
        self.values = np.zeros(0)
        self._info, self._what, self._describe = info, title, describe
        self.plot.scene().sigMouseMoved.connect(self._hover)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)

    def show_values(self, values: np.ndarray, highlight: int | None = None, labels: list[str] | None = None) -> None:
        self.values = values
        x = np.arange(len(values))
        self.bars.setOpts(x=x, height=values, brushes=bar_brushes(highlight, len(values)))
        self.title.setText(self._what)
        self.plot.setXRange(-0.6, len(values) - 0.4, padding=0)
        self.plot.setYRange(min(0.0, float(values.min())), max(1e-6, float(values.max())) * 1.05, padding=0)
        if labels:
            self.plot.getAxis("bottom").setTicks([list(enumerate(labels))])

    def tint(self, contributions: np.ndarray, note: str) -> None:
        """Colour each bar by what its unit adds to one score: red adds, blue takes away, as the kernels
        are coloured; the stronger, the more opaque. ``note`` goes in the title."""
        top = float(np.abs(contributions).max()) or 1.0
        colours = [QColor(ADDS if c >= 0 else TAKES_AWAY) for c in contributions]
        for colour, c in zip(colours, contributions):
            colour.setAlphaF(0.2 + 0.8 * abs(float(c)) / top)
        self.bars.setOpts(brushes=[pg.mkBrush(colour) for colour in colours])
        self.title.setText(f"{self._what} · {note}")

    def _hover(self, scene_pos) -> None:
        unit = int(round(self.plot.getPlotItem().vb.mapSceneToView(scene_pos).x()))
        if 0 <= unit < len(self.values):
            self._info.setText(self._describe(unit) if self._describe else f"{self._what}: unit {unit + 1} = {self.values[unit]:+.3f}")


class LayersTab(QWidget):
    sliding_requested = Signal(str)  # "how a kernel slides", for this layer (conv1, …; "" for none chosen)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.info = ClampedLabel(2)  # the arithmetic under the mouse, however long, never widens the page
        self.info.setText(HINT)
        self.info.setStyleSheet(f"color: {MUTED}")
        self.source = QLabel("")
        self.source.setStyleSheet("font-weight: bold")
        self.source.setWordWrap(True)  # beside the samples, in a narrow window too
        # Until there is a drawing, one of the app's sample drawings goes through the network: a blank
        # input's maps are flat and teach nothing.
        self.samples = QWidget()
        samples_row = QHBoxLayout(self.samples)
        samples_row.setContentsMargins(0, 0, 0, 0)
        samples_row.setSpacing(2)
        samples_row.addWidget(QLabel("Nothing drawn yet: following a sample drawing of"))
        self.sample_buttons = QButtonGroup(self)
        for digit in range(10):
            button = QPushButton(str(digit))
            button.setCheckable(True)
            button.setFixedWidth(30)
            button.setToolTip(f"Follow the app's sample drawing of a {digit} through the network")
            self.sample_buttons.addButton(button, digit)
            samples_row.addWidget(button)
        self.sample_buttons.button(FIRST_SAMPLE).setChecked(True)
        self.sample_buttons.idClicked.connect(self.follow_sample)
        keep_place = self.samples.sizePolicy()
        keep_place.setRetainSizeWhenHidden(True)  # the column does not jump when the first stroke hides them
        self.samples.setSizePolicy(keep_place)

        self.column = QVBoxLayout()
        column_widget = QWidget()
        column_widget.setLayout(self.column)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(column_widget)

        self.selected = GridPanel("Selected feature map", SEQUENTIAL, lambda r, c: self._selected_name, self.info,
                                  on_hover=self._show_unit)
        self.kernel = GridPanel("Its kernel: one slice per input channel", DIVERGING,
                                lambda r, c: f"kernel slice for input channel {r * self.kernel.mosaic.cols + c + 1}", self.info)
        self.read = GridPanel("The input channels it read", SEQUENTIAL,
                              lambda r, c: f"input channel {r * self.read.mosaic.cols + c + 1}", self.info)
        self.formula = QLabel("")
        self.formula.setWordWrap(True)
        self.formula.setStyleSheet(f"color: {MUTED}")
        self.sliding_link = QLabel('<a href="sliding">How a kernel\'s size, padding and stride set a map\'s size</a>')
        self.sliding_link.setWordWrap(True)  # in a narrow window too
        self.sliding_link.linkActivated.connect(
            lambda _link: self.sliding_requested.emit(self._selected_name.split(" ")[0]))
        # What the map is for: the network read again without it, on the drawing and on test digits.
        self.switch_off = QCheckBox("Switch this map off")
        self.switch_off.setObjectName("switchMapOff")
        self.switch_off.setToolTip(SWITCH_TIP)
        self.switch_off.toggled.connect(self._switch_toggled)
        self.needed = QLabel("")
        self.needed.setObjectName("mapNeeded")
        self.needed.setWordWrap(True)
        # Each map of the layer: the points of accuracy lost without it, the one switched off highlighted.
        self.costs = pg.PlotWidget(background=None)
        self.costs.setObjectName("mapCosts")
        self.costs.setFixedHeight(80)
        self.costs.setMouseEnabled(False, False)
        self.costs.hideButtons()
        self.costs.setMenuEnabled(False)
        self.costs.getAxis("left").setWidth(28)
        self.costs.getAxis("bottom").setStyle(showValues=False)
        self.costs_bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.costs.addItem(self.costs_bars)
        self.costs.scene().sigMouseClicked.connect(self._cost_clicked)
        self.costs.setVisible(False)
        add_picture_menu(self.costs, "maps-needed")
        detail = QVBoxLayout()
        for widget in (self.selected, self.kernel, self.read):
            detail.addWidget(widget, 1)
        detail.addWidget(self.formula)
        detail.addWidget(self.sliding_link)
        detail.addWidget(self.switch_off)
        detail.addWidget(self.costs)
        detail.addWidget(self.needed)

        grid = QGridLayout()
        grid.addWidget(scroll, 0, 0)
        grid.addLayout(detail, 0, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        header = QHBoxLayout()
        header.addWidget(self.source, 1)
        header.addWidget(self.samples)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(grid, 1)
        layout.addWidget(self.info)

        self._predictor: Predictor | None = None  # the model shown: the active one, or a run's as it trains
        self._active: Predictor | None = None
        self._live_step: int | None = None  # the step of the run's model shown, while one is
        self._shapes: list[tuple] = []  # each layer's name and shape, which the rows are made for
        self._kernels: list[np.ndarray] = []
        self._pixels: np.ndarray | None = None
        self._which = ""
        self._sample = FIRST_SAMPLE
        self._stale = False
        self._rows: dict[str, QWidget] = {}
        self.layers: list[LayerView] = []
        self._selection: tuple[int, int] | None = None  # (conv layer index, map)
        self._selected_name = ""
        self._how_made = ""
        self._reads: dict[str, str] = {}
        self._logits = np.zeros(0)
        self._scored: tuple[int, DenseWork] | None = None  # the class whose score the last hidden layer is tinted by
        self._outlined = ""  # the row whose maps a dense unit under the mouse outlines
        self._reader: Predictor | None = None  # what the column reads through: the model, or a copy with a map off
        self._switched: tuple[str, int] | None = None  # the map (layer, channel) the reader has off
        self._needed: dict[str, MapsNeeded] = {}  # per layer, of the model shown: each map's worth on test digits
        self._needed_worker: FunctionWorker | None = None
        self._needed_wanted: str | None = None  # the layer whose maps' worth is wanted next
        self._needed_reading: tuple[Predictor, str] | None = None  # the model and layer the worker reads

    # --- inputs ------------------------------------------------------------------------------------
    def set_model(self, predictor: Predictor) -> None:
        """The active model (which a run's live model gives way to)."""
        self._active = predictor
        self._live_step = None
        self._show_model(predictor, f"{model_title(predictor.metadata, predictor.model.name)}, layer by layer: "
                                    "from the 28×28 input (top) to the answer (bottom)")

    def show_live(self, snapshot: ModelSnapshot) -> None:
        """The model of the run under way, as it stands at ``snapshot.step``: its maps form as it learns."""
        first = self._live_step is None
        self._live_step = snapshot.step
        self.switch_off.setChecked(False)  # each copy is another network: its maps' worth would be gone in a moment
        self.switch_off.setEnabled(False)
        self.switch_off.setToolTip("Switching a map off waits for the run to end: its model changes every 20 batches")
        self._show_model(Predictor(snapshot.model, "cpu", {"class_names": list(snapshot.class_names)}),
                         f"Live from training, step {snapshot.step:,}: {snapshot.name}, from the input (top) to the answer",
                         another=first)

    def end_live(self) -> None:
        """The run has ended: back to the active model, unless it has already taken over."""
        if self._live_step is not None:
            self.set_model(self._active)
        self.switch_off.setEnabled(True)
        self.switch_off.setToolTip(SWITCH_TIP)

    def _show_model(self, predictor: Predictor, caption: str, another: bool = True) -> None:
        """Follow the drawing through ``predictor``. The rows are made again only for a model of other layers, so
        the map selected and the place scrolled to stay as a run's copies come in. ``another``: not the model
        shown just before (the values last read under the mouse are not this one's)."""
        self._predictor = predictor
        self._reader, self._switched, self._needed = predictor, None, {}
        self._kernels = predictor.kernels()
        self.source.setText(caption)
        if another:
            self.info.setText(HINT)
        probe = predictor.layers(np.zeros((28, 28), np.float32))
        shapes = [(layer.name, layer.values.shape) for layer in probe]
        if shapes != self._shapes:
            self._shapes = shapes
            self._build_rows(probe)
            self._selection = None
        self._reads = predictor.model.what_each_reads()
        self._stale = True
        self._refresh()

    def set_input(self, pixels: np.ndarray | None, which: str = "") -> None:
        """The drawing to follow through the layers; ``which`` says which digit of a number it is."""
        self._pixels = pixels
        self._which = which
        self.samples.setVisible(pixels is None)
        self._stale = True
        if self.isVisible():
            self._refresh()

    def follow_sample(self, digit: int) -> None:
        """Follow the app's sample drawing of ``digit`` while nothing is drawn."""
        self._sample = digit
        self.sample_buttons.button(digit).setChecked(True)
        self._stale = True
        self._refresh()

    def _followed(self) -> tuple[np.ndarray, str]:
        """The 28×28 input the column follows and its caption: the drawing, or a sample until there is one."""
        if self._pixels is not None:
            return self._pixels, f"the number drawn: its {self._which}" if self._which else ""
        return followed_sample(self._sample)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._refresh()

    # --- the column of layers ----------------------------------------------------------------------
    def _build_rows(self, probe: list[LayerView]) -> None:
        """One row per layer (``probe``: the layers' values for a blank input), created once per model and
        refilled per drawing."""
        while self.column.count():
            item = self.column.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self._rows = {"input": GridPanel("Input: 28×28 pixels", SEQUENTIAL, lambda r, c: "input", self.info)}
        conv_index = 0
        for layer in probe:
            if layer.is_conv:
                c, h, w = layer.values.shape
                self._rows[layer.name] = GridPanel(
                    f"{layer.name}: {c} feature maps of {h}×{w}, after its activation", SEQUENTIAL,
                    lambda r, col, name=layer.name: f"{name} map {r * self._rows[name].mosaic.cols + col + 1}",
                    self.info, on_click=lambda i, k=conv_index: self.select(k, i))
                conv_index += 1
            else:
                self._rows[layer.name] = BarsPanel(
                    f"{layer.name}: {len(layer.values)} units, after its activation", self.info,
                    describe=lambda unit, name=layer.name: self._dense_hovered(name, unit))
        self._rows["output"] = BarsPanel("Output: probability of each class", self.info, describe=self._output_hovered)
        for row in self._rows.values():
            row.setMinimumHeight(ROW_HEIGHT)
            row.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.column.addWidget(row)
        self.column.addStretch(1)

    def _refresh(self) -> None:
        if not self._stale or self._predictor is None or not self._rows:
            return
        self._stale = False
        pixels, caption = self._followed()
        self.layers = self._reader.layers(pixels)
        self._scored = None
        self._outline({})
        self._rows["input"].display(tile(pixels[None], 1), pixels[None], (0.0, 1.0), caption)
        for layer in self.layers:
            row = self._rows[layer.name]
            if layer.is_conv:
                row.display_activations(tile(layer.values, MAP_COLUMNS), layer.values)
            else:
                row.show_values(layer.values)
        self._logits = self._reader.logits(pixels)
        probabilities = self._reader.calibrated(self._logits)
        self._rows["output"].show_values(probabilities, int(probabilities.argmax()), list(self._predictor.class_names))
        self.select(*(self._selection or (0, 0)))

    def _output_hovered(self, unit: int) -> str:
        """A class's bar under the mouse: the last hidden layer's bars tinted by what each unit adds to that
        class's score, and how the score becomes the probability."""
        hidden = self.layers[-1] if self.layers else None
        if hidden is not None and not hidden.is_conv and (self._scored is None or self._scored[0] != unit):
            model = self._predictor.model
            work = dense_work(model.classifier, model.output_name(), hidden.values, unit)
            self._scored = (unit, work)
            self._rows[hidden.name].tint(work.contributions,
                                         f"red adds to {self._predictor.class_names[unit]}'s score, blue takes away")
        return self._softmax_step(unit)

    def _dense_hovered(self, name: str, unit: int) -> str:
        """A hidden dense unit under the mouse, worked out: each value it read times its weight, added up (the
        maps or units that add most named, and maps outlined on their row), batch norm and the activation."""
        index = next(i for i, layer in enumerate(self.layers) if layer.name == name)
        layer, source = self.layers[index], self.layers[index - 1] if index else None
        work = dense_work(self._predictor.model.classifier, name, layer.inputs, unit)
        from_maps = source is not None and source.is_conv  # it reads every map (pooled): each map's values summed
        if from_maps:
            parts, kind = work.contributions.reshape(len(source.values), -1).sum(1), f"{source.name}'s maps"
        else:
            parts, kind = work.contributions, f"{source.name}'s units" if source else "its inputs"
        most = [int(i) for i in np.argsort(-np.abs(parts))[:2]]
        if from_maps:
            _, height, width = source.values.shape
            self._outline({colour: (source.name, [(i, 0, 0, height, width) for i in most if (parts[i] >= 0) == (colour == ADDS)])
                           for colour in (ADDS, TAKES_AWAY)})
        steps = [f"{name} unit {unit + 1}: each of the {len(work.contributions):,} values of {self._reads[name]}, times its "
                 f"weight, added up{'' if work.normalised is not None else ' with the bias'}: {work.summed:+.2f}, most from "
                 f"{kind} " + " and ".join(f"{i + 1} ({parts[i]:+.2f})" for i in most)
                 + (" (outlined: red adds, blue takes away)" if from_maps else "")]
        if work.normalised is not None:
            steps.append(f"batch-normalised: {work.normalised:+.2f}")
        steps.append(f"through {work.activation}: {work.value:.2f}, the unit's value{self._adds(name, unit)}")
        return "; ".join(steps)

    def _outline(self, boxes: dict[str, tuple[str, list]]) -> None:
        """Outline boxes on one conv row's maps, per colour ({colour: (row, boxes)}); {} clears them."""
        if self._outlined:
            for colour in (ADDS, TAKES_AWAY):
                self._rows[self._outlined].mark([], colour)
        self._outlined = ""
        for colour, (row, marks) in boxes.items():
            self._rows[row].mark(marks, colour)
            self._outlined = row

    def _adds(self, layer: str, unit: int) -> str:
        """What a unit of the last hidden layer adds to the class whose score its bars are tinted by."""
        if self._scored is None or layer != self.layers[-1].name:
            return ""
        klass, work = self._scored
        return (f"; times its weight to {self._predictor.class_names[klass]}'s score: {work.contributions[unit]:+.3f} "
                f"of that score's {work.summed:+.2f} (the units' sum and a bias of {work.bias:+.2f})")

    def _softmax_step(self, unit: int) -> str:
        """How the last layer's score for a class becomes its probability."""
        name, t = self._predictor.class_names[unit], self._predictor.temperature
        scaled = self._logits / t
        return (f"Output, class {name}: the last layer's score (logit) {self._logits[unit]:+.2f}, divided by the "
                f"temperature {t:.2f} (calibration) = {scaled[unit]:+.2f}; softmax: e^{scaled[unit]:.2f} ÷ the sum over "
                f"all {len(scaled)} classes of e^(score ÷ {t:.2f}) = {self._rows['output'].values[unit] * 100:.1f} %")

    def select(self, conv_index: int, channel: int) -> None:
        """Show how one feature map was made: its kernel and the input channels it read."""
        convs = [layer for layer in self.layers if layer.is_conv]
        for widget in (self.selected, self.kernel, self.read, self.sliding_link, self.switch_off, self.costs, self.needed):
            widget.setVisible(bool(convs))  # the last model's map would mislead
        if not convs:
            self._selection = None
            self.formula.setText("This network has no conv layers, so no feature maps to take apart: its first dense "
                                 "layer reads every pixel at once (the Kernels tab shows what each of its units weighs them by).")
            return
        self._selection = (conv_index, channel)
        layer, weights = convs[conv_index], self._kernels[conv_index][channel]
        if self.switch_off.isChecked() and self._switched != (layer.name, channel):
            self._switch(layer.name, channel)  # the column is read again without this map, and selects it again
            return
        self._selected_name = f"{layer.name} map {channel + 1}"
        fmap = layer.values[channel]
        self.selected.title.setText(f"Selected: {self._selected_name}")
        self.selected.display_activations(tile(fmap[None], 1), fmap[None])
        cols = min(8, len(weights))
        self.kernel.display(tile(weights, cols), weights, symmetric_levels(weights),
                            f"{count(len(weights), 'slice')} of {weights.shape[1]}×{weights.shape[2]} (blue negative, red positive)")
        self.read.display_activations(tile(layer.inputs, cols), layer.inputs,
                                      f"{count(len(layer.inputs), 'map')} of {layer.inputs.shape[1]}×{layer.inputs.shape[2]}, "
                                      "in the same places as their kernel slices")
        reads = self._reads.get(layer.name)
        self.read.title.setText(f"The input channels it read{': ' + reads if reads else ''}")
        block = self._predictor.model.conv_blocks()[conv_index]
        combine = "batch-normalised" if hasattr(block, "bn") else "plus a bias"
        self._how_made = (f"How it is made: each kernel slice slides over its input channel, the "
                          f"{count(len(weights), 'result')} {'are' if len(weights) > 1 else 'is'} added up, "
                          f"{combine}, and passed through {type(block.act).__name__}. Hover over the selected "
                          "map to see the sum at one place.")
        if self._switched is not None:
            self._how_made += " Switched off: every layer after it reads zeros from this map."
        self._show_unit(None)
        self._describe_needed()

    def _show_unit(self, spot) -> None:
        """The arithmetic behind one value of the selected map, under the mouse: the window each kernel
        slice meets is outlined on its input channel, and the sum is written out."""
        if spot is None or self._selection is None:
            self.selected.mark([])
            for colour in (ADDS, TAKES_AWAY):
                self.read.mark([], colour)
            self.formula.setText(self._how_made)
            return
        conv_index, channel = self._selection
        _, row, col = spot
        layer = [v for v in self.layers if v.is_conv][conv_index]
        work = unit_work(self._predictor.model.conv_blocks()[conv_index], layer.inputs, channel, row, col)
        self.selected.mark([(0, row, col, row + 1, col + 1)])
        # Red where a channel's slice pushes the sum up, blue where it pulls it down, as the kernels are coloured.
        for colour, side in ((ADDS, work.contributions >= 0), (TAKES_AWAY, work.contributions < 0)):
            self.read.mark([(i, *work.window) for i in np.flatnonzero(side)], colour)
        kh, kw = self._kernels[conv_index].shape[2:]
        channels = len(layer.inputs)
        most = " and ".join(f"channel {c + 1} ({v:+.2f})" for c, v in work.strongest(2 if channels > 1 else 1))
        steps = [f"At row {row + 1}, column {col + 1}: {'each' if channels > 1 else 'the'} kernel slice times the "
                 f"{kh}×{kw} window it meets (outlined: red adds, blue takes away), {'all ' if channels > 1 else ''}added up"
                 + ("" if work.normalised is not None else " with the bias") + f": {work.summed:+.2f}"
                 + (f", most from {most}" if channels > 1 else "")]
        if work.normalised is not None:
            steps.append(f"batch-normalised: {work.normalised:+.2f}")
        steps.append(f"through {work.activation}: {work.value:.2f}, the map's value there"
                     + (" (switched off: the layers after it read 0)." if self._switched is not None else "."))
        self.formula.setText("; ".join(steps))

    # --- a map switched off --------------------------------------------------------------------------
    def _switch_toggled(self, on: bool) -> None:
        if on and self._selection is not None:
            conv = [layer for layer in self.layers if layer.is_conv][self._selection[0]]
            self._switch(conv.name, self._selection[1])
        elif not on and self._switched is not None:
            self._reader, self._switched = self._predictor, None
            self._stale = True
            self._refresh()
        else:
            self._describe_needed()

    def _switch(self, layer: str, channel: int) -> None:
        """Follow the drawing through a copy of the model with this map off, and find what each map of its
        layer is worth on test digits (once per layer and model)."""
        self._switched = (layer, channel)
        self._reader = Predictor(knocked_out(self._predictor.model, layer, channel), "cpu", self._predictor.metadata)
        self._stale = True
        self._refresh()
        if layer not in self._needed:
            self._find_needed(layer)

    def _find_needed(self, layer: str) -> None:
        self._needed_wanted = layer
        if self._needed_worker is not None:  # the layer under way is of no use now; this one follows it
            self._needed_worker.stop()
            return
        predictor = self._predictor
        self._needed_reading = (predictor, layer)
        self._needed_worker = worker = FunctionWorker(lambda: self._maps_needed(predictor, layer, worker.stopping.is_set))
        worker.succeeded.connect(lambda needed, wanted=predictor: self._needed_found(needed, wanted))
        worker.failed.connect(lambda exc: self.needed.setText(f"Could not read the test digits: {exc or type(exc).__name__}"))
        worker.done.connect(self._needed_done)
        start_in_thread(worker, self, "maps-needed")

    @staticmethod
    def _maps_needed(predictor: Predictor, layer: str, stop) -> MapsNeeded | None:
        data = pictured_test_set(predictor.metadata.get("dataset"))
        images = data.test_images[:TEST_DIGITS].float() / 255
        return maps_needed(predictor.model, layer, images, data.test_labels[:TEST_DIGITS], len(predictor.class_names), stop)

    def _needed_found(self, needed: MapsNeeded | None, wanted: Predictor) -> None:
        if needed is not None and wanted is self._predictor:
            self._needed[needed.layer] = needed
            self._describe_needed()

    def _needed_done(self) -> None:
        """The reading ended: the one asked for meanwhile (another layer, another model) follows; one that failed
        is not tried again until a map is switched off again."""
        self._needed_worker = None
        wanted = self._needed_wanted
        if (self._switched is not None and self._switched[0] == wanted and wanted not in self._needed
                and self._needed_reading != (self._predictor, wanted)):
            self._find_needed(wanted)

    def _cost_clicked(self, event) -> None:
        """A click on a map's bar switches that map off instead."""
        if self._switched is None or self._selection is None:
            return
        x = self.costs.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
        needed = self._needed.get(self._switched[0])
        if needed is not None and 1 <= round(x) <= len(needed.without):
            self.select(self._selection[0], round(x) - 1)

    @property
    def finding_needed(self) -> bool:
        return self._needed_worker is not None

    def stop_work(self) -> None:
        """End the reading of test digits under way (the window closing)."""
        self._needed_wanted = None
        if self._needed_worker is not None:
            self._needed_worker.stop()

    def _describe_needed(self) -> None:
        """What the drawing and the test digits lose without the map switched off."""
        needed = self._needed.get(self._switched[0]) if self._switched else None
        self.costs.setVisible(needed is not None)
        if self._switched is None:
            self.needed.setText("")
            return
        layer, channel = self._switched
        names = list(self._predictor.class_names)
        pixels, _ = self._followed()
        kept, lost = self._predictor.probabilities(pixels), self._reader.probabilities(pixels)
        before, after = names[int(kept.argmax())], names[int(lost.argmax())]
        said = (f"Without {layer} map {channel + 1} the drawing is still read as {after} ({lost.max():.0%}; with it "
                f"{kept.max():.0%})." if before == after else
                f"Without {layer} map {channel + 1} the drawing is read as {after} ({lost.max():.0%}), not as {before} "
                f"({kept.max():.0%} with it).")
        test = f"{pictured_test_spec(self._predictor.metadata.get('dataset')).short_title} test {items_noun(names)}"
        if needed is None:
            maps = next(view.values.shape[0] for view in self.layers if view.name == layer)
            self.needed.setText(f"{said} Reading {TEST_DIGITS:,} {test} without each of {layer}'s {maps} maps in turn…")
            return
        costs = needed.costs * 100  # in points; float64, as pyqtgraph's ranges overflow on float32
        brushes = [pg.mkBrush(ACCENT if i == channel else MUTED) for i in range(len(costs))]
        self.costs_bars.setOpts(x=np.arange(1, len(costs) + 1), height=costs, width=0.7, brushes=brushes)
        self.costs.setXRange(0.5, len(costs) + 0.5, padding=0)
        self.costs.setYRange(min(0.0, float(costs.min())), max(float(costs.max()), 0.1), padding=0.05)
        worst, drop = needed.hardest_hit(channel)
        rank = needed.rank(channel)
        place = "the most needed" if rank == 1 else f"the {_ordinal(rank)} most needed"
        self.needed.setText(
            f"{said} Of {TEST_DIGITS:,} {test}, {needed.accuracy:.2%} are read right with every map and "
            f"{needed.without[channel]:.2%} without this one ({needed.cost(channel) * 100:.2f} points fewer; the class "
            f"that loses most: {names[worst]}, {drop * 100:.1f} points). It is {place} of {layer}'s {len(costs)} maps "
            f"(bars: each one's cost in points; the median {np.median(costs):.2f}); click a map to switch it off instead.")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
