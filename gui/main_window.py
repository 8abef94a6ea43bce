"""The main window: the tabs, menus and shortcuts, the status bar, and saved preferences."""

import html
import io
import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QSettings, QSize, Qt, QThread, QTimer
from PIL import Image
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QDialog, QDialogButtonBox, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QSplitter, QVBoxLayout,
    QWidget,
)

from engine import __version__
from engine.checkpoint import CheckpointError, SaveError
from engine.conv_arithmetic import sliding_layers
from engine.logs import log_path
from engine.paths import (
    APP_NAME, IMAGE_SUFFIXES, MODEL_SUFFIX, default_model_path, sample_digit_path, shown, user_data_dir,
)
from engine.predict import Predictor
from engine.preprocess import MAX_PIXELS, PreparedImage, read_image, read_picture, too_large
from engine.runs import interrupted_run
from gui.active_model import ActiveModel
from gui.canvas import image_array
from gui.conv_explorer import ConvExplorer
from gui.draw_tab import DrawTab
from gui.evaluate_tab import EvaluateTab
from gui.experiments_tab import ExperimentsTab
from gui.export import choose_save_path
from gui.interface_size import add_size_menu
from gui.kernels_tab import KernelsTab
from gui.layers_tab import LayersTab
from gui.personal_panel import PersonalPanel
from gui.scrolling_tabs import ScrollingTabs
from gui.settings import (
    remember, remember_geometry, remember_splitters, remembered, remembered_geometry, restore_splitters,
)
from gui.style import follow_palette
from gui.tour import Tour
from gui.train_tab import TrainTab

IMAGE_FILTER = f"Images ({' '.join('*' + s for s in IMAGE_SUFFIXES)});;All files (*)"
MODEL_FILTER = "Digit Studio models (*.pt);;All files (*)"
RECENT_MODELS = 8
PREFERRED_SIZE = QSize(1240, 800)  # every tab at its intended size
FRAME_ALLOWANCE = QSize(16, 48)  # a window manager's borders and title bar, about
SMALLEST_SIZE = QSize(720, 480)  # below this no tab is of use; larger pages scroll
# Keys that act without a menu entry, for the shortcuts list.
OTHER_SHORTCUTS = (("0 – 9", "Draw tab: keep the drawing as a personal sample of that digit"),
                   ("Enter", "Draw tab: keep the drawing as the digit the network read "
                             "(in Teach each digit, as the digit asked for)"))


log = logging.getLogger(__name__)


def show_error(parent, title: str, message: str) -> None:
    log.warning("%s: %s", title, message)
    QMessageBox.warning(parent, title, message)


def ask_to_save(parent) -> QMessageBox.StandardButton:
    """Save, Discard or Cancel, for quitting with a model the user has not kept."""
    return QMessageBox.question(
        parent, "Keep the trained model?",
        "The active model was trained or personalised in this session and not saved. Save it before quitting?",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Save)


def encoded_picture(mime: QMimeData) -> str | None:
    """The first picture format (image/avif, image/webp, …) the data offers as encoded bytes, if any."""
    return next((kind for kind in mime.formats() if kind.startswith("image/")), None)


