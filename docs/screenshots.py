"""Take a screenshot of each tab of the real app, with a digit drawn by real mouse events.

Run under a virtual X screen:  xvfb-run -s "-screen 0 1400x900x24" python docs/screenshots.py [OUT_DIR]
(the Evaluate tab is captured after its evaluation finishes; training runs briefly on a subset).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QScrollArea, QTableWidgetSelectionRange  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from gui.app import create_application  # noqa: E402
from gui.automation import STROKES, draw_strokes, side_by_side, wait  # noqa: E402
from gui.conv_explorer import ConvExplorer  # noqa: E402
from gui.digit_map_view import DIGIT  # noqa: E402


ZERO = [(0.5, 0.15), (0.32, 0.3), (0.3, 0.65), (0.5, 0.85), (0.68, 0.65), (0.68, 0.3), (0.5, 0.15)]


def use_scratch_home() -> None:
    """Take the shots in a scratch data folder, as a fresh install: the demo runs and samples stay out of
    the user's own. The cache (drawn pen digits, datasets) is shared so that nothing is drawn again."""
    from engine.paths import HOME_ENV, cache_dir

    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    # A scratch home folder too, so that the paths the app shows read as a fresh install's (~/.local/…).
    os.environ["HOME"] = tempfile.mkdtemp(prefix="digit-studio-shots-")
    home = Path.home() / ".local" / "share" / "digit-studio"
    home.mkdir(parents=True)
    (home / "cache").symlink_to(cache, target_is_directory=True)
    os.environ[HOME_ENV] = str(home)


def write_class_folder(folder: Path) -> Path:
    """Two held-out writers' pen digits saved as pictures in subfolders 0-9, as a teacher might sort a
    class's scans: pens of 8-30 px, every third picture a small 64 px scan, and one file that is torn."""
    import numpy as np
    from PIL import Image

    from engine.datasets import pen_file
    from engine.pendigits import TEST_WRITERS, draw, parse_unipen

    rng = np.random.default_rng(0)
    for i, digit in enumerate(d for d in parse_unipen(pen_file()) if d.writer in TEST_WRITERS[1:3]):
        picture = Image.fromarray(draw(digit, None, float(rng.uniform(8, 30))))
        if i % 3 == 0:
            picture = picture.resize((64, 64), Image.Resampling.BOX)
        (folder / str(digit.label)).mkdir(parents=True, exist_ok=True)
        picture.save(folder / str(digit.label) / f"student-{i:03d}.png")
    (folder / "3" / "torn-scan.png").write_bytes(b"half a file")
    return folder


def drawn_samples(window):
    """A store of four samples drawn on the canvas (a 0, a 1 with a flag, a 4 and a 7), the 4 left drawn."""
    from engine.personal import PersonalSamples

    store, canvas = PersonalSamples(Path(tempfile.mkdtemp())), window.draw_tab.canvas
    shown = window.tabs.currentWidget()
    window.tabs.setCurrentWidget(window.draw_tab)
    for label, strokes in ((0, [ZERO]), (1, STROKES[1]), (7, STROKES[7]), (4, STROKES[4])):
        canvas.clear()
        draw_strokes(canvas, strokes)
        store.add(canvas.render_array(), label)
    wait(500)
    window.tabs.setCurrentWidget(shown)
    return store


def teach_each_digit(window, shoot) -> None:
    """The guided round at its second digit: a 0 kept, a 1 with a flag drawn (into a store of its own, so
    that the other shots show no samples); then the 4 drawn again for the other shots."""
    from engine.personal import PersonalSamples

    panel, canvas = window.personal, window.draw_tab.canvas
    users = panel.store
    panel.store = PersonalSamples(Path(tempfile.mkdtemp()))
    panel.teach_button.click()
    draw_strokes(canvas, [ZERO])
    panel.confirm()
    before = window.draw_tab.explanation
    draw_strokes(canvas, STROKES[1])
    while window.draw_tab.explanation is before:
        wait(100)
    shoot("draw-teach")
    panel.store = users
    panel.teach_button.click()
    panel.show_count()  # the status line as the other shots show it
    before = window.draw_tab.explanation
    canvas.clear()
    draw_strokes(canvas, STROKES[4])
    while window.draw_tab.explanation is before:
        wait(100)


