"""The Train tab: every training option, Train/Pause/Stop, and live curves of the run."""

import html
import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGroupBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QScrollArea, QSplitter, QTabWidget,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from engine.config import TrainConfig
from engine.datasets import MIXED
from engine.device import cuda_available
from engine.events import (
    BatchEnd, BatchShown, Downloading, EpochEnd, Failed, Finished, Finishing, KernelSnapshot, LayerStats, ModelSnapshot,
    Notice, Started, Watched, format_duration,
)
from engine.models import CUSTOM, build_model, summarize, zoo_text
from engine.network_text import multiply_adds, shapes
from engine.paths import shown
from engine.predict import Predictor
from engine.runs import RunSummary, metrics_until
from engine.train import SUGGESTED_LR, Trainer, reading_copy
from gui.settings import remember, remembered
from gui.config_form import ConfigForm, option_label
from gui.batch_view import BatchView
from gui.error_rate import AccuracyScale
from gui.layer_stats_view import LayerStatsView
from gui.lr_finder_dialog import LrFinderDialog
from gui.run_curves import Smoothed
from gui.style import BAD, LR_COLOUR, MUTED, PEN_COLOUR, TRAIN_COLOUR, VAL_COLOUR, WholeNumberAxis
from gui.watched_view import WatchedView
from gui.workers import StopsAndWaits, TrainingWorker, start_in_thread

REDRAW_MS = 250  # curves and progress are redrawn from a timer (4 Hz), never per event: repainting
                 # plots on every batch would take the CPU the training needs
KERNEL_EVERY = 20  # batches between kernel snapshots for the Kernels tab
STATS_EVERY = 25  # batches between layer statistics (one watched batch costs about two plain ones)
BATCH_EVERY = 20  # batches between the Batches page's images (40 of them, and as stored: 0.1 ms on 2 cores; drawn only when seen)
WATCH_EVERY = 20  # batches between the Predictions page's answers (40 images: 5 ms on 2 cores, under 1 % of 20 batches)
NETWORK_PAUSE_MS = 300  # a pause in typing a network that rebuilds its summary
MODEL_EVERY = 20  # batches between copies of the model for the Layers tab, while it is open (3.5 ms: bench.live_views)


def _amount(count: int) -> str:
    """0.44 M, 5.6 M, 144 M, 7.4 G: two figures, or the whole number of millions or billions."""
    value, unit = (count / 1e9, "G") if count >= 1e9 else (count / 1e6, "M")
    return f"{value:.2g} {unit}" if value < 10 else f"{value:,.0f} {unit}"


def _switched(config: TrainConfig) -> str:
    """What the options change in a written network's own lines, which they apply over."""
    if config.model != CUSTOM:
        return ""  # a zoo network's lines are shown as the options make it
    changes = [f"batch norm {config.batch_norm} in every layer"] if config.batch_norm != "model" else []
    changes += [f"{config.activation} in every layer"] if config.activation != "model" else []
    changes += [f"dropout {config.dropout:g}"] if config.dropout >= 0 else []
    return f" · by the options below: {', '.join(changes)}" if changes else ""