class MainWindow(QMainWindow):
    def __init__(self, predictor: Predictor | None = None, settings: QSettings | None = None):
        super().__init__()
        follow_palette(self.palette())
        self.setWindowTitle(APP_NAME)
        self.settings = settings or QSettings()
        self.active = ActiveModel(predictor or Predictor.load(), None if predictor else default_model_path(), self)
        self._explorer: ConvExplorer | None = None  # "how a kernel slides", while it is open

        self.tabs = ScrollingTabs()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.draw_tab = DrawTab(self.active)
        self.personal = PersonalPanel(self.draw_tab, self.active, settings=self.settings)
        self.draw_tab.extra.addWidget(self.personal)
        self.train_tab = TrainTab()
        self.experiments_tab = ExperimentsTab(self.train_tab.form.config)
        self.kernels_tab = KernelsTab()
        self.layers_tab = LayersTab()
        self.evaluate_tab = EvaluateTab(self.settings)
        for page, title, tip in (
                (self.draw_tab, "Draw", "Draw a digit and watch the network read it, and see why; teach it your handwriting"),
                (self.train_tab, "Train", "Train a network with live curves: loss, learning rate, accuracy, its answers"),
                (self.experiments_tab, "Experiments", "The seed tutorials' comparisons side by side, searches, and every run"),
                (self.kernels_tab, "Kernels", "What each filter looks for, and its kernels forming over a run"),
                (self.layers_tab, "Layers", "Your drawing through every layer; while a run trains, through the run's model"),
                (self.evaluate_tab, "Evaluate", "How well it reads a test set: which digits it confuses, and how sure it is")):
            self.tabs.add_page(page, title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)
        self.tour = Tour(self)  # Help → Take the tour: a bar under the tabs, hidden until then
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.tabs, 1)
        column.addWidget(self.tour)
        self.setCentralWidget(central)
        self.setMinimumSize(SMALLEST_SIZE)

        self.model_status = QLabel()
        self.device_status = QLabel()
        self.activity_status = QLabel("Ready")
        self.statusBar().addWidget(self.activity_status, 1)
        self.statusBar().addPermanentWidget(self.model_status)
        self.statusBar().addPermanentWidget(self.device_status)

        self.active.changed.connect(self._model_changed)
        self.active.saved_changed.connect(self._show_model_status)
        for signal in (self.active.changed, self.active.saved_changed):  # loaded, saved, or personalised and kept
            signal.connect(self._remember_active_model)
        self.draw_tab.predicted.connect(
            lambda p: self.layers_tab.set_input(p.pixels if p else None, self.draw_tab.shown_digit()))
        self.draw_tab.predicted.connect(lambda p: self.evaluate_tab.set_drawing(p.pixels if p else None))
        self.draw_tab.likes_requested.connect(self.show_drawing_likes)
        self.draw_tab.turned_requested.connect(self.show_drawing_turned)
        self.layers_tab.sliding_requested.connect(self.show_sliding)
        self.evaluate_tab.personal = self.personal.store
        self.train_tab.trained.connect(self._use_trained_model)
        self.train_tab.kernels.connect(self.kernels_tab.show_training_snapshot)
        self.train_tab.live_model.connect(self.layers_tab.show_live)
        self.train_tab.run_ended.connect(self.layers_tab.end_live)
        self.tabs.currentChanged.connect(  # a run sends copies of its model only while someone watches them
            lambda _index: self.train_tab.send_live_model(self.tabs.currentWidget() is self.layers_tab))
        self.train_tab.activity.connect(self.activity_status.setText)
        self.evaluate_tab.activity.connect(self.activity_status.setText)
        self.evaluate_tab.sampleOpened.connect(self.open_test_image)
        self.evaluate_tab.invariance.opened.connect(
            lambda prepared, what: self.show_picture(1.0 - prepared.pixels, f"Opened {what} (Turned and moved)", prepared))
        self.train_tab.sampleOpened.connect(lambda source, label, prepared, page: self.open_test_image(
            source, label, prepared, page, from_test_set=False))
        self.experiments_tab.activity.connect(self.activity_status.setText)
        self.experiments_tab.make_active.connect(self.load_model)
        self.experiments_tab.continue_run.connect(self.continue_run)
        self.train_tab.continue_requested.connect(self.continue_run)
        self.experiments_tab.use_settings.connect(self.use_settings)

        self.setAcceptDrops(True)  # an image or a model dropped anywhere on the window
        self._build_menus()
        self._model_changed(self.active.predictor)
        self._restore_settings()
        interrupted = interrupted_run()
        if interrupted:
            self.train_tab.offer_to_continue(interrupted)
            self.activity_status.setText("Your last run was interrupted: the Train tab can continue it")
        QTimer.singleShot(0, self.active.predictor.warm_up)  # once the window is up, before the first stroke

    # --- menus and shortcuts ---------------------------------------------------------------------
    def _build_menus(self) -> None:
        canvas = self.draw_tab.canvas
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open image…", QKeySequence.StandardKey.Open, self.choose_image)
        samples_menu = file_menu.addMenu("Open a sample &drawing")  # a demo's digit, the same each time
        for digit in range(10):
            samples_menu.addAction(f"&{digit}", lambda _checked=False, digit=digit: self.open_sample(digit))
        file_menu.addSeparator()
        self._action(file_menu, "&Load model…", "Ctrl+L", self.choose_model)
        self.recent_menu = file_menu.addMenu("Load &recent model")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._action(file_menu, "&Save model…", QKeySequence.StandardKey.Save, self.save_model)
        self._action(file_menu, "Use the &default model", None, self.use_default_model)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", [QKeySequence.StandardKey.Quit, "Ctrl+Q"], self.close)  # Windows has no standard Quit key
        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action(edit_menu, "&Undo", QKeySequence.StandardKey.Undo, canvas.undo)
        self.redo_action = self._action(edit_menu, "&Redo", [QKeySequence.StandardKey.Redo, "Ctrl+Y"], canvas.redo)
        self.paste_action = self._action(edit_menu, "&Paste image", QKeySequence.StandardKey.Paste, self.paste_image)
        self._action(edit_menu, "&Clear canvas", ["Esc", "Delete"], canvas.clear)
        edit_menu.addSeparator()
        self._action(edit_menu, "&Thinner pen", "[", lambda: self.draw_tab.change_pen_width(-2))
        self._action(edit_menu, "T&hicker pen", "]", lambda: self.draw_tab.change_pen_width(+2))
        self.draw_tab.follow_history(self.undo_action, self.redo_action)
        run_menu = self.menuBar().addMenu("&Run")
        self._action(run_menu, "&Train", "Ctrl+Return", self.start_training)
        self._action(run_menu, "&Stop training", "Ctrl+.", self.train_tab.stop)
        self._action(run_menu, "&Find a learning rate…", None, self.find_learning_rate)
        self._action(run_menu, "&Evaluate", "F5", self.start_evaluation)
        view_menu = self.menuBar().addMenu("&View")
        for index in range(self.tabs.count()):  # tabs by key, for a lesson that moves between them
            self._action(view_menu, f"&{self.tabs.tabText(index)} tab", f"Ctrl+{index + 1}",
                         lambda _checked=False, index=index: self.tabs.setCurrentIndex(index))
        view_menu.addSeparator()
        self.full_screen_action = self._action(view_menu, "&Full screen", [QKeySequence.StandardKey.FullScreen, "F11"],
                                               self.toggle_full_screen)
        self.full_screen_action.setCheckable(True)
        self.size_menu = add_size_menu(view_menu, self, self.settings, SMALLEST_SIZE)
        self.error_rate_action = self._action(view_menu, "Accuracy as &error rate (log scale)", None, self.show_error_rate)
        self.error_rate_action.setCheckable(True)
        self.error_rate_action.setToolTip("Near 99 %, runs an accuracy chart draws as one line are apart as errors")
        for chart in self._accuracy_charts():  # and on each chart's right-click menu
            chart.accuracy_scale.plot.addAction(self.error_rate_action)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "Take the &tour", None, self.show_tour)
        self._action(help_menu, "&Keyboard shortcuts", QKeySequence.StandardKey.HelpContents, self.show_shortcuts)
        self._action(help_menu, "How a kernel &slides (size, padding, stride)…", None, lambda: self.show_sliding())
        self._action(help_menu, "&About Digit Studio", None, self.about)

    def _action(self, menu, text, shortcuts, slot) -> QAction:
        action = QAction(text, self)
        keys, shown = [], []  # a standard key also binds media keys ("Open", F14): shown is what a keyboard has
        for shortcut in shortcuts if isinstance(shortcuts, list) else [shortcuts] if shortcuts else []:
            standard = isinstance(shortcut, QKeySequence.StandardKey)
            bindings = [k for k in (QKeySequence.keyBindings(shortcut) if standard else [QKeySequence(shortcut)]) if k not in keys]
            keys += bindings
            shown += bindings[:1]
        action.setShortcuts(keys)
        action.setData(", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in shown))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _splitters(self) -> list[QSplitter]:
        """The bars between a tab's panes, each remembered where the user leaves it."""
        return [splitter for splitter in self.findChildren(QSplitter) if splitter.objectName().endswith("Splitter")]

    def _accuracy_charts(self) -> tuple:
        return self.train_tab.curves, self.experiments_tab.compare.chart, self.experiments_tab.runs.chart

    def show_error_rate(self, error_rate: bool) -> None:
        """Every accuracy chart as error rate on a log scale (0.6 % and 0.4 %, not 99.4 % and 99.6 %), or back."""
        self.error_rate_action.setChecked(error_rate)
        for chart in self._accuracy_charts():
            chart.set_error_rate(error_rate)

    def toggle_full_screen(self) -> None:
        """The whole screen for the app (a projector in a lesson), and back."""
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:  # F11, or the window manager's own control
            self.full_screen_action.setChecked(self.isFullScreen())

    def start_training(self) -> None:
        self.tabs.setCurrentWidget(self.train_tab)
        self.train_tab.start()

    def find_learning_rate(self) -> None:
        self.tabs.setCurrentWidget(self.train_tab)
        self.train_tab.find_learning_rate()

    def continue_run(self, run) -> None:
        """Carry a stopped or interrupted run (the Runs page's RunSummary) on in the Train tab."""
        if self.train_tab.running:
            QMessageBox.information(self, "Training under way", "Wait for the run in the Train tab to end, or stop it, "
                                    "before continuing another.")
            return
        self.tabs.setCurrentWidget(self.train_tab)
        self.train_tab.continue_run(run)

    def use_settings(self, options: dict, source: str) -> None:
        """Options found elsewhere (a compared run's, a search trial's) set in the Train tab, shown there."""
        if self.train_tab.running:
            QMessageBox.information(self, "Training under way", "The Train tab's options cannot change while it trains.")
            return
        self.tabs.setCurrentWidget(self.train_tab)
        self.train_tab.use_options(options, source)

    def start_evaluation(self) -> None:
        self.tabs.setCurrentWidget(self.evaluate_tab)
        self.evaluate_tab.start()

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every menu action with a shortcut, then the keys without one."""
        rows = []
        for menu in self.menuBar().findChildren(QMenu):
            for action in menu.actions():
                if action.data():
                    rows.append((action.data(), action.text().replace("&", "").rstrip("…")))
        return rows + list(OTHER_SHORTCUTS)

    def show_shortcuts(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        rows = "".join(f"<tr><td style='padding-right:18px'><b>{keys}</b></td><td>{what}</td></tr>"
                       for keys, what in self.shortcut_rows())
        text = QLabel(f"<table>{rows}</table>")
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        layout.addWidget(buttons)
        dialog.exec()

    # --- model -------------------------------------------------------------------------------------
    def _model_changed(self, predictor: Predictor) -> None:
        self._show_model_status()
        self.kernels_tab.set_model(predictor, self.active.path)
        self.layers_tab.set_model(predictor)
        self.evaluate_tab.set_model(predictor)

    def _show_model_status(self) -> None:
        unsaved = "" if self.active.saved else " (unsaved)"
        self.model_status.setText(f"Model: {self.active.description}{unsaved}")
        self.device_status.setText(f"Inference: {self.active.device_name}")

    def _use_trained_model(self, predictor: Predictor, checkpoint: str | None) -> None:
        """A finished run hands its model over in memory; ``checkpoint`` is the file holding it, if any."""
        self.active.set(predictor, Path(checkpoint) if checkpoint else None, saved=False)

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load model", remembered(self.settings, "last_model_dir"), MODEL_FILTER)
        if path:
            remember(self.settings, "last_model_dir", str(Path(path).parent))
            self.load_model(path)

    def load_model(self, path) -> bool:
        """Make a checkpoint active; on failure explain why and keep the current model."""
        try:
            self.active.load(path)
        except CheckpointError as exc:
            show_error(self, "Could not load the model", f"{exc}\n\nThe current model stays active.")
            return False
        self.activity_status.setText(f"Loaded {Path(path).name}")
        return True

    def recent_models(self) -> list[str]:
        return [p for p in remembered(self.settings, "recent_models").splitlines() if p]

    def _remember_active_model(self) -> None:
        """A model kept in a file of the user's goes to the top of File → Load recent model."""
        if not self.active.saved or self.active.path is None:
            return
        path = str(Path(self.active.path).resolve())
        if Path(path) == default_model_path().resolve():
            return  # the default has its own menu entry
        recent = [path, *(p for p in self.recent_models() if p != path)][:RECENT_MODELS]
        remember(self.settings, "recent_models", "\n".join(recent))

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.recent_models() if Path(p).is_file()]  # moved or deleted ones drop out
        for path in recent:
            self.recent_menu.addAction(Path(path).name, lambda path=path: self.load_model(path)).setToolTip(path)
        if not recent:
            self.recent_menu.addAction("No recent models").setEnabled(False)

    def use_default_model(self) -> None:
        self.load_model(default_model_path())

    def save_model(self) -> bool:
        """Ask where, then save; whether the model was saved."""
        start = remembered(self.settings, "last_model_dir") or str(Path.home())
        path = choose_save_path(self, "Save model", Path(start) / "digit-model.pt", MODEL_FILTER)
        return path is not None and self.save_model_to(path)

    def save_model_to(self, path) -> bool:
        try:
            self.active.save(path)
        except (SaveError, CheckpointError) as exc:
            show_error(self, "Could not save the model", f"{exc}\n\nThe model is still active; try another place.")
            return False
        remember(self.settings, "last_model_dir", str(Path(path).parent))
        self.activity_status.setText(f"Saved the model to {path}")
        return True

    # --- images ------------------------------------------------------------------------------------
    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", remembered(self.settings, "last_image_dir"), IMAGE_FILTER)
        if path:
            remember(self.settings, "last_image_dir", str(Path(path).parent))
            self.open_image(path)

    def open_sample(self, digit: int) -> None:
        """One of the app's sample drawings on the canvas, as File → Open a sample drawing gives it."""
        self.open_image(str(sample_digit_path(digit)), ", a drawing shipped with the app")

    def show_tour(self) -> None:
        """Help → Take the tour, from its first stop (a tour under way starts again)."""
        self.tour.start()

    def open_image(self, path: str, how: str = "", from_test_set: bool = False) -> None:
        """Show an image file on the canvas; it is read exactly as `predict` reads it."""
        try:
            gray = read_image(path)
        except ValueError as exc:
            show_error(self, "Could not open the image", str(exc))
            return
        self.show_picture(gray, f"Opened {Path(path).name}{how}", from_test_set=from_test_set)

    def paste_image(self) -> None:
        """A picture on the clipboard (copied from a web page, a screenshot tool or a document), read
        as an opened file is read; a file copied in a file manager is opened."""
        clipboard = QGuiApplication.clipboard()
        files = [url.toLocalFile() for url in clipboard.mimeData().urls() if url.isLocalFile()]
        if files:
            self.open_files(files)
            return
        if not self.read_picture_data(clipboard.mimeData(), "Pasted"):
            self.activity_status.setText("Nothing to paste: the clipboard holds no picture (copy a picture or a picture file)")

    def read_picture_data(self, mime: QMimeData, how: str) -> bool:
        """A picture handed over without a file (pasted, or dragged from a web page), read as the same
        picture's file would be; ``how`` begins the status line. Whether ``mime`` held a picture at all."""
        data = mime.imageData() if mime.hasImage() else None  # decoded from what the other program offers, once
        image = data if isinstance(data, QImage) else data.toImage() if data is not None else QImage()
        if not image.isNull():
            if image.width() * image.height() > MAX_PIXELS:
                show_error(self, f"Could not read the {how.lower()} picture",
                           too_large(f"The {how.lower()} picture", image.width(), image.height()))
                return True
            gray = read_picture(Image.fromarray(image_array(image)))
            self.show_picture(gray, f"{how} a picture of {image.width()}×{image.height()} pixels")
            return True
        encoded = encoded_picture(mime)
        if encoded is None:
            return False
        # A format Qt does not decode here (AVIF, or WebP without Qt's plugin): its bytes are read as a file of them is.
        try:
            gray = read_image(io.BytesIO(bytes(mime.data(encoded))), name=f"The {how.lower()} picture ({encoded})")
        except ValueError as exc:
            show_error(self, f"Could not read the {how.lower()} picture", str(exc))
            return True
        self.show_picture(gray, f"{how} a picture ({encoded})")
        return True

    def show_sliding(self, layer: str = "") -> None:
        """How a kernel sliding over a map sets the map's size, for the active model's layers (``layer`` first)."""
        if self._explorer is not None:  # one at a time: the new one is for the model active now
            self._explorer.close()
        predictor = self.active.predictor
        explorer = self._explorer = ConvExplorer(sliding_layers(predictor.model), predictor.model.name, layer, self)
        explorer.destroyed.connect(lambda: setattr(self, "_explorer", None) if self._explorer is explorer else None)
        explorer.show()

    def show_drawing_turned(self) -> None:
        """What the network reads as the drawing is turned, moved, resized, slanted or made bolder."""
        self.tabs.setCurrentWidget(self.evaluate_tab)
        self.evaluate_tab.views.setCurrentWidget(self.evaluate_tab.invariance)

    def show_drawing_likes(self) -> None:
        """The drawing on the Evaluate tab's map, with the test digits the network finds most like it."""
        self.tabs.setCurrentWidget(self.evaluate_tab)
        self.evaluate_tab.show_drawing_likes()

    def open_test_image(self, source: str, label: str, prepared: PreparedImage, origin: str = "Evaluate",
                        from_test_set: bool = True) -> None:
        """A test image double-clicked in Evaluate (or a validation or training image on the Train tab's
        Predictions or Batches page, not from a test set), on the canvas to be read live and explained: the user's own file as it
        is (the picture, not the network's input), else the 28×28 image, dark on light, read as evaluation
        read it. A test digit kept as a sample would flatter its set's score: the Draw tab says so."""
        if Path(source).is_file():
            self.open_image(source, f" from {origin}, labelled {label}", from_test_set=from_test_set)
        else:
            self.show_picture(1.0 - prepared.pixels, f"Opened {source} from {origin}, labelled {label}", prepared,
                              from_test_set)

    def show_picture(self, gray, status: str, prepared: PreparedImage | None = None, from_test_set: bool = False) -> None:
        self.tabs.setCurrentWidget(self.draw_tab)
        self.draw_tab.canvas.set_image(gray, prepared, from_test_set)
        self.activity_status.setText(status)

    def open_files(self, paths: list[str]) -> None:
        """Files handed to the app (dropped on the window, pasted, or given when it starts, as a file
        manager's Open with gives them): each model is loaded in turn, and the first picture is shown."""
        models = [p for p in paths if p.lower().endswith(MODEL_SUFFIX)]
        pictures = [p for p in paths if p not in models]
        for path in models:
            self.load_model(path)
        if pictures:
            more = len(pictures) - 1
            self.open_image(pictures[0], f" ({more} more picture{'s' if more > 1 else ''} not opened: one at a time)"
                            if more else "")

    @staticmethod
    def _dropped_files(event) -> list[str]:
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        return [f for f in files if f.lower().endswith((MODEL_SUFFIX, *IMAGE_SUFFIXES))]

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()  # anything but a file or a picture is refused: the cursor says so
        if self._dropped_files(event) or mime.hasImage() or encoded_picture(mime):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = self._dropped_files(event)
        if files:
            event.acceptProposedAction()
            self.open_files(files)
        elif self.read_picture_data(event.mimeData(), "Dropped"):  # a picture from a web page or another app, no file
            event.acceptProposedAction()

    # --- misc -----------------------------------------------------------------------------------------
    def about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", (
            f"<h3>{APP_NAME} {__version__}</h3><p>Draw a digit and watch a convolutional network read it; train "
            "it live; see what it learned.</p><p>MNIST: Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
            "licensed CC BY-SA 3.0.<br>Pen digits: E. Alpaydin and F. Alimoglu, Pen-Based Recognition of "
            "Handwritten Digits (Boğaziçi University, UCI Machine Learning Repository), licensed CC BY 4.0; "
            "the shipped model is trained on them.<br>Fashion-MNIST: Zalando Research, MIT licence.</p>"
            f"<p>Your models, runs and samples: {html.escape(shown(user_data_dir()))}<br>"
            f"The log (for a bug report): {html.escape(shown(log_path()))}</p>"))

    # --- settings -------------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = remembered_geometry(self.settings)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self._fit_to_screen()
        self.tabs.setCurrentIndex(remembered(self.settings, "tab"))
        self.show_error_rate(remembered(self.settings, "error_rate_charts"))
        restore_splitters(self.settings, self._splitters())
        self.draw_tab.restore_state(self.settings)
        self.train_tab.restore_state(self.settings)
        self.experiments_tab.restore_state(self.settings)
        self.kernels_tab.restore_state(self.settings)
        self.evaluate_tab.restore_state(self.settings)

    def _fit_to_screen(self) -> None:
        """The size the tabs are laid out for, or as much of the screen as there is (a 1366×768 laptop)."""
        self.resize(PREFERRED_SIZE.boundedTo(self.screen().availableGeometry().size() - FRAME_ALLOWANCE))

    def _save_settings(self) -> None:
        remember_geometry(self.settings, self.saveGeometry())
        remember(self.settings, "tab", self.tabs.currentIndex())
        remember(self.settings, "error_rate_charts", self.error_rate_action.isChecked())
        remember_splitters(self.settings, self._splitters())
        self.draw_tab.save_state(self.settings)
        self.train_tab.save_state(self.settings)
        self.experiments_tab.save_state(self.settings)
        self.kernels_tab.save_state(self.settings)
        self.evaluate_tab.save_state(self.settings)

    def closeEvent(self, event) -> None:
        if not self.active.saved:
            answer = ask_to_save(self)
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Save and not self.save_model():
                event.ignore()
                return
        if self.train_tab.running or self.experiments_tab.running:
            self.activity_status.setText("Stopping training and saving the model…")
            self.activity_status.repaint()  # now: the wait below holds the GUI thread
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self.train_tab.stop_and_wait()
                self.experiments_tab.stop_and_wait()
            finally:
                QApplication.restoreOverrideCursor()
        self.train_tab.stop_work()  # seconds of work, of no use once the window is gone
        self.evaluate_tab.stop_work()
        self.kernels_tab.stop_work()
        self.layers_tab.stop_work()
        self.personal.stop_work()
        for thread in self.findChildren(QThread):  # an evaluation or Personalise still at work
            thread.wait()
        self._save_settings()
        super().closeEvent(event)