def draw_number(window, shoot) -> None:
    """A number written with a thinner pen, read digit by digit; then the 4 again for the other shots."""
    tab, canvas = window.draw_tab, window.draw_tab.canvas
    width = tab.pen_slider.value()
    tab.pen_slider.setValue(10)
    for strokes, name in ((side_by_side(7, 4, 1), "draw-number"), (STROKES[4], None)):
        before = tab.explanation
        canvas.clear()
        draw_strokes(canvas, strokes)
        while tab.explanation is before:
            wait(100)
        if name:
            shoot(name)
            tab.pen_slider.setValue(width)


def run_comparison(window, preset: str, vary: str = "") -> None:
    """A preset's comparison (its quick version), or with ``vary`` a custom one, run to its end on the Compare
    page."""
    experiments = window.experiments_tab
    window.tabs.setCurrentWidget(experiments)
    experiments.pages.setCurrentWidget(experiments.compare)
    compare = experiments.compare
    compare.preset.setCurrentIndex(compare.preset.findData(preset))
    compare.quick.setChecked(True)
    if vary:
        compare.vary.setText(vary)
    compare.start()
    while compare.running:
        wait(200)


def written_networks(window, shoot) -> None:
    """Seed 003's network with a third conv written in, then three networks written as text compared: one
    conv layer, two, and two that shrink their maps by strides rather than pools; then the preset that sets a
    perceptron against two small conv layers (quick)."""
    from engine.config import TrainConfig

    form = window.train_tab.form
    form.set_config(TrainConfig(dataset="mnist", epochs=3, train_subset=20000, scan_epochs=0))
    form.set_value("model", "seed003")
    lines = form.editors["layers"].value().splitlines()
    form.editors["layers"].setPlainText("\n".join([*lines[:4], "conv 16 3x3 pad 1 bn", *lines[4:]]))
    window.tabs.setCurrentWidget(window.train_tab)
    wait(600)  # the summary is rebuilt once typing pauses
    shoot("train-network")
    run_comparison(window, "custom", "layers=conv 8 5x5 pad 2, maxpool 2, dense 64 | conv 8 5x5 pad 2, maxpool 2, "
                   "conv 16 5x5 pad 2, maxpool 2, dense 64 | conv 8 5x5 stride 2 pad 2, conv 16 5x5 stride 2 pad 2, dense 64")
    shoot("experiments-networks")
    run_comparison(window, "convolutions")  # seed 002's perceptron against convs
    shoot("experiments-convolutions")


def activations(window, shoot) -> None:
    """A deep sigmoid network training in the Train tab, its gradients fading layer by layer on the way back
    (the Layer statistics page); the preset that sets ReLU, tanh and sigmoid side by side (quick); a tanh
    network's maps, around zero, in the Layers tab."""
    from engine.config import TrainConfig

    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    tab.charts.setCurrentWidget(tab.layer_stats)

    def train(config: TrainConfig) -> None:
        tab.form.set_config(config)
        done = []
        tab.trained.connect(lambda *_: done.append(True))
        tab.start()
        while tab.running and not done:
            wait(200)
        wait(300)

    train(TrainConfig(dataset="mnist", batch_norm="off", activation="sigmoid", init="xavier", optimizer="sgd",
                      lr=0.01, schedule="constant", augment=False, ema=False, low_resolution=0.0, epochs=1,
                      train_subset=8000, scan_epochs=0))
    shoot("train-layers-sigmoid")
    run_comparison(window, "activations")
    shoot("experiments-activations")
    train(TrainConfig(dataset="mnist", activation="tanh", epochs=1, train_subset=8000, scan_epochs=0))
    window.draw_tab.canvas.clear()
    draw_strokes(window.draw_tab.canvas, STROKES[4])
    window.tabs.setCurrentWidget(window.layers_tab)
    window.layers_tab.select(1, 3)  # conv2's fourth map, made from conv1's tanh maps
    shoot("layers-tanh")