class ModelSummary(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["Layer", "Output shape", "Params"])
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setWordWrap(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.total = QLabel()

    def show_model(self, model) -> None:
        rows = [r for r in summarize(model) if r.params or r.kind in ("MaxPool2d", "AvgPool2d", "Flatten")]
        self.setRowCount(len(rows))
        for i, r in enumerate(rows):
            name = r.name.split(".")[1]  # e.g. features.conv1.conv, features.pool1, classifier.fc1: as the Layers tab names them
            layer = r.kind if name == r.kind.lower() else f"{name} · {r.kind}"
            for j, text in enumerate((layer, "×".join(map(str, r.output_shape)), f"{r.params:,}")):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{r.name} ({r.kind})")
                if j == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(i, j, item)
        total = sum(p.numel() for p in model.parameters())
        self.total.setStyleSheet("")
        self.total.setText(f"{total:,} parameters ({total * 4 / 1024:,.0f} KiB as float32)")

    def show_error(self, message: str) -> None:
        """A network that cannot be built: no rows, and why in their place."""
        self.setRowCount(0)
        self.total.setStyleSheet(f"color: {BAD}")
        self.total.setText(message)


PEN_CURVE = "validation: unseen pen writers"
LOWEST_SHOWN = 0.9  # the accuracy axis shows 90-100 % until a run falls under it
RIGHT_AXIS_WIDTH = 52  # the learning rate's ticks ("0.0025") and their margin


class TrainingCurves(QWidget):
    """Loss per batch (raw and smoothed) with the learning rate, and accuracy per epoch; plot items are made once and
    updated with setData from a timer."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(background=None, title="Training loss per batch")
        self.loss_plot.setLabel("bottom", "batch")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.showGrid(x=True, y=True, alpha=0.15)
        loss_legend = self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.setDownsampling(auto=True, mode="mean")
        self.loss_plot.setClipToView(True)
        self.raw_loss = self.loss_plot.plot([], [], pen=pg.mkPen("#9ca3af", width=1), name="batch")
        self.smooth_loss = self.loss_plot.plot([], [], pen=pg.mkPen(TRAIN_COLOUR, width=2), name="smoothed")
        # The learning rate the schedule gives, on its own axis at the right (pyqtgraph's MultiplePlotAxes
        # example): one-cycle's warm-up and decay beside the loss they shape.
        loss_item = self.loss_plot.plotItem
        self.lr_view = pg.ViewBox(enableMouse=False)
        loss_item.scene().addItem(self.lr_view)
        loss_item.showAxis("right")
        lr_axis = loss_item.getAxis("right")
        lr_axis.linkToView(self.lr_view)
        lr_axis.setTextPen(LR_COLOUR)  # named by the legend's dashed line, in its colour
        lr_axis.enableAutoSIPrefix(False)  # 0.003, not 3 (×0.001)
        lr_axis.setLogMode(False, False)  # the plot's log scale is the loss's alone
        lr_axis.setWidth(RIGHT_AXIS_WIDTH)
        self.lr_view.setXLink(loss_item)
        self.lr_curve = pg.PlotCurveItem([], [], pen=pg.mkPen(LR_COLOUR, width=1.5, style=Qt.PenStyle.DashLine))
        self.lr_view.addItem(self.lr_curve)
        loss_legend.addItem(self.lr_curve, "learning rate")
        loss_item.vb.sigResized.connect(self._fit_lr_view)
        self.acc_plot = pg.PlotWidget(background=None, title="Accuracy per epoch",
                                      axisItems={"bottom": WholeNumberAxis("bottom")})
        self.acc_plot.setLabel("bottom", "epoch")
        self.acc_plot.showGrid(x=True, y=True, alpha=0.15)
        self.accuracy_scale = AccuracyScale(self.acc_plot, "Accuracy per epoch", "Error rate per epoch (log scale)")
        self.acc_plot.showAxis("right")  # an empty one, as wide as the learning rate's, so the charts line up
        self.acc_plot.getAxis("right").setStyle(showValues=False)
        self.acc_plot.getAxis("right").setWidth(RIGHT_AXIS_WIDTH)
        self.train_acc = self.acc_plot.plot([], [], pen=pg.mkPen(TRAIN_COLOUR, width=2), symbol="o", symbolSize=6,
                                            symbolBrush=TRAIN_COLOUR, name="train (augmented batches)")
        self.val_acc = self.acc_plot.plot([], [], pen=pg.mkPen(VAL_COLOUR, width=2), symbol="s", symbolSize=6,
                                          symbolBrush=VAL_COLOUR, name="validation")
        # Only runs with pen digits have it: how well the model reads writers it never trained on.
        self.pen_acc = self.acc_plot.plot([], [], pen=pg.mkPen(PEN_COLOUR, width=2), symbol="t", symbolSize=7,
                                          symbolBrush=PEN_COLOUR, name=PEN_CURVE)
        # A row under the chart rather than a box over it, which the train curve's last points ran into.
        self.acc_legend = pg.LegendItem(colCount=3)
        self.acc_plot.plotItem.layout.addItem(self.acc_legend, 4, 1)
        for curve in (self.train_acc, self.val_acc):
            self.acc_legend.addItem(curve, curve.name())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.acc_plot, 2)
        self.reset()

    def reset(self, total_steps: int | None = None, epochs: int | None = None) -> None:
        """Empty the curves and fix the axes to the whole run: axes whose range never changes are
        painted from cache, which keeps redraws cheap while training needs the CPU. Before a run's
        length is known, the batch and epoch axes have no numbers (not fractions of one batch)."""
        self.steps, self.losses, self.smoothed, self._smoothing = [], [], [], Smoothed()
        self.lrs: list[float] = []
        self.epochs, self.train_accuracy, self.val_accuracy, self.pen_accuracy = [], [], [], []
        for axis in (self.loss_plot.getAxis("bottom"), self.acc_plot.getAxis("bottom"), self.loss_plot.getAxis("right")):
            axis.setStyle(showValues=total_steps is not None)
        total_steps, epochs = total_steps or 1, epochs or 1
        self.loss_plot.setXRange(0, max(1, total_steps), padding=0.01)
        self.loss_plot.setYRange(-2.5, 0.5, padding=0)  # log10: 0.003 .. 3
        self.acc_plot.setXRange(0.5, epochs + 0.5, padding=0)
        self.accuracy_scale.reset()
        self.accuracy_scale.fit([], lowest=LOWEST_SHOWN)
        for plot in (self.loss_plot, self.acc_plot):
            plot.disableAutoRange()
        self._dirty = True

    def _fit_lr_view(self) -> None:
        """The learning rate's view over the loss's, as the chart is resized."""
        loss_view = self.loss_plot.plotItem.vb
        self.lr_view.setGeometry(loss_view.sceneBoundingRect())
        self.lr_view.linkedViewChanged(loss_view, self.lr_view.XAxis)

    def _widen_loss_range(self) -> None:
        """Grow (never shrink) the loss axis when new losses fall outside it."""
        (_, (y0, y1)) = self.loss_plot.viewRange()
        low, high = np.log10(max(min(self.losses[-50:]), 1e-6)), np.log10(max(max(self.losses[-50:]), 1e-6))
        if low < y0 or high > y1:
            self.loss_plot.setYRange(min(y0, np.floor(low * 2) / 2), max(y1, np.ceil(high * 2) / 2), padding=0)

    def set_error_rate(self, error_rate: bool) -> None:
        self.accuracy_scale.set_error_rate(error_rate)
        self._dirty = True
        self.redraw()

    def add_batch(self, step: int, loss: float, lr: float | None) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        self.smoothed.append(self._smoothing.add(loss))
        self.lrs.append(np.nan if lr is None else lr)  # a record from before learning rates were kept has none
        self._dirty = True

    def add_epoch(self, epoch: int, train: float, val: float | None, pen: float | None = None) -> None:
        self.epochs.append(epoch)
        self.train_accuracy.append(train)
        self.val_accuracy.append(np.nan if val is None else val)
        self.pen_accuracy.append(np.nan if pen is None else pen)
        self._dirty = True

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        if self.losses:
            self._widen_loss_range()
        self.accuracy_scale.fit(self.train_accuracy + self.val_accuracy + self.pen_accuracy, lowest=LOWEST_SHOWN)
        self.raw_loss.setData(self.steps, np.maximum(self.losses, 1e-6) if self.losses else [])
        self.smooth_loss.setData(self.steps, np.maximum(self.smoothed, 1e-6) if self.smoothed else [])
        self.lr_curve.setData(self.steps, self.lrs, connect="finite")
        highest = np.nanmax(np.asarray(self.lrs, dtype=float), initial=0.0)  # none kept yet: 0
        self.lr_view.setYRange(0, highest or 1.0, padding=0.05)
        y = self.accuracy_scale.y
        self.train_acc.setData(self.epochs, y(self.train_accuracy))
        self.val_acc.setData(self.epochs, y(self.val_accuracy), connect="finite")
        has_pen = np.isfinite(self.pen_accuracy).any() if self.pen_accuracy else False
        self.pen_acc.setData(*((self.epochs, y(self.pen_accuracy)) if has_pen else ([], [])), connect="finite")
        legend = self.acc_legend
        if has_pen and legend.getLabel(self.pen_acc) is None:
            legend.addItem(self.pen_acc, PEN_CURVE)
        elif not has_pen and legend.getLabel(self.pen_acc) is not None:
            legend.removeItem(self.pen_acc)  # an MNIST-only run has no such curve to name


class TrainTab(QWidget, StopsAndWaits):
    """Emits ``trained(predictor, checkpoint_path or None)`` when a run completes (the model in memory),
    ``kernels(snapshot)`` while training, and ``activity(text)`` for the status bar."""

    trained = Signal(object, object)
    kernels = Signal(object)
    live_model = Signal(object)  # a ModelSnapshot, while the Layers tab is open
    run_ended = Signal()  # however it ended
    activity = Signal(str)
    continue_requested = Signal(object)  # an interrupted RunSummary, from the link offered at start-up
    sampleOpened = Signal(str, str, object, str)  # a tile double-clicked: (source, label, PreparedImage, the page)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.trainer: Trainer | None = None
        self._worker = None
        self._model_wanted = False  # copies of the model as it trains, for the Layers tab
        self._thread = None
        disabled = {} if cuda_available() else {"device": ("cuda",)}
        self.form = ConfigForm(disabled_choices=disabled)
        self.summary = ModelSummary()
        self.summary.total.setWordWrap(True)  # a network's mistake can take two lines
        self._network_error = ""  # why the written network cannot be built, while it cannot
        self._custom_layers = ""  # the user's own network, kept while a zoo network is chosen
        # Typing a network rebuilds its summary once the typing pauses, not on every key.
        self._network_timer = QTimer(self, singleShot=True, interval=NETWORK_PAUSE_MS, timeout=self._show_network)
        self.form.changed.connect(self._field_changed)
        self._enable_pen_share()
        self.find_lr_button = QPushButton("Find…")
        self.find_lr_button.setObjectName("findLr")
        self.find_lr_button.setToolTip("Find a learning rate for these options: a few seconds of training while the "
                                       "rate grows, and the loss against it (the range test)")
        self.find_lr_button.clicked.connect(self.find_learning_rate)
        self.form.add_beside("lr", self.find_lr_button)
        self.lr_finder: LrFinderDialog | None = None

        form_box = QGroupBox("Options")
        form_layout = QVBoxLayout(form_box)
        form_layout.addWidget(self.form)
        self.defaults_button = QPushButton("Reset to defaults")
        self.defaults_button.setObjectName("defaultsButton")
        self.defaults_button.setToolTip("Every option back to the Train button's default recipe")
        self.defaults_button.clicked.connect(lambda: self.form.set_config(TrainConfig()))
        form_layout.addWidget(self.defaults_button, 0, Qt.AlignmentFlag.AlignRight)
        summary_box = QGroupBox("Model summary")
        summary_layout = QVBoxLayout(summary_box)
        summary_layout.addWidget(self.summary)
        summary_layout.addWidget(self.summary.total)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(form_box)
        left_layout.addWidget(summary_box, 1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(400)

        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop after the current batch; the model so far is saved")
        self.train_button.clicked.connect(self.start)
        self.pause_button.toggled.connect(self._toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setFormat("ready")
        self.progress.setTextVisible(True)
        self.rate_label = QLabel("")
        self.rate_label.setStyleSheet(f"color: {MUTED}")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                             | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self._interrupted: RunSummary | None = None  # offered to be continued until another run starts
        self.message.linkActivated.connect(self._continue_interrupted)
        self.curves = TrainingCurves()
        self.layer_stats = LayerStatsView()
        self.charts = QTabWidget()
        self.charts.setObjectName("trainCharts")
        self.charts.addTab(self.curves, "Curves")
        self.charts.addTab(self.layer_stats, "Layer statistics")
        self.watched = WatchedView()
        self.watched.opened.connect(lambda *tile: self.sampleOpened.emit(*tile, "the Train tab's Predictions"))
        self.charts.addTab(self.watched, "Predictions")
        self.batches = BatchView()
        self.batches.opened.connect(lambda *tile: self.sampleOpened.emit(*tile, "the Train tab's Batches"))
        self.charts.addTab(self.batches, "Batches")
        self._latest_batch: BatchEnd | None = None
        self._note = ""  # notices from the engine (e.g. saving in another folder)
        self._timer = QTimer(self, interval=REDRAW_MS, timeout=self._redraw)

        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addWidget(self.progress, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addLayout(buttons)
        right_layout.addWidget(self.rate_label)
        right_layout.addWidget(self.message)
        right_layout.addWidget(self.charts, 1)

        splitter = QSplitter()
        splitter.setObjectName("trainSplitter")
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([420, 820])
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)
        self._field_changed("model")  # the network's text and summary; this also sets the buttons

    # --- form --------------------------------------------------------------------------------
    def _field_changed(self, name: str) -> None:
        config = self.form.config()
        if name in ("model", "batch_norm", "dropout", "activation"):
            # A zoo network shows its layers as the options make it, to start from; custom shows the user's own
            # lines, once there are some (the options then apply over them, and the note says so).
            written = self._custom_layers if config.model == CUSTOM else zoo_text(config.model, **config.model_kwargs)
            if written:
                self.form.set_value("layers", written)
            self._show_network()
        elif name == "layers":
            written = self.form.editors["layers"].value()
            # Each key: the zoo's text is cached.
            if config.model != CUSTOM and written != zoo_text(config.model, **config.model_kwargs):
                self._custom_layers = written
                self.form.set_value("model", CUSTOM)  # editing a zoo network's text makes it the user's own
            elif config.model == CUSTOM:
                self._custom_layers = written
            self._network_timer.start()
        elif name == "optimizer":
            self.form.set_value("lr", SUGGESTED_LR[config.optimizer])
        elif name == "dataset":
            self._enable_pen_share()

    def _show_network(self) -> None:
        """The summary of the network the options build, or why it cannot be built (Train waits for a fix)."""
        self._network_timer.stop()
        config = self.form.config()
        note = self.form.editors["layers"].note
        try:
            with torch.device("meta"):  # shapes and counts only: no weights made, so a large network costs no wait
                model = build_model(config.model, **config.model_kwargs)
        except ValueError as exc:
            self._network_error = str(exc)
            self.summary.show_error(self._network_error)
            note.setStyleSheet(f"color: {BAD}")
            note.setText(self._network_error)
        else:
            self._network_error = ""
            self.summary.show_model(model)
            layers = model.layers()
            steps = [str(shape) for layer, shape in zip(layers, shapes(layers)) if layer.kind != "dropout"]
            note.setStyleSheet(f"color: {MUTED}")
            count = sum(p.numel() for p in model.parameters())
            note.setText(" → ".join(["28×28", *steps, "10"]) + f" · {count:,} parameters · "
                         f"{_amount(multiply_adds(layers))} multiply-adds an image" + _switched(config))
        self._set_running(self.running)

    def _enable_pen_share(self) -> None:
        for name in ("pen_share", "pen_warmup_epochs", "scan_epochs"):
            self.form.editors[name].setEnabled(self.form.config().dataset == MIXED)

    def restore_state(self, store: QSettings) -> None:
        self._custom_layers = remembered(store, "custom_layers")
        saved = remembered(store, "train_config")
        if saved:
            try:
                self.form.set_config(TrainConfig.from_dict(json.loads(saved)))
            except (ValueError, TypeError):
                pass  # settings from another version: keep the defaults

    def save_state(self, store: QSettings) -> None:
        remember(store, "train_config", json.dumps(self.form.config().to_dict()))
        remember(store, "custom_layers", self._custom_layers)

    # --- run control -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, config: TrainConfig | None = None, **trainer_options) -> None:
        if self.running or (config is None and self._network_error):  # Ctrl+Return with a network not yet right
            return
        config = config or self.form.config()
        self._epochs = config.epochs
        self.curves.reset()  # the axes are fixed once Started tells the run's length
        self.layer_stats.reset()
        self.watched.reset()
        self.batches.reset()
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.message.setText("")
        self.message.setStyleSheet("")
        self._note = ""
        self._interrupted = None
        self.trainer = Trainer(config, kernel_every=KERNEL_EVERY, stats_every=STATS_EVERY, watch_every=WATCH_EVERY,
                               batch_every=BATCH_EVERY, model_every=MODEL_EVERY if self._model_wanted else 0, **trainer_options)
        self._worker = TrainingWorker(self.trainer)
        self._worker.event.connect(self._on_event)
        self._worker.done.connect(self._on_done)
        self._thread = start_in_thread(self._worker, self, "training")
        self._timer.start()
        self._set_running(True)
        self.activity.emit(f"Training {config.model} on {config.dataset}…")

    def find_learning_rate(self) -> None:
        """The range test on the options as they are now, in a dialog; its rate, if taken, fills in Learning rate."""
        if self.running or self._network_error:
            return
        if self.lr_finder is not None:  # the last one, closed: its test has stopped
            self.lr_finder.close()
            self.lr_finder.deleteLater()
        self.lr_finder = LrFinderDialog(self.form.config(), self)
        self.lr_finder.chosen.connect(lambda lr: self.form.set_value("lr", lr))
        self.lr_finder.chosen.connect(lambda lr: self.activity.emit(f"Learning rate set to {lr:g}, as the range test suggests"))
        self.lr_finder.setWindowModality(Qt.WindowModality.WindowModal)  # the options it tests stay as they are
        self.lr_finder.show()
        self.lr_finder.start()

    def stop_work(self) -> None:
        """A range test still running stops (the window is closing)."""
        if self.lr_finder is not None:
            self.lr_finder.stop_and_wait()

    def use_options(self, options: dict, source: str) -> None:
        """Set some options (a compared run's choice, a search trial's learning rate and weight decay) and say
        where they came from."""
        # As one whole configuration: setting the optimizer alone would put its suggested learning rate over the one given.
        self.form.set_config(self.form.config().with_options(options))
        options = {f.name: options[f.name] for f in fields(TrainConfig) if f.name in options}  # in the form's order
        shown = " and ".join(f"{option_label(name).lower()} {value:.2g}" if isinstance(value, float) else
                             f"{option_label(name).lower()} {value}" for name, value in options.items())
        self.message.setStyleSheet("")
        self.message.setText(f"From {source}: {shown}, set here. Train uses them with the other options as they are.")

    def offer_to_continue(self, run: RunSummary) -> None:
        """Say that a run was interrupted (the app or the computer stopped mid-run), with a link that continues it."""
        self._interrupted = run
        epochs = run.config.get("epochs", "?")
        self.message.setText(f"Your last run ({html.escape(run.what)}, {run.config.get('dataset')}) was "
                             f"interrupted after epoch {run.epochs_done} of {epochs}: the app or the computer stopped "
                             "before it ended. <a href='continue'>Continue it</a> from its last checkpoint, or find "
                             "it in Experiments → Runs.")

    def _continue_interrupted(self, _link: str) -> None:
        if self._interrupted:
            self.continue_requested.emit(self._interrupted)

    def continue_run(self, run: RunSummary) -> None:
        """Carry a stopped or interrupted run on from its last full epoch, with its own options (shown in
        the form while it trains) and its curves so far."""
        try:
            config = TrainConfig.from_dict(run.config)
        except (ValueError, TypeError) as exc:  # a record from another version
            self.message.setStyleSheet(f"color: {BAD}")
            self.message.setText(f"Cannot continue {run.name}: its options are not ones this version reads ({exc}).")
            return
        self.form.set_config(config)
        self.start(config, run_dir=run.folder, resume_from=run.folder / "last.pt", label=run.record.get("label", ""))

    def _toggle_pause(self, paused: bool) -> None:
        if not self.trainer:
            return
        if paused:
            self.trainer.pause()
            self.pause_button.setText("Resume")
            self.activity.emit("Training paused")
        else:
            self.trainer.resume()
            self.pause_button.setText("Pause")
            self.activity.emit("Training…")

    def send_live_model(self, wanted: bool) -> None:
        """Whether the run sends copies of its model as it trains (for the Layers tab, while it is open)."""
        self._model_wanted = wanted
        if self.running:
            self.trainer.model_every = MODEL_EVERY if wanted else 0

    def stop(self) -> None:
        if self.trainer:
            self.trainer.stop()
            self.progress.setFormat("stopping…")

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running and not self._network_error)
        self.train_button.setToolTip(f"The network cannot be built: {self._network_error}" if self._network_error
                                     else "Train the chosen model with these options")
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)
        self.defaults_button.setEnabled(not running)
        self.find_lr_button.setEnabled(not running and not self._network_error)
        if not running:
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")

    def _on_done(self) -> None:
        self._timer.stop()
        self._redraw()
        self._thread = None
        self._worker = None
        self._set_running(False)
        self.run_ended.emit()

    # --- events from the engine --------------------------------------------------------------
    def _redraw(self) -> None:
        self.curves.redraw()
        self.layer_stats.redraw()
        event, self._latest_batch = self._latest_batch, None
        if event is None:
            return
        total = self._epochs * event.batches_per_epoch
        self.progress.setMaximum(total)
        self.progress.setValue(event.step)
        self.progress.setFormat(f"epoch {event.epoch}/{self._epochs} · batch {event.batch}/{event.batches_per_epoch}")
        self.rate_label.setText(f"{event.images_per_sec:,.0f} images/s · running accuracy {event.accuracy:.1%} · "
                                f"loss {event.loss:.4f} · ETA {format_duration(event.seconds_left)}")

    def _on_event(self, event) -> None:
        if isinstance(event, BatchEnd):
            self.curves.add_batch(event.step, event.loss, event.lr)
            self._latest_batch = event
        elif isinstance(event, Finishing):
            self.progress.setMaximum(event.steps)
            self.progress.setValue(event.step)
            self.progress.setFormat(f"finishing on small scans · step {event.step}/{event.steps}")
            self.rate_label.setText(f"loss {event.loss:.4f} · ETA {format_duration(event.seconds_left)}")
        elif isinstance(event, KernelSnapshot):
            self.kernels.emit(event)
        elif isinstance(event, ModelSnapshot):
            self.live_model.emit(event)
        elif isinstance(event, LayerStats):
            self.layer_stats.add(event)
        elif isinstance(event, Watched):
            self.watched.show_answers(event)
        elif isinstance(event, BatchShown):
            self.batches.show_batch(event)
        elif isinstance(event, EpochEnd):
            self.curves.add_epoch(event.epoch, event.train_accuracy, event.val_accuracy, event.val_pen_accuracy)
            val = f", validation {event.val_accuracy:.2%}" if event.val_accuracy is not None else ""
            if event.val_pen_accuracy is not None:
                val += f" (unseen pen writers {event.val_pen_accuracy:.2%})"
            self.message.setText(f"{self._note}Epoch {event.epoch}/{event.epochs}: training accuracy {event.train_accuracy:.2%}{val}")
        elif isinstance(event, Started):
            self._epochs = event.epochs
            self.curves.reset(event.epochs * event.batches_per_epoch, event.epochs)
            self.activity.emit(f"Training on {event.device_name}")
            self.progress.setFormat(f"epoch {event.start_epoch + 1}…")
            if event.start_epoch:
                self._show_earlier_epochs(event.start_epoch)
        elif isinstance(event, Downloading):
            self.progress.setMaximum(event.total or 0)
            self.progress.setValue(event.done)
            self.progress.setFormat(f"{event.what}… %p%")
        elif isinstance(event, Finished):
            self._finished(event)
        elif isinstance(event, Notice):  # kept above the run's messages until the next run
            self._note += event.message + "\n"
            self.activity.emit(event.message)
            self.message.setText(self._note)
        elif isinstance(event, Failed):
            self._failed(event)

    def _show_earlier_epochs(self, start_epoch: int) -> None:
        """A continued run's curves before this session, from its metrics."""
        for row in metrics_until(self.trainer.run_dir, start_epoch):
            if row.get("kind") == "batch" and row.get("loss") is not None:
                self.curves.add_batch(row["step"], row["loss"], row.get("lr"))
            elif row.get("kind") == "epoch" and row.get("train_accuracy") is not None:
                self.curves.add_epoch(row["epoch"], row["train_accuracy"], row.get("val_accuracy"),
                                      row.get("val_pen_accuracy"))
        self._note += f"Continued from the end of epoch {start_epoch} ({self.trainer.run_dir.name}).\n"
        self.message.setText(self._note)

    def _failed(self, event: Failed) -> None:
        self.progress.setFormat("failed")
        self.message.setStyleSheet(f"color: {BAD}")
        self.activity.emit("Training failed")
        if event.kind == "save" and self.trainer.final_metadata is not None:
            # Trained but nowhere to write it: hand the model over unsaved rather than lose it.
            self.message.setText(f"{event.message}\nThe trained model is active but unsaved: "
                                 "File → Save model to keep it somewhere else.")
            self.trained.emit(self._trained_predictor(), None)
            return
        lines = [event.message]
        if event.kind == "diverged":
            lines.append(self.layer_stats.blow_up())
        if event.checkpoint:
            lines.append(f"The last good checkpoint is {shown(event.checkpoint)}.")
        lines.append("The active model was not changed.")
        self.message.setText("\n".join(line for line in lines if line))

    def _trained_predictor(self) -> Predictor:
        """The run's model, copied to the CPU for drawing (training may go on using the device)."""
        return Predictor(reading_copy(self.trainer.model), "cpu", self.trainer.final_metadata)

    def _finished(self, event: Finished) -> None:
        self._redraw()
        self.rate_label.setText("")  # the last report's ETA would say 0:00 next to the result
        if event.checkpoint is None:
            self.progress.setFormat("stopped")
            self.message.setText("Stopped before the first batch finished; nothing was saved.")
            self.activity.emit("Training stopped")
            return
        accuracy = f"{event.test_accuracy:.2%}" if event.test_accuracy is not None else "not measured"
        if event.stopped:
            self.progress.setFormat(f"stopped after {event.epochs_done} epoch(s)")
            resumable = (Path(event.checkpoint).parent / "last.pt").is_file()  # an epoch's end was saved
            later = " Experiments → Runs → Continue carries the run on from its last checkpoint." if resumable else ""
            self.message.setText(f"{self._note}Stopped. Test accuracy of the model so far: {accuracy}. It is saved in "
                                 f"{shown(event.checkpoint)} (File → Load model to use it).{later}")
            self.activity.emit("Training stopped")
            return
        self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(f"done · test accuracy {accuracy}")
        self.message.setText(f"{self._note}Done in {format_duration(event.elapsed)}: test accuracy {accuracy}. This model is now "
                             "active in the Draw and Kernels tabs; File → Save model keeps it.")
        self.activity.emit(f"Trained: test accuracy {accuracy}")
        self.trained.emit(self._trained_predictor(), event.checkpoint)