def main(out_dir: Path) -> int:
    use_scratch_home()
    app = create_application()  # kept referenced: a collected QApplication takes the widgets down with it
    from gui.main_window import MainWindow

    out_dir.mkdir(parents=True, exist_ok=True)
    # Fresh settings every time: the shots show the app's defaults, not the last run's choices.
    settings_file = Path(tempfile.mkdtemp()) / "screenshot-settings.ini"
    window = MainWindow(settings=QSettings(str(settings_file), QSettings.Format.IniFormat))
    window.resize(1280, 820)
    window.show()
    QTest.qWaitForWindowExposed(window)
    draw_strokes(window.draw_tab.canvas, STROKES[4])
    wait(300)

    def shoot(name):
        wait(400)
        window.grab().save(str(out_dir / f"{name}.png"))
        print(f"saved {out_dir / name}.png")

    while window.draw_tab.explanation is None:
        wait(100)
    shoot("draw")
    window.show_tour()  # Help → Take the tour, at its stop on the map of why
    window.tour.show_stop(1)
    shoot("tour")
    window.tour.hide()
    teach_each_digit(window, shoot)
    draw_number(window, shoot)
    window.tabs.setCurrentWidget(window.layers_tab)
    window.layers_tab.select(1, 3)  # conv2's fourth map: its kernel and the channels it read…
    window.layers_tab.selected._hover((6.5, 8.5))  # …and the sum worked out at one place, as under the mouse
    shoot("layers")
    layers = window.layers_tab  # the last layer's arithmetic: what each of fc1's units adds to the answer's score
    column = layers.findChild(QScrollArea)
    column.verticalScrollBar().setValue(column.verticalScrollBar().maximum())
    output, fc1 = layers._rows["output"], layers._rows["fc1"]
    answer = int(output.values.argmax())
    output._hover(output.plot.getPlotItem().vb.mapViewToScene(QPointF(answer, 0.5)))
    fc1._hover(fc1.plot.getPlotItem().vb.mapViewToScene(QPointF(int(layers._scored[1].contributions.argmax()), 0.1)))
    shoot("layers-score")
    column.verticalScrollBar().setValue(0)
    layers.select(0, 8)  # conv1's ninth map switched off: the drawing read without it, and what each map is worth
    layers.switch_off.setChecked(True)
    while layers.finding_needed:
        wait(100)
    shoot("layers-switched-off")
    layers.switch_off.setChecked(False)
    window.show_sliding("pool1")  # how a kernel slides: digitnet's first pooling, held at one output
    explorer = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ConvExplorer) and w.isVisible())
    explorer.timer.stop()
    explorer.picture.hovered.emit((2, 4))
    wait(400)
    explorer.grab().save(str(out_dir / "layers-sliding.png"))
    print(f"saved {out_dir / 'layers-sliding'}.png")
    explorer.close()
    window.tabs.setCurrentWidget(window.kernels_tab)
    while window.kernels_tab.finding_patches:
        wait(100)
    shoot("kernels")
    window.tabs.setCurrentWidget(window.evaluate_tab)
    while window.evaluate_tab.running:
        wait(100)
    shoot("evaluate")
    window.evaluate_tab.test_set.setCurrentIndex(window.evaluate_tab.test_set.findData("pen"))
    window.evaluate_tab.start()
    while window.evaluate_tab.running:
        wait(100)
    worst_writer = min(window.evaluate_tab.result.per_writer(), key=lambda row: row[2])[0]
    window.evaluate_tab.show_writer(worst_writer)  # the writer read worst: their digits, misread first
    shoot("evaluate-pen")
    window.evaluate_tab.views.setCurrentIndex(1)  # how sure vs how often right, on the same writers…
    window.evaluate_tab.show_as_sure_as(min(window.evaluate_tab.confidence.table)[0])  # …and its least sure answers
    shoot("evaluate-confidence")
    tab = window.evaluate_tab
    tab.personal = drawn_samples(window)  # four samples of the user's own, as diamonds
    tab.views.setCurrentWidget(tab.map_page)  # the map of the same writers' digits, the drawing among them…
    while tab.digit_map is None or len(tab.map_plot.yours_labels) < 4:
        wait(100)
    result, placed = tab.result, list(tab.digit_map.indices)
    one_as_seven = [i for i in result.misclassified() if (result.labels[i], result.predictions[i]) == (1, 7)]
    tab.show_most_alike(DIGIT, placed.index((one_as_seven or list(result.misclassified()))[0]))  # …and a 1 read as 7's likes
    shoot("evaluate-map")
    tab.views.setCurrentWidget(tab.invariance)  # the same drawing turned, step by step
    tab.invariance.choose("turn")
    while tab.invariance.sweeping:
        wait(50)
    shoot("evaluate-turned")
    tab.invariance.choose("fool")  # and nudged, pixel by pixel, until the network reads another digit
    while tab.invariance.sweeping:
        wait(50)
    shoot("evaluate-fooled")
    tab.personal = window.personal.store
    tab.views.setCurrentIndex(0)
    gallery = window.evaluate_tab.errors_gallery  # the most confident mistake, opened in the Draw tab
    centre = gallery.visualItemRect(gallery.item(0)).center()
    before = window.draw_tab.explanation
    QTest.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    QTest.mouseDClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    while window.draw_tab.explanation is before:
        wait(100)
    shoot("evaluate-opened")
    window.tabs.setCurrentWidget(window.evaluate_tab)
    window.evaluate_tab.use_digits(write_class_folder(Path(tempfile.mkdtemp()) / "class-3b"))
    window.evaluate_tab.start()
    while window.evaluate_tab.running:
        wait(100)
    shoot("evaluate-yours")
    window.tabs.setCurrentWidget(window.train_tab)
    tab = window.train_tab
    tab.find_learning_rate()  # the range test on the default options, and the rate it suggests
    while tab.lr_finder.running:
        wait(100)
    wait(400)
    tab.lr_finder.grab().save(str(out_dir / "train-lr-finder.png"))
    print(f"saved {out_dir / 'train-lr-finder'}.png")
    tab.lr_finder.close()
    tab.form.set_value("epochs", 3)
    tab.charts.setCurrentWidget(tab.watched)
    tab.start()
    while tab.running and (tab.watched.shown is None or tab.watched.shown.step < 60):
        wait(100)
    shoot("train-predictions")  # 60 batches in: most digits read, the hardest not yet
    tab.charts.setCurrentWidget(tab.batches)  # what it learns from: a batch as the network is given it
    while tab.running and (tab.batches.shown is None or tab.batches.shown.epoch < 1.05):
        wait(100)
    shoot("train-batches")
    window.tabs.setCurrentWidget(window.layers_tab)  # the run's model followed live, its maps forming
    while tab.running and not window.layers_tab.source.text().startswith("Live"):
        wait(100)
    shoot("layers-live")
    window.tabs.setCurrentWidget(tab)
    tab.charts.setCurrentWidget(tab.layer_stats)
    done = []
    tab.trained.connect(lambda *_: done.append(True))
    while tab.running and not done:
        wait(200)
    wait(300)
    shoot("train-layers")
    tab.charts.setCurrentWidget(tab.curves)
    shoot("train")
    window.tabs.setCurrentWidget(window.kernels_tab)
    window.kernels_tab.replay_slider.setValue(window.kernels_tab.replay_slider.maximum() // 3)
    while window.kernels_tab.finding_patches:
        wait(100)
    shoot("kernels-replay")
    experiments = window.experiments_tab
    compare = experiments.compare
    for preset in ("inits", "batchnorm", "overfitting", "kfold", "optimizers"):  # quick: a subset of MNIST
        run_comparison(window, preset)
        shoot("experiments-compare" if preset == "optimizers" else f"experiments-{preset}")
    window.show_error_rate(True)  # the same runs as error rates on a log axis
    shoot("experiments-error-rate")
    window.show_error_rate(False)
    experiments.pages.setCurrentWidget(experiments.search)
    experiments.search.trials.setValue(8)
    experiments.search.study_name = lambda _config: f"screenshots-{time.time():.0f}"  # a fresh study, not the user's
    experiments.search.start()
    while experiments.search.running:
        wait(200)
    shoot("experiments-search")
    experiments.pages.setCurrentWidget(experiments.runs)
    runs = experiments.runs
    for row, run in enumerate(runs.runs):  # the optimisers just compared
        if run.record.get("label", "").startswith("optimizer=") and run.folder in {r.folder for r in compare.results}:
            runs.table.setRangeSelected(QTableWidgetSelectionRange(row, 0, row, 0), True)
    shoot("experiments-runs")
    written_networks(window, shoot)
    activations(window, shoot)
    import gui.main_window

    gui.main_window.ask_to_save = lambda _parent: gui.main_window.QMessageBox.StandardButton.Discard  # a demo run
    window.close()
    settings_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent))
