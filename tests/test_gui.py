"""The desktop app, driven through its widgets with real mouse and keyboard events (offscreen)."""

import os

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QMimeData, QObject, QPointF, QRect, QSettings, Qt, QThread, QUrl, Slot
from PySide6.QtGui import QFontMetrics, QDesktopServices, QDragEnterEvent, QDropEvent, QImage, QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QProgressBar, QPushButton, QScrollArea, QSplitter, QTabWidget

from engine.config import TrainConfig
from engine.events import BatchShown, Finished, Finishing, Watched
from engine.preprocess import read_image
from gui.automation import STROKES, canvas_point, draw_strokes, press_and_move, side_by_side
from gui.canvas import DrawingCanvas
from gui.evaluate_tab import MAP_PENDING
from gui.main_window import MainWindow


@pytest.fixture(autouse=True)
def quitting_discards(monkeypatch):
    """Closing a window with an unsaved model asks; in these tests the answer is Discard."""
    asked = []
    monkeypatch.setattr("gui.main_window.ask_to_save", lambda _parent: asked.append(1) or QMessageBox.StandardButton.Discard)
    return asked


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.train_tab.stop_and_wait()


@pytest.fixture
def tiny_data(monkeypatch, tiny_mnist_dir):
    """Training and evaluation in the app use a 1,024-image MNIST, found through the env variable."""
    monkeypatch.setenv("DIGIT_STUDIO_DATA", str(tiny_mnist_dir))


def find(window, kind, name):
    widget = window.findChild(kind, name)
    assert widget is not None, f"no {kind.__name__} named {name}"
    return widget


def test_a_workers_outcome_reaches_any_slot_on_the_gui_thread(qtbot, caplog):
    """A lambda connected to a worker's result runs on the GUI thread, as a widget's method does (PySide6 runs
    such a slot in the emitting object's thread); a failure is logged under the work's name."""
    from gui.workers import FunctionWorker, start_in_thread

    def fails():
        raise ValueError("bad input")

    owner, on_gui_thread = QObject(), []
    for work in (lambda: 42, lambda: fails()):
        worker = FunctionWorker(work)
        for signal in (worker.succeeded, worker.failed):
            signal.connect(lambda value: on_gui_thread.append((value, QThread.currentThread() is QApplication.instance().thread())))
        worker.done.connect(lambda: on_gui_thread.append(("done", QThread.currentThread() is QApplication.instance().thread())))
        with qtbot.waitSignal(worker.done, timeout=10_000):
            start_in_thread(worker, owner, "test")
    qtbot.waitUntil(lambda: len(on_gui_thread) == 4)
    qtbot.waitUntil(lambda: not owner.findChildren(QThread))  # both threads ended and deleted, before their owner is
    assert [value if value in (42, "done") else type(value) for value, _ in on_gui_thread] == [42, "done", ValueError, "done"]
    assert all(on_gui for _, on_gui in on_gui_thread)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == ["test failed"]


def test_a_clamped_label_keeps_to_its_lines_and_shows_the_whole_text_on_hover(qtbot):
    from PySide6.QtWidgets import QLabel

    from gui.style import ClampedLabel

    label = ClampedLabel(lines=2)
    qtbot.addWidget(label)
    label.resize(300, label.height())
    label.show()
    height = label.height()
    long = "Personalised in 12 s: held-out personal samples 80% → 100% (5 samples); MNIST 99.55% → 99.25%. " * 3
    label.setText(long, "/models/personalised.pt")
    shown = QLabel.text(label)
    assert label.height() == height and label.text() == long
    assert shown.endswith("…") and long.startswith(shown[:-1]) and len(shown) < len(long)
    assert label.toolTip() == long + "\n/models/personalised.pt"
    label.setText("Saved as 4", "/models/personalised.pt")  # a short text is shown whole; the tooltip is the detail
    assert QLabel.text(label) == "Saved as 4" and label.toolTip() == "/models/personalised.pt"
    label.setText("Saved as 5")  # the detail was the last text's: the next one has none
    assert label.toolTip() == ""
    label.resize(3000, height)  # wider: more of a long text is shown
    label.setText(long)
    assert len(QLabel.text(label)) > len(shown)


def test_automation_names(window):
    assert find(window, QTabWidget, "mainTabs").count() == 6
    find(window, DrawingCanvas, "canvas")
    find(window, QLabel, "predictedDigit")
    for name in ("clearButton", "trainButton", "pauseButton", "stopButton"):
        find(window, QPushButton, name)
    find(window, QProgressBar, "trainProgress")


def test_drawing_is_read_while_drawing_and_on_release(window, qtbot):
    canvas, digit = find(window, DrawingCanvas, "canvas"), find(window, QLabel, "predictedDigit")
    assert digit.text() == "" and window.draw_tab.last_prediction is None
    first, second = STROKES[4]
    draw_strokes(canvas, [first])
    press_and_move(canvas, second)  # button still down: the prediction must follow the pen
    qtbot.waitUntil(lambda: window.draw_tab.last_prediction is not None and canvas.stroke_count() == 1
                    and window.draw_tab.latencies_ms and digit.text() == "4", timeout=3000)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(canvas, *second[-1]))
    assert canvas.stroke_count() == 2 and digit.text() == "4"
    prediction = window.draw_tab.last_prediction
    assert prediction.digit == 4 and prediction.confidence > 0.5
    preview = window.draw_tab.preview.pixmap().toImage()
    assert preview.width() == 28 * 6 and not preview.isNull()
    assert any(preview.pixelColor(x, y).value() > 200 for x in range(0, 168, 3) for y in range(0, 168, 3))


def test_the_window_fits_a_small_screen_and_pages_scroll_rather_than_squeeze(qtbot, settings, window):
    fresh = MainWindow(settings=settings)  # nothing remembered: sized to the screen
    qtbot.addWidget(fresh)
    screen = fresh.screen().availableGeometry()
    assert fresh.width() < screen.width() and fresh.height() < screen.height()

    # A 1366×768 laptop with a taskbar and a title bar: the Draw tab is whole, unscrolled, after a drawing.
    window.resize(1240, 672)
    draw_strokes(window.draw_tab.canvas, STROKES[4])
    qtbot.waitUntil(lambda: window.draw_tab.explanation is not None, timeout=5000)
    draw_page = window.tabs.currentWidget()
    assert draw_page is window.draw_tab
    scroll = QTabWidget.widget(window.tabs, 0)  # the page's own scroll area
    assert isinstance(scroll, QScrollArea) and scroll.verticalScrollBar().maximum() == 0
    for widget in (window.draw_tab.preview, window.draw_tab.why_legend, window.draw_tab.clear_button, window.personal):
        bottom = widget.mapTo(draw_page, widget.rect().bottomLeft()).y()
        assert bottom <= scroll.viewport().height(), widget
    assert window.draw_tab.preview.pixmap().width() >= 28 * 3

    # Smaller still: every page keeps its minimum and scrolls to show the rest.
    window.resize(760, 480)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        page, area = window.tabs.widget(index), QTabWidget.widget(window.tabs, index)
        qtbot.waitUntil(lambda: page.height() >= page.minimumSizeHint().height())
        assert page.width() >= page.minimumSizeHint().width()
        if page.minimumSizeHint().height() > area.viewport().height():
            assert area.verticalScrollBar().maximum() >= page.height() - area.viewport().height() > 0
    window.tabs.setCurrentWidget(window.draw_tab)
    window.resize(1280, 800)  # room again: the pictures at full size
    qtbot.waitUntil(lambda: window.draw_tab.preview.pixmap().width() == 28 * 6)


def test_why_map_follows_real_strokes_onto_the_panel_and_the_canvas(window, qtbot):
    tab, canvas = window.draw_tab, window.draw_tab.canvas
    draw_strokes(canvas, STROKES[7])
    qtbot.waitUntil(lambda: tab.explanation is not None, timeout=5000)
    prediction = tab.last_prediction
    assert tab.explanation.digit == prediction.digit == 7
    assert tab.why_title.text() == f"Why 7, not {prediction.runner_up}"
    assert canvas.has_overlay()
    shown = canvas.grab().toImage()  # red where the strokes make it a 7
    assert any(shown.pixelColor(x, y).red() > shown.pixelColor(x, y).blue() + 60
               for x in range(0, shown.width(), 4) for y in range(0, shown.height(), 4))
    press_and_move(canvas, STROKES[1][0])  # a new stroke: the map no longer explains the drawing
    assert not canvas.has_overlay()
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(canvas, *STROKES[1][0][-1]))
    qtbot.waitUntil(canvas.has_overlay, timeout=5000)
    tab.why_on_canvas.setChecked(False)
    assert not canvas.has_overlay() and tab.explanation is not None
    canvas.clear()
    assert tab.explanation is None


def test_the_map_of_why_can_be_made_by_covering_parts_and_the_choice_is_remembered(window, qtbot, settings):
    tab = window.draw_tab
    draw_strokes(tab.canvas, STROKES[7])
    qtbot.waitUntil(lambda: tab.explanation is not None, timeout=5000)
    gradients = tab.explanation
    assert gradients.method == "gradients" and tab.why_legend.text().startswith("Red: strokes that make it a 7.")
    tab.why_method.setCurrentIndex(tab.why_method.findData("occlusion"))  # the same drawing, its map made again
    prediction = tab.last_prediction
    covered = tab.explanation
    assert covered.method == "occlusion" and covered is not gradients and tab.canvas.has_overlay()
    expected = window.active.predictor.explain(prediction, prediction.runner_up, "occlusion")
    np.testing.assert_allclose(covered.saliency, expected.saliency, atol=1e-5)
    assert not np.allclose(covered.saliency, gradients.saliency, atol=1e-3)
    assert tab.why_legend.text().startswith(f"Red: strokes whose covering lowers the 7's lead over {prediction.runner_up}.")
    assert "patch over each pixel is erased" in tab.why.toolTip()
    window._save_settings()
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    assert again.draw_tab.why_method.currentData() == "occlusion"
    settings.setValue("why_method", "tea leaves")  # a value no version wrote: the default
    fallen_back = MainWindow(settings=settings)
    qtbot.addWidget(fallen_back)
    assert fallen_back.draw_tab.why_method.currentData() == "gradients"


def test_a_click_on_a_class_bar_asks_why_the_answer_is_not_that_class(window, qtbot):
    tab, chart = window.draw_tab, window.draw_tab.chart
    draw_strokes(tab.canvas, STROKES[7])
    qtbot.waitUntil(lambda: tab.explanation is not None, timeout=5000)
    prediction = tab.last_prediction
    asked = next(c for c in range(10) if c not in (7, prediction.runner_up))

    def click(index):
        place = chart.mapFromScene(chart.getPlotItem().vb.mapViewToScene(QPointF(index, 0.5)))
        qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=place)

    click(asked)
    assert tab.explanation.versus == asked and tab.why_title.text() == f"Why 7, not {asked}"
    np.testing.assert_allclose(tab.explanation.saliency, window.active.predictor.explain(prediction, asked).saliency, atol=1e-5)
    assert tab.why_legend.text().startswith(f"Red: strokes that make it a 7. Blue: strokes that pull it toward {asked}.")
    click(7)  # the answer's own bar: why it is a 7 at all
    assert tab.explanation.versus is None and tab.why_title.text() == "Why 7"
    assert tab.why_legend.text().startswith("Red: strokes that add to the 7's score.")
    press_and_move(tab.canvas, STROKES[1][0])  # drawing on: the question asked still stands
    QTest.mouseRelease(tab.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(tab.canvas, *STROKES[1][0][-1]))
    qtbot.waitUntil(lambda: tab.explanation is not None, timeout=5000)
    assert tab.explanation.versus is None
    tab.canvas.clear()  # a new drawing is asked of its runner-up again
    draw_strokes(tab.canvas, STROKES[7])
    qtbot.waitUntil(lambda: tab.explanation is not None, timeout=5000)
    assert tab.explanation.versus == tab.last_prediction.runner_up


def test_a_tap_of_the_pen_is_not_read_as_a_digit(window):
    """A dot fitted into the network's box is a filled disc, which it would read as a 0."""
    draw_strokes(window.draw_tab.canvas, [[(0.5, 0.5)]])
    assert window.draw_tab.canvas.stroke_count() == 1 and window.findChild(QLabel, "predictedDigit").text() == ""
    assert "Only a dot" in window.draw_tab.confidence_label.text()
    assert not window.personal.confirm_button.isEnabled()


@pytest.mark.parametrize("digit", [1, 7])
def test_other_digits(window, digit):
    draw_strokes(window.draw_tab.canvas, STROKES[digit])
    assert window.findChild(QLabel, "predictedDigit").text() == str(digit)


def test_clear_undo_and_keys(window, qtbot):
    canvas, digit = window.draw_tab.canvas, find(window, QLabel, "predictedDigit")
    draw_strokes(canvas, STROKES[4])
    assert canvas.stroke_count() == 2
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert canvas.stroke_count() == 1
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert canvas.is_empty() and digit.text() == "" and "Draw a digit" in window.draw_tab.confidence_label.text()
    draw_strokes(canvas, STROKES[7])
    qtbot.mouseClick(find(window, QPushButton, "clearButton"), Qt.MouseButton.LeftButton)
    assert canvas.is_empty() and digit.text() == ""
    draw_strokes(canvas, STROKES[7])
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    assert canvas.is_empty() and digit.text() == ""


def test_undo_brings_back_a_cleared_drawing_and_redo_takes_it_again(window, qtbot):
    canvas, tab = window.draw_tab.canvas, window.draw_tab
    assert not tab.undo_button.isEnabled() and not window.redo_action.isEnabled()
    draw_strokes(canvas, STROKES[4])
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert canvas.is_empty() and tab.undo_button.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the clear is taken back
    assert canvas.stroke_count() == len(STROKES[4]) and tab.last_prediction.digit == 4
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert canvas.stroke_count() == len(STROKES[4]) - 1 and tab.redo_button.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert canvas.stroke_count() == len(STROKES[4]) and tab.last_prediction.digit == 4
    qtbot.mouseClick(tab.undo_button, Qt.MouseButton.LeftButton)
    draw_strokes(canvas, [STROKES[1][0]])  # a new stroke: what was undone cannot come back
    assert not tab.redo_button.isEnabled() and not window.redo_action.isEnabled()
    window.redo_action.trigger()
    assert canvas.stroke_count() == len(STROKES[4])


def test_pen_width_keys_and_run_shortcuts(window, qtbot, tiny_data):
    slider = window.draw_tab.pen_slider
    width = slider.value()
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert slider.value() == width + 2 and window.draw_tab.canvas.pen_width == (width + 2) / 280
    for _ in range(40):
        qtbot.keyClick(window, Qt.Key.Key_BracketLeft)
    assert slider.value() == slider.minimum()
    rows = dict(window.shortcut_rows())
    assert rows["F5"] == "Evaluate" and rows["Ctrl+Return"] == "Train" and "Redo" in rows.values()
    assert rows["Ctrl+Q"] == "Quit"  # on every platform, as the README says (Windows has no standard Quit key)
    with qtbot.waitSignal(window.evaluate_tab.activity, timeout=5000):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    assert window.tabs.currentWidget() is window.evaluate_tab
    qtbot.waitUntil(lambda: window.evaluate_tab.result is not None, timeout=60_000)


def test_the_about_box_credits_the_data_and_says_where_the_users_files_and_log_are(window, monkeypatch):
    from engine.logs import log_path
    from engine.paths import shown, user_data_dir

    said = []
    monkeypatch.setattr("gui.main_window.QMessageBox.about", lambda _parent, _title, text: said.append(text))
    window.about()
    assert "Pen digits: E. Alpaydin" in said[0] and "CC BY 4.0" in said[0]
    assert shown(user_data_dir()) in said[0] and shown(log_path()) in said[0]


def test_a_sample_drawing_opens_from_the_file_menu_as_its_file_would(window):
    from engine.paths import sample_digit_path

    window.tabs.setCurrentWidget(window.layers_tab)
    file_menu = window.menuBar().actions()[0].menu()
    samples = next(a.menu() for a in file_menu.actions() if a.menu() and "sample" in a.text())
    samples.actions()[4].trigger()
    assert window.tabs.currentWidget() is window.draw_tab
    assert np.array_equal(window.draw_tab.canvas.picture(), read_image(sample_digit_path(4)))
    assert window.draw_tab.last_prediction.digit == 4
    assert window.activity_status.text() == "Opened digit-4.png, a drawing shipped with the app"


def test_tabs_by_key_and_full_screen_for_a_lesson(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.kernels_tab
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.draw_tab and len(window.personal.store) == 0  # not a digit key
    assert dict(window.shortcut_rows())["Ctrl+6"] == "Evaluate tab"
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(window.isFullScreen)
    assert window.full_screen_action.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: not window.isFullScreen())
    assert not window.full_screen_action.isChecked()


def test_the_interface_size_is_chosen_in_the_view_menu_and_the_app_offers_to_restart(window, settings, monkeypatch):
    from gui import interface_size

    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    sizes = next(a.menu() for a in view_menu.actions() if a.menu() and "size" in a.text())
    actions = {a.text(): a for a in sizes.actions()}
    assert list(actions) == ["100 % (the system's)", "125 %", "150 %", "175 %", "200 %"]
    assert actions["100 % (the system's)"].isChecked()
    monkeypatch.setattr(window.screen(), "availableGeometry", lambda: QRect(0, 0, 1366, 768))
    sizes.aboutToShow.emit()
    assert actions["150 %"].isEnabled() and not actions["175 %"].isEnabled()  # 781×439 left: under the window's least
    assert not any("%" in what for _keys, what in window.shortcut_rows())  # sizes have no keys: not listed

    def on_disk() -> list[str]:  # what a new process would read
        return [line for line in open(settings.fileName()).read().splitlines() if line.startswith("interface_size")]

    asked, started = [], []
    monkeypatch.setattr(interface_size, "start_again", lambda: started.append(on_disk()) or True)
    monkeypatch.setattr("gui.interface_size.QMessageBox.question",
                        lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.StandardButton.No)
    actions["150 %"].trigger()
    assert settings.value("interface_size") == 150 and "150 %" in asked[0] and window.isVisible() and not started
    actions["100 % (the system's)"].trigger()  # the size this process has: nothing to restart for
    assert int(settings.value("interface_size")) == 100 and len(asked) == 1
    monkeypatch.setattr("gui.interface_size.QMessageBox.question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    actions["125 %"].trigger()
    # Closed as its close button closes it, then started again, with the new size on disk for it to read.
    assert started == [["interface_size=125"]] and not window.isVisible()


def test_canvas_renders_the_same_drawing_at_any_size(qtbot):
    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(300, 300)
    canvas.show()
    draw_strokes(canvas, STROKES[7])
    before = canvas.render_array()
    canvas.resize(600, 450)
    after = canvas.render_array()
    assert before.shape == (280, 280) and np.abs(before.astype(int) - after.astype(int)).mean() < 2
    assert before.min() == 0 and before.max() == 255


def test_a_small_picture_shows_its_pixels_on_screen_and_reaches_the_network_smooth(qtbot):
    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(320, 320)
    canvas.show()
    scan = np.ones((8, 8), np.float32)
    scan[1:7, 3:5] = 0.0  # an 8×8 binary scan of a 1: ink on paper, two levels
    canvas.set_image(scan)
    shown = canvas.grab().toImage()
    levels = {shown.pixelColor(x, y).value() for x in range(20, 300, 3) for y in range(20, 300, 3)}
    assert levels == {0, 255}  # blocks, as an image viewer zooms: no grey from smoothing
    smooth = canvas.render_array()
    assert len(np.unique(smooth)) > 10  # drawn over, the network is given it smoothly enlarged
    canvas.set_image(np.asarray(Image.fromarray(scan).resize((160, 160), Image.Resampling.BILINEAR)))
    shown = canvas.grab().toImage()  # enlarged under 4×, a picture is shown smoothly
    assert len({shown.pixelColor(x, y).value() for x in range(20, 300, 3) for y in range(20, 300, 3)}) > 10


def test_open_image_and_drop_read_the_file_as_predict_does(window, tmp_path, mnist, monkeypatch):
    from conftest import mnist_digit_as_drawing

    # Black ink on a transparent background: Qt's grey conversion drops alpha and sees nothing.
    ink = 255 - mnist_digit_as_drawing(mnist.test_images[0], 200)
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[..., 3] = ink
    path = tmp_path / "transparent.png"
    Image.fromarray(rgba, "RGBA").save(path)
    expected = window.active.predictor.predict(read_image(path))
    assert expected.digit == int(mnist.test_labels[0])
    window.open_image(str(path))
    assert window.findChild(QLabel, "predictedDigit").text() == str(expected.digit)
    np.testing.assert_array_equal(window.draw_tab.last_prediction.probabilities, expected.probabilities)

    window.draw_tab.canvas.clear()
    assert drop(window.draw_tab.canvas, path)  # dropped on the canvas, as a user would
    np.testing.assert_array_equal(window.draw_tab.last_prediction.probabilities, expected.probabilities)
    (tmp_path / "notes.txt").write_text("not a digit")
    assert not drop(window, tmp_path / "notes.txt")  # refused before it lands

    errors = []
    monkeypatch.setattr("gui.main_window.show_error", lambda _parent, title, message: errors.append(message))
    (tmp_path / "bad.png").write_text("no")
    window.open_image(str(tmp_path / "bad.png"))
    assert errors and "not a readable image" in errors[0]
    assert window.findChild(QLabel, "predictedDigit").text() == str(expected.digit)


def test_a_pasted_picture_is_read_as_its_file_is(window, qtbot, tmp_path, mnist, monkeypatch):
    from conftest import mnist_digit_as_drawing

    # A light digit on a dark, transparent-edged picture: the pasted pixels take the file's route.
    rgba = np.zeros((120, 160, 4), np.uint8)
    rgba[..., :3] = 40
    rgba[10:-10, 30:-30, :3] = np.maximum(40, mnist_digit_as_drawing(mnist.test_images[1], 100))[..., None]
    rgba[..., 3] = 255
    rgba[:, :6, 3] = 0
    path = tmp_path / "copied.png"
    Image.fromarray(rgba, "RGBA").save(path)
    expected = window.active.predictor.predict(read_image(path))
    assert expected.digit == int(mnist.test_labels[1])
    clipboard = QApplication.clipboard()
    clipboard.setImage(QImage(str(path)))
    window.tabs.setCurrentWidget(window.train_tab)
    window.paste_action.trigger()
    assert window.tabs.currentWidget() is window.draw_tab
    np.testing.assert_allclose(window.draw_tab.last_prediction.probabilities, expected.probabilities, atol=1e-6)
    assert "Pasted a picture of 160×120" in window.activity_status.text()

    window.draw_tab.canvas.clear()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])  # a file copied in a file manager
    clipboard.setMimeData(mime)
    window.paste_action.trigger()
    np.testing.assert_array_equal(window.draw_tab.last_prediction.probabilities, expected.probabilities)

    window.draw_tab.canvas.clear()
    clipboard.setText("not a picture")
    window.paste_action.trigger()
    assert window.draw_tab.canvas.is_empty() and "Nothing to paste" in window.activity_status.text()

    window.draw_tab.canvas.clear()
    import io

    encoded = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(encoded, "WEBP", lossless=True)
    mime = QMimeData()
    mime.setData("image/webp", encoded.getvalue())  # offered only encoded, in a format Qt may not decode
    clipboard.setMimeData(mime)
    window.paste_action.trigger()
    np.testing.assert_allclose(window.draw_tab.last_prediction.probabilities, expected.probabilities, atol=1e-6)
    assert "Pasted a picture (image/webp)" in window.activity_status.text()

    window.draw_tab.canvas.clear()
    errors = []
    monkeypatch.setattr("gui.main_window.show_error", lambda _parent, title, message: errors.append(message))
    monkeypatch.setattr("gui.main_window.MAX_PIXELS", 160 * 120 - 1)  # as a picture too large to read would be
    clipboard.setImage(QImage(str(path)))
    window.paste_action.trigger()
    assert window.draw_tab.canvas.is_empty() and errors[0].startswith("The pasted picture: image too large (160×120")
    mime = QMimeData()
    mime.setData("image/avif", b"\x00\x00\x00\x1cftypavif but cut short")
    clipboard.setMimeData(mime)
    window.paste_action.trigger()
    assert window.draw_tab.canvas.is_empty() and errors[1].startswith("The pasted picture (image/avif): not a readable image")

    monkeypatch.undo()
    mime = QMimeData()
    mime.setImageData(QImage(str(path)))  # the same picture dragged out of a web page: data, no file
    assert drop(window.draw_tab.canvas, mime=mime)
    np.testing.assert_allclose(window.draw_tab.last_prediction.probabilities, expected.probabilities, atol=1e-6)
    assert "Dropped a picture of 160×120" in window.activity_status.text()
    window.draw_tab.canvas.clear()
    mime = QMimeData()
    mime.setData("image/webp", encoded.getvalue())  # dropped as encoded bytes only, as pasted above
    assert drop(window.draw_tab.canvas, mime=mime)
    np.testing.assert_allclose(window.draw_tab.last_prediction.probabilities, expected.probabilities, atol=1e-6)
    assert "Dropped a picture (image/webp)" in window.activity_status.text()


def drop(widget, path=None, mime=None) -> bool:
    """Drag ``path`` (or ``mime`` data) over ``widget`` and drop it there; whether the window took it."""
    if mime is None:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(widget, QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    return True


def test_a_dropped_model_loads_and_recent_models_are_remembered(window, tmp_path, monkeypatch):
    import shutil

    from engine.paths import default_model_path

    first, second = tmp_path / "first.pt", tmp_path / "second.pt"
    shutil.copyfile(default_model_path(), first)
    shutil.copyfile(default_model_path(), second)
    assert drop(window.kernels_tab, first) and window.active.path == first
    assert window.load_model(second)
    assert window.recent_models() == [str(second.resolve()), str(first.resolve())]
    first.unlink()  # a model moved away drops out of the menu
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions()] == ["second.pt"]
    errors = []
    monkeypatch.setattr("gui.main_window.show_error", lambda _parent, title, message: errors.append(message))
    assert not window.load_model(first) and errors  # refused, and so not remembered
    assert window.recent_models()[0] == str(second.resolve())
    window.use_default_model()  # the default has its own entry
    assert len(window.recent_models()) == 2


def test_files_given_when_the_app_starts_open_as_a_drop_of_them_does(window, tmp_path, mnist, monkeypatch):
    """A file manager's Open with (or a drop on the app's icon) starts `digit-studio FILE…`."""
    import shutil

    import main
    from conftest import mnist_digit_as_drawing
    from engine.paths import default_model_path

    started = []
    monkeypatch.setattr("gui.app.run_app", lambda verbose=False, files=(): started.append((verbose, files)) or 0)
    for argv in ([], ["--verbose"], ["Seven.PNG"], ["seven.png", "--verbose", "mine.pt"]):
        assert main.main(argv) == 0
    assert started == [(False, []), (True, []), (False, ["Seven.PNG"]), (True, ["seven.png", "mine.pt"])]
    for command in (["predict", "seven.png"], ["--version"], ["seven.png", "--help"], ["notes.txt"]):
        assert main.files_for_the_app(command) is None  # the commands' own, as before

    model = tmp_path / "mine.pt"
    shutil.copyfile(default_model_path(), model)
    pictures = []
    for n in range(3):
        pictures.append(tmp_path / f"digit{n}.png")
        Image.fromarray(255 - mnist_digit_as_drawing(mnist.test_images[n], 200)).save(pictures[-1])
    window.open_files([str(pictures[0]), str(model), *map(str, pictures[1:])])
    assert window.active.path == model and window.recent_models()[0] == str(model.resolve())
    expected = window.active.predictor.predict(read_image(pictures[0]))
    np.testing.assert_array_equal(window.draw_tab.last_prediction.probabilities, expected.probabilities)
    assert window.activity_status.text() == "Opened digit0.png (2 more pictures not opened: one at a time)"
    assert drop(window, mime=_file_urls(pictures[2], tmp_path / "notes.txt"))  # the same route: the picture among them
    assert window.activity_status.text() == "Opened digit2.png"
    errors = []
    monkeypatch.setattr("gui.main_window.show_error", lambda _parent, title, message: errors.append(message))
    window.open_files([str(tmp_path / "gone.png")])
    assert len(errors) == 1 and "gone.png" in errors[0] and window.activity_status.text() == "Opened digit2.png"


def _file_urls(*paths) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_turned_and_moved_shows_what_the_network_reads_as_the_drawing_changes(window, qtbot):
    from engine.invariance import CHANGES

    tab = window.evaluate_tab
    view = tab.invariance
    window.show_drawing_turned()  # nothing drawn yet: the sample drawing of a 7, as the Layers tab follows
    assert window.tabs.currentWidget() is tab and tab.views.currentWidget() is view and view.isVisible()
    swept(view, qtbot)  # in a worker: the GUI thread never waits for a sweep
    made = view.sweep
    assert "sample drawing of a 7" in view.source.text()
    assert view.summary.text().startswith(f"Read as 7 from {made.kept_span()[0]:+g}° to {made.kept_span()[1]:+g}°; at ")
    for k, curve in enumerate(view.curves):  # one curve a class: its probability at each step
        np.testing.assert_allclose(curve.getData()[1], made.probabilities[:, k])
    assert made.unchanged_index in view._shown and 5 <= len(view._shown) <= len(view.pictures)
    assert [p.isVisible() for p in view.pictures] == [n < len(view._shown) for n in range(len(view.pictures))]
    for i, picture, answer in zip(view._shown, view.pictures, view.answers):  # the inputs read, the right way up
        assert np.array_equal(picture.image, made.images[i][::-1]) and answer.toPlainText() == str(made.answers[i])
        rect = picture.mapRectToScene(picture.boundingRect())
        assert rect.width() == pytest.approx(rect.height(), rel=0.05)  # square on screen
    picture, step = view.pictures[len(view._shown) - 1], view._shown[-1]  # the furthest turned, double-clicked
    centre = view.plot.mapFromScene(picture.mapRectToScene(picture.boundingRect()).center())
    for act in (qtbot.mousePress, qtbot.mouseRelease, qtbot.mouseDClick, qtbot.mouseRelease):  # as a mouse sends it
        act(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert window.tabs.currentWidget() is window.draw_tab
    assert window.activity_status.text() == f"Opened the drawing turned {made.amount(made.values[step])} (Turned and moved)"
    opened = window.draw_tab.last_prediction
    np.testing.assert_allclose(opened.pixels, made.images[step], atol=1e-6)
    assert opened.digit == made.answers[step] and view.sweep.images[view.sweep.unchanged_index] is not None
    window.show_drawing_turned()  # and the page now follows the picture opened
    swept(view, qtbot)
    np.testing.assert_allclose(view.sweep.images[view.sweep.unchanged_index], made.images[step], atol=1e-5)
    view.change.setCurrentIndex(view.change.findData("move_x"))
    swept(view, qtbot)
    assert view.sweep.change is CHANGES["move_x"] and view.plot.getAxis("bottom").labelText == CHANGES["move_x"].axis

    window.tabs.setCurrentWidget(window.draw_tab)
    draw_strokes(window.draw_tab.canvas, STROKES[1])
    qtbot.waitUntil(lambda: "Turned and moved" in window.draw_tab.why_legend.text(), timeout=5000)
    window.draw_tab.why_legend.linkActivated.emit("turned")  # the link under the map of why
    swept(view, qtbot)
    assert tab.views.currentWidget() is view and view.source.text() == ""
    drawn = window.draw_tab.last_prediction
    np.testing.assert_allclose(view.sweep.images[view.sweep.unchanged_index], drawn.pixels, atol=1e-5)
    assert view.summary.text().startswith(f"Read as {drawn.digit} ")
    # Nudged to fool it: each pixel moved by at most a few per cent, and the answer is another digit.
    view.choose("fool")
    swept(view, qtbot)
    fooled = view.sweep
    assert fooled.change is CHANGES["fool"] and view.plot.getAxis("bottom").labelText == CHANGES["fool"].axis
    changes = np.abs(fooled.images - fooled.images[fooled.unchanged_index]).max((1, 2))
    assert np.all(changes <= fooled.values / 100 + 1e-6)  # within each step's budget
    at, other = fooled.first_other()
    assert at <= 10 and other != drawn.digit
    assert fooled.answers[-1] != drawn.digit and fooled.probabilities[-1].max() > 0.5  # read as another, and surely
    assert "adversarial example" in view.summary.text()


def swept(view, qtbot) -> None:
    """Wait for the Turned and moved page's sweep: made in a worker, the latest asked for last."""
    qtbot.waitUntil(lambda: view.sweep is not None and not view.sweeping, timeout=10_000)


def test_how_a_kernel_slides_shows_each_outputs_patch_and_the_size_arithmetic(window, qtbot):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    from engine.conv_arithmetic import Sliding
    from gui.conv_explorer import ConvExplorer

    action = next(a for a in window.menuBar().actions()[-1].menu().actions() if "slides" in a.text())
    action.trigger()  # Help → How a kernel slides
    explorer = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ConvExplorer) and w.isVisible())
    assert explorer.preset.currentData() is None and explorer.sliding == Sliding(5, 3, 1, 2)
    assert explorer.formula.text().endswith("⌊(5 + 2×1 − 3) / 2⌋ + 1 = 3") and "padding: 1 pixel of zeros" in explorer.note.text()
    explorer.preset.setCurrentIndex(explorer.preset.findData("pool1"))  # the active model's first pooling layer
    assert explorer.sliding == Sliding(28, 2, 0, 2) and explorer.formula.text().endswith("= 14")
    picture = explorer.picture
    cell, _, output_at = picture._layout()
    point = QPointF(output_at.x() + 4.5 * cell, output_at.y() + 2.5 * cell)  # row 3, column 5 of the output
    QApplication.sendEvent(picture, QMouseEvent(QEvent.Type.MouseMove, point, picture.mapToGlobal(point),
                                                Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    assert picture.at == (2, 4) and not explorer.timer.isActive() and "row 3, column 5" in explorer.note.text()
    assert explorer.sliding.taps(4) == [8, 9]  # the pixels it reads: its own 2×2 patch
    explorer.step()  # the slide goes on from where it was, row by row
    assert picture.at == (0, 1)
    explorer.spins["padding"].setValue(1)  # edited by hand: no longer the layer's
    assert explorer.preset.currentData() is None and explorer.sliding == Sliding(28, 2, 1, 2)
    explorer.spins["kernel"].setValue(9)
    explorer.spins["size"].setValue(3)
    assert explorer.sliding.out == 0 and "does not fit once" in explorer.note.text()
    explorer.close()
    window.tabs.setCurrentWidget(window.layers_tab)
    window.layers_tab.select(1, 0)  # conv2's first map, then the link beside how it was made
    window.layers_tab.sliding_link.linkActivated.emit("sliding")
    assert window._explorer.preset.currentData() == "conv2"
    window.layers_tab.select(2, 0)  # conv3's: the one open follows
    window.layers_tab.sliding_link.linkActivated.emit("sliding")
    qtbot.wait(10)  # closed ones are deleted
    opened = [w for w in QApplication.topLevelWidgets() if isinstance(w, ConvExplorer) and w.isVisible()]
    assert len(opened) == 1 and opened[0].preset.currentData() == "conv3" and opened[0].sliding == Sliding(14, 3, 1, 1)


def test_a_model_of_other_classes_is_read_by_their_names_and_not_taught_handwriting(window, qtbot, tmp_path):
    from engine.checkpoint import save_checkpoint
    from engine.datasets import REGISTRY
    from engine.predict import Predictor

    names = REGISTRY["fashion-mnist"].class_names
    shipped = Predictor.load()
    save_checkpoint(tmp_path / "fashion.pt", shipped.model, shipped.metadata | {"class_names": list(names), "dataset": "fashion-mnist"})
    tab, panel = window.draw_tab, window.personal
    draw_strokes(tab.canvas, STROKES[7])
    assert panel.confirm_button.isEnabled() and panel.teach_button.isEnabled()
    assert window.load_model(tmp_path / "fashion.pt")
    qtbot.waitUntil(lambda: tab.last_prediction is not None and tab.last_prediction.class_names == names, timeout=5000)
    answer = tab.last_prediction.name
    assert answer in names and tab.digit_label.text() == answer
    assert [label for _, label in tab.chart.getAxis("bottom")._tickLevels[0]][9] == "Ankle\nboot"
    qtbot.waitUntil(lambda: tab.why_title.text().startswith(f"Why {answer}, not "), timeout=5000)
    assert "The test images most like it" in tab.why_legend.text()
    assert not panel.confirm_button.isEnabled() and not panel.label_buttons[0].isEnabled()
    assert not panel.teach_button.isEnabled() and not panel.personalise_button.isEnabled()
    assert "A model of fashion-mnist: your handwriting teaches digit models only" in panel.status.text()
    window.use_default_model()  # a digit model again: its answers are digits and it can be taught
    qtbot.waitUntil(lambda: tab.digit_label.text() == "7", timeout=5000)
    assert panel.confirm_button.isEnabled() and panel.teach_button.isEnabled()
    assert tab.chart.getAxis("bottom")._tickLevels[0][9] == (9, "9")


def test_corrupt_model_is_refused_and_the_old_model_stays(window, tmp_path, monkeypatch):
    errors = []
    monkeypatch.setattr("gui.main_window.show_error", lambda _parent, title, message: errors.append(message))
    before = window.active.predictor
    (tmp_path / "broken.pt").write_bytes(b"\x00" * 100)
    assert window.load_model(tmp_path / "broken.pt") is False
    assert "broken.pt: corrupt or not a checkpoint" in errors[0] and "current model stays" in errors[0]
    assert window.active.predictor is before


def test_train_button_runs_to_completion_and_activates_the_model(window, qtbot, tiny_data):
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    tab.form.set_value("epochs", 2)
    tab.form.set_value("batch_size", 64)
    tab.form.set_value("dataset", "mnist")  # whole MNIST batches make the step count below exact
    kernels_before = window.kernels_tab.conv1.image.image.copy()
    captions = []  # the Kernels tab's while it shows the run's kernels
    tab.kernels.connect(lambda _snapshot: captions.append(window.kernels_tab.source.text()))
    model_before = window.active.predictor
    axes = [plot.getAxis("bottom") for plot in (tab.curves.loss_plot, tab.curves.acc_plot)]
    assert not any(axis.style["showValues"] for axis in axes)  # no batch or epoch numbers before a run
    with qtbot.waitSignal(window.active.changed, timeout=120_000) as changed:
        qtbot.mouseClick(find(window, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
        assert find(window, QPushButton, "stopButton").isEnabled()
    assert changed.args[0] is not model_before and window.active.predictor is changed.args[0]
    assert window.active.predictor.metadata["config"]["epochs"] == 2
    assert not window.active.saved and "(unsaved)" in window.model_status.text()
    qtbot.waitUntil(lambda: not tab.running, timeout=10_000)
    curves = tab.curves
    assert len(curves.raw_loss.getData()[0]) == len(curves.steps) == 2 * ((1024 - 85) // 64)
    steps, rates = curves.lr_curve.getData()  # the schedule's learning rate beside the loss
    assert list(steps) == curves.steps and max(rates) == pytest.approx(TrainConfig().lr, rel=0.01) and rates[-1] < 1e-4
    assert list(curves.train_acc.getData()[0]) == [1, 2]
    assert all(axis.style["showValues"] for axis in axes) and curves.acc_plot.viewRange()[0] == [0.5, 2.5]
    progress = find(window, QProgressBar, "trainProgress")
    assert progress.value() == progress.maximum() and "test accuracy" in progress.format()
    assert "ETA" not in tab.rate_label.text()
    assert not np.allclose(window.kernels_tab.conv1.image.image, kernels_before, equal_nan=True)
    assert captions[0].startswith("Live from training, step 20: the kernels")  # the patches below are not the run's
    assert find(window, QPushButton, "trainButton").isEnabled()
    # The Predictions page: validation digits, a column per digit, with the finished model's answers.
    watched = tab.watched.shown
    assert watched.step == 28 and len(tab.watched.pictures) == len(watched.labels) >= 30
    answers = [int(window.active.predictor.probabilities(image / 255).argmax()) for image in watched.images]
    assert [c.text().split()[0] for c in tab.watched.captions] == [str(a) for a in answers]
    right = sum(a == label for a, label in zip(answers, watched.labels))
    assert find(window, QLabel, "watchedHeader").text().startswith(f"{right} of {len(answers)} digits read right · step 28")
    assert tab.watched.grid.getItemPosition(tab.watched.grid.indexOf(tab.watched.pictures[-1]))[1] == watched.labels[-1]
    # A double-click opens that digit in the Draw tab, read (and explained) by the model the run made.
    qtbot.mouseDClick(tab.watched.pictures[5], Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.draw_tab
    qtbot.waitUntil(lambda: window.draw_tab.explanation is not None, timeout=5000)
    np.testing.assert_allclose(window.draw_tab.last_prediction.pixels, watched.images[5] / 255, atol=1e-6)
    assert window.draw_tab.last_prediction.digit == answers[5]
    assert window.activity_status.text() == f"Opened validation digit 6 of {len(answers)} from the Train tab's Predictions, labelled {watched.labels[5]}"
    # The Batches page: the batch of step 20 was kept while the page was hidden, and drawn when it is seen.
    window.tabs.setCurrentWidget(tab)
    assert tab.batches.shown is None and tab.batches.pictures == []
    tab.charts.setCurrentWidget(tab.batches)
    batch = tab.batches.shown
    assert batch.step == 20 and len(tab.batches.pictures) == 40 and batch.kinds == ("MNIST",) * 40
    assert len(batch.reduced) == 40 and 0 < sum(batch.reduced) < 40  # Augment made some of them small scans
    assert all(("dashed" in p.styleSheet()) == small for p, small in zip(tab.batches.pictures, batch.reduced))
    assert find(window, QLabel, "batchHeader").text().startswith("Step 20 (epoch 1.43): ")
    assert "MNIST 64" in tab.batches.note.text() and "Augment is on" in tab.batches.note.text()
    qtbot.mouseDClick(tab.batches.pictures[3], Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.draw_tab
    qtbot.waitUntil(lambda: np.allclose(window.draw_tab.last_prediction.pixels, batch.images[3] / 255, atol=1e-6), timeout=5000)
    assert window.activity_status.text() == ("Opened a training image of step 20 (MNIST) from the Train tab's Batches, "
                                             f"labelled {batch.labels[3]}")


def test_the_layers_tab_follows_the_model_live_while_a_run_trains(window, qtbot, tiny_data):
    from engine.predict import Predictor
    from gui.layers_tab import HINT

    tab, layers = window.train_tab, window.layers_tab
    tab.form.set_value("epochs", 2)
    tab.form.set_value("batch_size", 64)
    tab.form.set_value("dataset", "mnist")  # 14 steps an epoch: one copy of the model, at step 20
    window.tabs.setCurrentWidget(layers)
    seen = []  # what the tab showed for each copy the run sent

    def shown(snapshot):
        followed = layers._followed()[0]
        seen.append((snapshot, layers.source.text(), layers.layers[0].values.copy(),
                     Predictor(snapshot.model).layers(followed)[0].values, layers.info.text(), layers._selection,
                     layers._rows["conv1"]))

    tab.live_model.connect(shown)  # after the window's own connection: the tab has shown it
    layers.select(1, 3)  # conv2's fourth map chosen
    conv1_row = layers._rows["conv1"]
    layers.info.setText("conv1 map 3 at row 4, column 9: +0.52")  # the active model's value under the mouse
    with qtbot.waitSignal(tab.run_ended, timeout=120_000):
        tab.start()
        assert tab.trainer.model_every == 20
        window.tabs.setCurrentWidget(window.draw_tab)  # nobody looks: no copies…
        assert tab.trainer.model_every == 0
        window.tabs.setCurrentWidget(layers)  # …until someone does
    assert [s[0].step for s in seen] == [20]
    snapshot, caption, maps, expected, info, selection, row = seen[0]
    assert caption.startswith("Live from training, step 20: digitnet") and info == HINT  # not the other model's value
    assert selection == (1, 3) and row is conv1_row  # a model of the same layers: the rows and the map chosen stay
    np.testing.assert_allclose(maps, expected, atol=1e-6)  # the run's model at step 20, not the active one
    assert layers._predictor is window.active.predictor  # the run ended: the model it made is the one shown
    assert not layers.source.text().startswith("Live")
    layers.switch_off.setChecked(True)  # conv2's fourth map off…
    assert np.all(layers.layers[1].values[3] == 0)
    layers.show_live(snapshot)  # a run that ends without a model (stopped, failed) gives the tab back too
    assert layers.source.text().startswith("Live")
    assert not layers.switch_off.isChecked() and not layers.switch_off.isEnabled()  # …on again while a run's copies come
    assert layers.layers[1].values[3].max() > 0
    tab.run_ended.emit()
    assert layers._predictor is window.active.predictor and not layers.source.text().startswith("Live")
    assert layers.switch_off.isEnabled() and "Set the selected map to zero" in layers.switch_off.toolTip()
    layers.stop_work()


def test_closing_the_window_stops_the_search_for_filter_patches_rather_than_waiting(window):
    from engine.paths import cache_dir

    window.tabs.setCurrentWidget(window.kernels_tab)  # a first look starts the search (seconds)
    assert window.kernels_tab.finding_patches
    window.close()
    assert all(thread.isFinished() for thread in window.findChildren(QThread))
    assert not list((cache_dir() / "filter-patches").glob("*.npz"))  # stopped part-way: nothing found, nothing kept


def test_a_model_made_active_during_the_search_for_filter_patches_stops_it_and_is_searched_instead(window, qtbot):
    from engine.predict import Predictor

    tab = window.kernels_tab
    window.tabs.setCurrentWidget(tab)
    searching = tab._patch_worker
    assert searching is not None
    tab.set_model(tab._predictor)  # the same model again: the search goes on
    assert not searching.stopping.is_set()
    personalised = Predictor.load()  # another model (here, the same weights) made active meanwhile
    tab.set_model(personalised)
    assert searching.stopping.is_set()  # the first model's patches would be of no use now
    qtbot.waitUntil(lambda: tab._patches_shown is personalised and not tab.finding_patches, timeout=60_000)


def test_closing_the_window_stops_scoring_a_test_set_rather_than_waiting(window, qtbot, caplog):
    tab = window.evaluate_tab
    window.tabs.setCurrentWidget(tab)  # MNIST's 10,000 test digits (a second or two on 2 cores)
    qtbot.waitUntil(lambda: tab.accuracy_label.text().startswith("Reading the test images"), timeout=30_000)
    window.close()
    assert all(thread.isFinished() for thread in window.findChildren(QThread))
    qtbot.wait(50)
    assert tab.result is None and tab.accuracy_label.text().startswith("Reading")  # stopped at a batch, no score
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.fixture
def undrawn_pen_digits(tmp_path, monkeypatch, tiny_mnist_dir):
    """The bundled pen digits without the drawings that ship beside them, found first (with a small
    MNIST): the app draws them itself, a minute or two, as it would a user's file of other digits."""
    import shutil

    from engine.datasets import pen_file

    (tmp_path / "pendigits").mkdir()
    shutil.copy(pen_file(), tmp_path / "pendigits")
    shutil.copytree(tiny_mnist_dir, tmp_path / "mnist", ignore=shutil.ignore_patterns("pendigits*"))
    monkeypatch.setenv("DIGIT_STUDIO_DATA", str(tmp_path))


def test_closing_the_window_stops_the_first_drawing_of_a_test_set_rather_than_waiting(window, qtbot, caplog,
                                                                                      undrawn_pen_digits):
    from engine.paths import cache_dir

    tab = window.evaluate_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: not tab.running, timeout=30_000)
    tab.test_set.setCurrentIndex(tab.test_set.findData("pen"))
    tab.start()  # the held-out writers' 1,499 digits, drawn the first time (seconds)
    qtbot.waitUntil(lambda: tab.accuracy_label.text().startswith("Drawing"), timeout=30_000)
    window.close()
    assert all(thread.isFinished() for thread in window.findChildren(QThread))
    assert not list(cache_dir().rglob("pendigits-*-test.npz"))  # stopped part-way: no drawing half kept
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # a stop is no failure


def test_closing_the_window_stops_personalise_while_it_draws_its_digits_and_keeps_the_samples(window, qtbot, caplog,
                                                                                               undrawn_pen_digits):
    from engine.paths import cache_dir

    panel, canvas = window.personal, window.draw_tab.canvas
    draw_strokes(canvas, STROKES[7])
    qtbot.mouseClick(window.findChild(QPushButton, "label1"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.findChild(QPushButton, "personaliseButton"), Qt.MouseButton.LeftButton)
    # The shipped model rehearses on MNIST and the pen digits, drawn here the first time (a minute or two).
    qtbot.waitUntil(lambda: panel.status.text().startswith("drawing the pen digits"), timeout=60_000)
    window.close()
    assert all(thread.isFinished() for thread in window.findChildren(QThread))
    assert not list(cache_dir().rglob("pendigits-*-train-*.npz"))  # stopped part-way: no drawing half kept
    assert len(panel.store) == 1 and panel.store.samples()[0].label == 1  # the sample stays for next time
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_predictions_mark_the_answers_that_changed_and_fit_words_under_their_tiles(qtbot):
    from engine.datasets import get_spec
    from gui.watched_view import WatchedView

    view = WatchedView()
    qtbot.addWidget(view)
    names = get_spec("fashion-mnist").class_names
    labels = tuple(np.repeat(np.arange(10), 2))
    images = np.random.default_rng(0).integers(0, 255, (20, 28, 28), dtype=np.uint8)
    guesses = np.full((20, 10), 0.02)
    guesses[:, 9] = 0.82  # everything an ankle boot
    view.show_answers(Watched(0, 0.0, images, labels, guesses, "the validation split", names))
    learned = guesses.copy()
    learned[0] = np.eye(10)[0]  # the first T-shirt now read right
    view.show_answers(Watched(20, 0.5, images, labels, learned, "the validation split", names))
    assert view.header.text().startswith("3 of 20 images read right · step 20")  # the T-shirt and both boots
    first, second = view.captions[0], view.captions[1]
    assert first.text() == "T-shirt…\n100%" and "font-weight: bold" in first.styleSheet()  # changed: in bold
    assert second.text() == "Ankle b…\n82%" and "font-weight" not in second.styleSheet()  # still wrong, unchanged
    assert view.pictures[1].toolTip().startswith("T-shirt/top, read as Ankle boot 82.0%")
    view.reset()
    assert view.pictures == [] and view.grid.count() == 0 and view.header.text() == ""


def test_a_batch_is_shown_with_its_kinds_and_what_the_network_read(qtbot):
    from engine.datasets import DIGITS
    from gui.batch_view import BatchView
    from gui.style import BAD, GOOD

    view = BatchView()
    qtbot.addWidget(view)
    images = np.random.default_rng(0).integers(0, 255, (40, 28, 28), dtype=np.uint8)
    labels = tuple(i % 10 for i in range(40))
    answers = (1,) + labels[1:]  # the first, a 0, read as 1
    kinds = ("MNIST", "pen drawing", "pen, as a scan", "MNIST") * 10
    names = ("MNIST", "pen drawing", "pen, as a scan", "small scan")
    stored = 255 - images
    event = BatchShown(60, 1.25, images, stored, labels, answers, kinds, names, (77, 38, 13, 0), 128, True, class_names=DIGITS,
                       reduced=(False,) * 3 + (True,) + (False,) * 36)  # the fourth made a small scan by Augment
    view.show_batch(event)
    assert view.shown is None and view.pictures == []  # hidden: kept, drawn when seen
    view.show()
    assert view.shown is event and len(view.pictures) == 40
    assert view.grid.getItemPosition(view.grid.indexOf(view.pictures[13]))[:2] == (2, 3)  # ten a row, captions between
    assert view.captions[0].text() == "0→1" and BAD in view.captions[0].styleSheet()
    assert view.captions[1].text() == "1" and GOOD in view.captions[1].styleSheet()
    assert "#1f77b4" in view.pictures[1].styleSheet() and "#ff7f0e" in view.pictures[2].styleSheet()  # pen, scan
    assert view.pictures[2].toolTip().startswith("2, pen, as a scan: read as 2 in this step")
    assert "dashed" in view.pictures[3].styleSheet() and "solid" in view.pictures[2].styleSheet()
    assert view.pictures[3].toolTip().startswith("3, MNIST, reduced to a small scan (or blocks) by Augment: read as 3")
    assert view.tile_source(3) == "a training image of step 60 (MNIST, reduced to a small scan (or blocks) by Augment)"
    assert view.header.text() == "Step 60 (epoch 1.25): 39 of 40 read right before learning from them"
    note = view.note.text()
    assert "The first 40 of a batch of 128" in note and "MNIST 77" in note and "pen, as a scan 13" in note
    assert "</span> small scan" not in note and "Augment is on" in note  # no kind the batch lacks
    assert "a dashed frame: reduced to a small scan by Augment (1 of these 40)" in note
    pixmap = view.pictures[0].pixmap()
    assert pixmap.width() / pixmap.devicePixelRatio() in (56, 84, 112)  # 2 to 4 screen pixels per input pixel
    view.as_stored.setChecked(True)  # the same images before augmentation, and back
    assert view.images is stored and view.as_stored.isEnabled()
    view.as_stored.setChecked(False)
    assert view.images is images
    stage = BatchShown(400, 3.0, images, images, labels, labels, ("small scan",) * 20 + ("MNIST",) * 20, names,
                       (40, 20, 4, 64), 128, True, True, class_names=DIGITS)
    view.show_batch(stage)
    assert view.header.text().startswith("Step 400 (finishing on small scans): 40 of 40")
    assert "small scan 64" in view.note.text() and "20 of each shown" in view.note.text()
    assert "#9467bd" in view.pictures[0].styleSheet()
    warming_up = BatchShown(20, 0.5, images, images, labels, labels, ("MNIST",) * 40, names, (128, 0, 0, 0), 128, False,
                            warming_up=True, class_names=DIGITS)
    view.show_batch(warming_up)
    assert "Augment is off" in view.note.text() and "This epoch is MNIST alone" in view.note.text()
    assert not view.as_stored.isEnabled()
    view.reset()
    assert view.pictures == [] and view.shown is None and view.header.text() == ""


def test_find_a_learning_rate_shows_the_range_test_and_fills_in_its_rate(window, qtbot, tiny_data):
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    tab.form.set_value("dataset", "mnist")
    tab.form.set_value("batch_size", 32)
    qtbot.mouseClick(find(window, QPushButton, "findLr"), Qt.MouseButton.LeftButton)
    dialog = tab.lr_finder
    assert dialog.isVisible() and dialog.running and not dialog.use_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    found = dialog.result
    assert found.suggested and dialog.use_button.isEnabled() and dialog.use_button.text() == f"Use {found.suggested:.2g}"
    rates, losses = dialog.curve.getData()  # drawn on a log axis
    np.testing.assert_allclose(10 ** rates, found.rates) and np.testing.assert_allclose(losses, found.losses)
    assert dialog.suggested_line.value() == pytest.approx(np.log10(found.suggested))
    assert dialog.suggested_line.label.toPlainText() == f"suggested {found.suggested:.2g}"
    assert f"Suggested: a third of {found.lowest:.2g}, {found.suggested:.2g}" in find(dialog, QLabel, "lrFinderStatus").text()
    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and tab.form.config().lr == float(f"{found.suggested:.2g}")
    assert window.activity_status.text().startswith("Learning rate set to")
    # Closed while it runs, the test stops there and then; the Train tab's options stayed as they were.
    tab.find_learning_rate()
    dialog = tab.lr_finder
    qtbot.waitUntil(lambda: dialog._rates != [], timeout=30_000)
    dialog.reject()  # waits for the test to stop: a step at most
    qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
    assert dialog.result.stopped and len(dialog.result.rates) < 120
    # A written network that cannot be built has no learning rate to find.
    tab.form.set_value("model", "custom")
    tab.form.set_value("layers", "conv 8 3x3\nbogus 3")
    qtbot.waitUntil(lambda: tab._network_error != "", timeout=5000)
    assert not find(window, QPushButton, "findLr").isEnabled()


def test_a_range_test_whose_loss_does_not_fall_suggests_nothing_and_offers_a_longer_one(window, qtbot, tiny_data):
    tab = window.train_tab
    for name, value in (("dataset", "mnist"), ("batch_size", 32), ("optimizer", "sgd"), ("model", "custom"),
                        ("batch_norm", "off"), ("layers", "conv 8 3x3 sigmoid\nconv 8 3x3 sigmoid\nconv 8 3x3 sigmoid\n"
                                                            "dense 32 sigmoid\ndense 32 sigmoid")):
        tab.form.set_value(name, value)
    qtbot.waitUntil(lambda: find(window, QPushButton, "findLr").isEnabled(), timeout=5000)
    tab.find_learning_rate()
    dialog = tab.lr_finder
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert dialog.result.suggested is None and not dialog.use_button.isEnabled() and not dialog.suggested_line.isVisible()
    assert "did not fall by a tenth" in dialog.status.text() and dialog.again_button.text() == "Run again, 480 steps"


def test_closing_the_window_stops_a_range_test_rather_than_waiting(window, qtbot, tiny_data):
    tab = window.train_tab
    tab.form.set_value("dataset", "mnist")
    tab.find_learning_rate()
    dialog = tab.lr_finder
    qtbot.waitUntil(lambda: len(dialog._rates) >= 2, timeout=30_000)
    window.close()
    assert all(thread.isFinished() for thread in window.findChildren(QThread))
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=5000)
    assert dialog.result.stopped and len(dialog.result.rates) < 120  # stopped at a step, not run to its end


def test_the_last_stage_on_small_scans_shows_its_own_progress(window):
    tab = window.train_tab
    assert tab.form.editors["scan_epochs"].isEnabled()  # the default dataset is mnist+pen
    tab._on_event(Finishing(step=30, steps=120, loss=0.1234, seconds_left=75))
    progress = find(window, QProgressBar, "trainProgress")
    assert (progress.value(), progress.maximum()) == (30, 120) and "finishing on small scans" in progress.format()
    assert "loss 0.1234" in tab.rate_label.text() and "ETA 1:15" in tab.rate_label.text()
    tab.form.set_value("dataset", "mnist")
    assert not tab.form.editors["scan_epochs"].isEnabled()


def test_layer_statistics_fill_while_training(window, qtbot, tiny_data):
    tab = window.train_tab
    for name, value in (("epochs", 2), ("dataset", "mnist"), ("batch_size", 32)):  # 56 steps: two watched
        tab.form.set_value(name, value)
    tab.charts.setCurrentWidget(tab.layer_stats)
    with qtbot.waitSignal(tab.trained, timeout=120000):
        qtbot.mouseClick(find(window, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    view = tab.layer_stats
    assert view.names[0] == "conv1" and len(view.steps) >= 2
    x, y = view._norm_curves[0].getData()
    np.testing.assert_allclose(10 ** y, [norms[0] for norms in view.norms], rtol=1e-5)  # a log-scale chart
    edges, counts = view._activation_curves[0].getData()
    assert counts.sum() > 0


def test_stop_mid_run_keeps_the_active_model(window, qtbot, tiny_data):
    tab = window.train_tab
    tab.form.set_value("epochs", 50)
    tab.form.set_value("batch_size", 32)
    before = window.active.predictor
    qtbot.mouseClick(find(window, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(tab.curves.steps) > 5, timeout=30_000)
    qtbot.mouseClick(find(window, QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.running, timeout=30_000)
    assert "Stopped" in tab.message.text() and window.active.predictor is before
    # Continue is offered only when an epoch's end was saved to carry on from (not in a first epoch stopped).
    assert ("Continue" in tab.message.text()) == (tab.trainer.run_dir / "last.pt").is_file()
    assert len(tab.curves.steps) < 50 * ((1024 - 85) // 32)


def test_a_stopped_run_continues_from_the_runs_page_with_its_curves(window, qtbot, tiny_data):
    tab, runs = window.train_tab, window.experiments_tab.runs
    for name, value in (("epochs", 3), ("batch_size", 64), ("dataset", "mnist"), ("lr", 0.002)):
        tab.form.set_value(name, value)
    tab.start()
    qtbot.waitUntil(lambda: len(tab.curves.epochs) == 1 and len(tab.curves.steps) > 16, timeout=60_000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=30_000)
    assert "Runs → Continue" in tab.message.text()
    tab.form.set_value("lr", 0.05)  # the form moved on; the run carries on with its own options

    window.tabs.setCurrentWidget(window.experiments_tab)
    window.experiments_tab.pages.setCurrentWidget(runs)
    assert [run.status for run in runs.runs] == ["stopped"]
    assert runs.table.item(0, 0).text() == "lr=0.002, batch_size=64, epochs=3"  # what it tried, not "training run"
    runs.table.selectRow(0)
    qtbot.mouseClick(runs.continue_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is tab and tab.running and tab.form.config().lr == 0.002
    qtbot.waitUntil(lambda: not tab.running, timeout=60_000)
    assert "Continued from the end of epoch 1" in tab.message.text() and "Done" in tab.message.text()
    assert tab.curves.epochs == [1, 2, 3]  # the first epoch's curves with this session's
    assert tab.curves.steps == list(range(1, 3 * ((1024 - 85) // 64) + 1))
    runs.refresh()
    assert [run.status for run in runs.runs] == ["finished"]
    runs.table.selectRow(0)
    assert not runs.continue_button.isEnabled()

    class FileManager(QObject):  # stands in for the desktop's, as Qt lets an app route a URL scheme
        def __init__(self):
            super().__init__()
            self.shown = []

        @Slot(QUrl)
        def show(self, url):
            self.shown.append(url.toLocalFile())

    file_manager = FileManager()
    QDesktopServices.setUrlHandler("file", file_manager, "show")
    try:
        open_folder = next(b for b in runs.findChildren(QPushButton) if b.text() == "Open folder")
        qtbot.mouseClick(open_folder, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert file_manager.shown == [str(runs.runs[0].folder)]


def test_a_run_the_app_never_finished_is_offered_to_be_continued_at_start(qtbot, settings, tiny_data):
    import json
    import subprocess
    import sys

    from engine.events import BatchEnd
    from engine.runs import RECORD
    from engine.train import Trainer

    def stop_in_epoch_two(event):
        if isinstance(event, BatchEnd) and event.epoch == 2:
            trainer.stop()

    trainer = Trainer(TrainConfig(dataset="mnist", epochs=3, batch_size=64, lr=0.002), stop_in_epoch_two)
    trainer.run()
    # As a killed app leaves it: still "running", its process gone.
    ended = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    record = json.loads((trainer.run_dir / RECORD).read_text())
    record.update(status="running", process={**record["process"], "pid": ended})
    (trainer.run_dir / RECORD).write_text(json.dumps(record))

    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    tab = window.train_tab
    assert "Your last run (lr=0.002, batch_size=64, epochs=3, mnist) was interrupted after epoch 1 of 3" in tab.message.text()
    assert "interrupted" in window.activity_status.text()
    tab.message.linkActivated.emit("continue")  # the "Continue it" link
    assert tab.running and tab.form.config().epochs == 3
    qtbot.waitUntil(lambda: not tab.running, timeout=60_000)
    assert "Continued from the end of epoch 1" in tab.message.text() and tab.curves.epochs == [1, 2, 3]
    assert MainWindow(settings=settings).train_tab.message.text() == ""  # finished: nothing more to offer


def test_a_comparison_run_continued_at_epoch_ends_keeps_its_whole_validation_curve():
    from gui.runs_panel import curve_points

    compared = [{"kind": "evaluation", "epoch": e / 4, "val_accuracy": 0.9 + e / 100} for e in range(1, 5)]
    compared.append({"kind": "epoch", "epoch": 1, "val_accuracy": 0.94})  # the same score as the evaluation at 1.0
    continued = [{"kind": "epoch", "epoch": e, "val_accuracy": 0.95 + e / 100} for e in (2, 3)]
    assert [epoch for epoch, _ in curve_points(compared + continued)[1]] == [0.25, 0.5, 0.75, 1, 2, 3]
    assert [epoch for epoch, _ in curve_points(continued)[1]] == [2, 3]


def test_the_smoothed_loss_is_the_weighted_mean_of_the_losses_so_far_not_held_up_by_the_first():
    from gui.run_curves import SMOOTHING, Smoothed

    losses = [2.3] + [0.5] * 20  # a run's first batch, then a fast fall
    smoothed = Smoothed()
    curve = [smoothed.add(loss) for loss in losses]
    weights = (1 - SMOOTHING) ** np.arange(len(losses))[::-1]  # the latest counts most
    assert curve[0] == pytest.approx(2.3) and curve[-1] == pytest.approx(np.average(losses, weights=weights))
    assert curve[-1] < 0.6  # an average started at the first loss still read 1.14 here
    assert smoothed.add(float("nan")) == curve[-1]  # a diverging batch leaves it as it was


def test_a_small_histogram_axis_labels_at_most_three_ticks(qapp):
    from gui.style import FewTicksAxis

    axis = FewTicksAxis("bottom")  # the layer statistics' histograms are each about 110 px wide
    for low, high in ((-0.021, 0.043), (-0.05, 0.05), (0, 10), (-12, 13), (-0.0061, 0.0072), (-1e-5, 3e-5),
                      (-0.027, 0.026), (-0.4, 10.3)):
        (spacing, ticks), = axis.tickValues(low, high, 110)
        inner = FewTicksAxis.INNER * (high - low)
        assert 2 <= len(ticks) <= 3 and all(low + inner <= t <= high - inner for t in ticks), (low, high, ticks)
        widths = [QFontMetrics(axis.font()).horizontalAdvance(text) for text in axis.tickStrings(ticks, 1, spacing)]
        apart = np.diff(ticks).min(initial=np.inf) / (high - low) * 110
        assert apart >= max(widths) + FewTicksAxis.GAP  # no two labels touch
    (_, ticks), = axis.tickValues(-0.06, 0.06, 110)  # "-0.025 0 0.025" would run together: the ends only
    assert [round(t, 6) for t in ticks] == [-0.025, 0.025]
    assert axis.tickStrings([-0.0, 2.5], 1, 2.5) == ["0", "2.5"]


def test_pause_and_resume_from_the_buttons(window, qtbot, tiny_data):
    tab = window.train_tab
    tab.form.set_value("epochs", 50)
    qtbot.mouseClick(find(window, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(tab.curves.steps) > 2, timeout=30_000)
    pause = find(window, QPushButton, "pauseButton")
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert tab.trainer.paused and pause.text() == "Resume"
    qtbot.wait(300)
    count = len(tab.curves.steps)
    qtbot.wait(500)
    assert len(tab.curves.steps) == count
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(tab.curves.steps) > count, timeout=10_000)
    tab.stop_and_wait()


def test_failed_training_shows_the_reason_and_keeps_the_model(window, qtbot, tiny_data):
    tab = window.train_tab
    before = window.active.predictor
    for name, value in (("model", "seed001"), ("optimizer", "momentum"), ("lr", 10.0), ("schedule", "constant"),
                        ("epochs", 6), ("augment", False), ("ema", False), ("batch_size", 32)):
        tab.form.set_value(name, value)
    qtbot.mouseClick(find(window, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.running, timeout=60_000)
    assert "diverged" in tab.message.text() and "active model was not changed" in tab.message.text()
    # Where it blew up, from the layer statistics (this run's gradients grow, or die out, within a few batches).
    assert "gradient" in tab.message.text().split("diverged", 1)[1]
    assert window.active.predictor is before


def test_closing_the_window_during_training_stops_and_saves(qtbot, settings, tiny_data):
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    tab = win.train_tab
    tab.form.set_value("epochs", 50)
    finals = []
    tab.start()
    tab.trainer.on_event = lambda e, emit=tab.trainer.on_event: (finals.append(e) if isinstance(e, Finished) else None, emit(e))
    qtbot.waitUntil(lambda: len(tab.curves.steps) > 3, timeout=30_000)
    win.close()
    assert not tab.running or tab._thread is None or tab._thread.isFinished()
    assert finals and finals[0].stopped and finals[0].checkpoint
    from engine.checkpoint import load_checkpoint

    assert load_checkpoint(finals[0].checkpoint).metadata["metrics"]["stopped"] is True


def test_evaluate_tab_fills_and_cells_open_galleries(window, qtbot, tiny_data, tmp_path):
    tab = window.evaluate_tab
    # Before its first result: an empty grid of the digits, accuracy from 0 to 1 with no bars, the map to come.
    assert [name for _, name in tab.confusion.getAxis("bottom")._tickLevels[0]] == [str(d) for d in range(10)]
    low, high = tab.per_class.viewRange()[1]
    assert tab.confusion.viewRange()[1] == [0, 10] and -0.1 < low <= 0 and 1 <= high < 1.1
    assert len(tab.per_class_bars.opts["height"]) == 0 and tab.map_caption.text() == MAP_PENDING
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.result is not None, timeout=30_000)
    result = tab.result
    assert result.confusion.sum() == 512 and "Accuracy" in tab.accuracy_label.text()
    assert tab.errors_gallery.count() == len(result.misclassified())
    tab.show_cell(3, 3)
    assert tab.cell_gallery.count() == result.confusion[3, 3]
    # The cells fill the plot, however wide its pane, so that the digits naming rows and columns stay beside them.
    assert tab.confusion.viewRange() == [[0, 10], [0, 10]] and tab.confusion.width() > tab.confusion.height()
    # A click on the heat map selects the cell under the mouse.
    from PySide6.QtCore import QPointF
    view = tab.confusion
    scene_pos = view.getPlotItem().vb.mapViewToScene(QPointF(2.5, 7.5))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(scene_pos))
    qtbot.waitUntil(lambda: "TRUE 7, PREDICTED 2" in tab.cell_title.text(), timeout=2000)
    assert tab.cell_gallery.count() == result.confusion[7, 2]
    assert tab.export_button.isEnabled() and tab.export_csv(tmp_path / "evaluation.csv")
    lines = (tmp_path / "evaluation.csv").read_text().splitlines()
    assert len(lines) == 12 and lines[8].split(",")[1:11] == [str(v) for v in result.confusion[7]]
    # How sure vs how often right: every answer in one bar, each bar its answers' accuracy, "Not sure" counted.
    from engine.predict import questioned

    table = tab.confidence.table
    assert sum(n for _, _, n in table) == 512 and all(0 <= acc <= 1 for _, acc, _ in table)
    assert tab.confidence.getPlotItem().titleLabel.text.startswith("How sure vs how often right: ECE ")
    wrong = result.predictions != result.labels
    flagged = questioned(result.probabilities)
    assert f"\"Not sure\" flags {flagged[wrong].sum()} of {wrong.sum()} mistakes" in tab.questioning.text()
    # A click on a bar shows its answers, least sure first.
    from gui.evaluate_views import GALLERY_LIMIT

    tab.views.setCurrentIndex(1)
    mean, _, count = min(table)  # the least sure group
    plot = tab.confidence
    scene_pos = plot.getPlotItem().vb.mapViewToScene(QPointF(mean, 0.05))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(scene_pos))
    qtbot.waitUntil(lambda: tab.cell_title.text().startswith("ANSWERS "), timeout=2000)
    assert tab.cell_gallery.count() == min(count, GALLERY_LIMIT)
    shown = result.as_sure_as(mean)
    assert len(shown) == count and (np.diff(result.probabilities[shown].max(1)) >= 0).all()


def click_on_plot(qtbot, plot, x: float, y: float) -> None:
    scene_pos = plot.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(scene_pos))


def test_the_map_of_the_digits_is_laid_out_when_looked_at_and_puts_your_drawing_among_its_likes(window, qtbot, tiny_data,
                                                                                                 mnist):
    from conftest import mnist_digit_as_drawing
    from gui.digit_map_view import DRAWING, SAMPLE

    tab = window.evaluate_tab
    store = window.personal.store
    for i in (0, 1, 2):  # three of the user's own samples: a 7, a 2 and a 1
        store.add(mnist_digit_as_drawing(mnist.test_images[i]), int(mnist.test_labels[i]))
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.result is not None and not tab.running, timeout=30_000)
    assert tab.digit_map is None  # seconds of work: not done until the map is looked at
    tab.views.setCurrentWidget(tab.map_page)
    qtbot.waitUntil(lambda: tab.digit_map is not None, timeout=30_000)
    made, result, plot = tab.digit_map, tab.result, tab.map_plot
    labels = result.labels[made.indices]
    assert len(made.indices) == 512 and len(plot.dots.data) == 512 and np.array_equal(plot.points, made.points)
    assert len(plot.rings.data) == len(result.misclassified())  # each digit read wrong ringed
    for k, name in enumerate(plot.names):  # each class named over where most of its digits lie
        mine = made.points[labels == k]
        assert name.isVisible() and name.pos().x() == pytest.approx(np.median(mine[:, 0]))
        assert np.median(mine[:, 1]) < name.pos().y() <= mine[:, 1].max()
    assert "512 test digits" in tab.map_caption.text() and "(fc1)" in tab.map_caption.text()
    # The user's samples as diamonds, each where a drawing of it would go; a click shows the digits most like it.
    qtbot.waitUntil(lambda: len(plot.yours_labels) == 3, timeout=10_000)
    assert list(plot.yours_labels) == [int(mnist.test_labels[i]) for i in (0, 1, 2)]
    images = store.tensors().images
    features = torch.from_numpy(np.stack([window.active.predictor.layers(image.numpy() / 255)[-1].values for image in images]))
    assert np.allclose(plot.yours_at, made.place_all(features)[0], atol=1e-3)
    assert "diamonds: your 3 own samples" in tab.map_caption.text()
    click_on_plot(qtbot, plot, *plot.yours_at[0])
    qtbot.waitUntil(lambda: "MOST LIKE YOUR SAMPLE OF A 7" in tab.cell_title.text(), timeout=2000)
    assert tab.cell_gallery.count() == 30 and list(made.indices[plot.chosen_at]) == list(made.indices[made.nearest(features[0], 30)])
    # Hover over a digit read wrong: its picture and what it was read as. A click: it first, then the digits
    # the network finds most like it, circled on the map.
    wrong = int(result.misclassified()[0])
    position = int(np.flatnonzero(made.indices == wrong)[0])
    plot._hovered(plot.getPlotItem().vb.mapViewToScene(QPointF(*made.points[position])))
    assert plot.toolTip().startswith('<img src="data:image/png;base64,')
    assert f"#{wrong}: {result.labels[wrong]}, read as {result.predictions[wrong]} (" in plot.toolTip()
    click_on_plot(qtbot, plot, *made.points[position])
    qtbot.waitUntil(lambda: "DIGITS THE NETWORK FINDS MOST LIKE IT" in tab.cell_title.text(), timeout=2000)
    names = result.labels[wrong], result.predictions[wrong]
    assert tab.cell_title.text().startswith(f"A {names[0]} READ AS {names[1]} (FIRST) AND THE 30 ")
    shown = [tab.cell_gallery.item(i).data(Qt.ItemDataRole.UserRole) for i in range(tab.cell_gallery.count())]
    assert shown[0] == wrong and len(shown) == 31 and list(made.indices[plot.chosen_at]) == shown
    # Your drawing: a star among the digits most like it, gone when the canvas is cleared.
    window.tabs.setCurrentWidget(window.draw_tab)
    draw_strokes(window.draw_tab.canvas, STROKES[7])
    qtbot.waitUntil(lambda: window.draw_tab.last_prediction is not None, timeout=5000)
    window.tabs.setCurrentWidget(tab)
    assert plot.drawing_at is not None and "The star is your drawing, among " in tab.map_caption.text()
    feature = window.active.predictor.layers(window.draw_tab.last_prediction.pixels)[-1].values
    near = made.nearest(feature)
    assert np.allclose(plot.drawing_at, made.place(feature)[0])
    assert f"{(labels[near] == 7).sum()} × 7" in tab.map_caption.text()
    tab.show_most_alike(DRAWING)  # as a click on the star
    assert "MOST LIKE YOUR DRAWING" in tab.cell_title.text() and tab.cell_gallery.count() == 30
    assert plot._near(plot.getPlotItem().vb.mapViewToScene(QPointF(*plot.drawing_at))) == (DRAWING, 0)
    assert plot._near(plot.getPlotItem().vb.mapViewToScene(QPointF(*plot.yours_at[1]))) in ((SAMPLE, 1), (DRAWING, 0))
    # A sample added meanwhile joins the map when it is looked at again.
    window.tabs.setCurrentWidget(window.draw_tab)
    store.add(mnist_digit_as_drawing(mnist.test_images[3]), int(mnist.test_labels[3]))
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: len(plot.yours_labels) == 4, timeout=10_000)
    window.tabs.setCurrentWidget(window.draw_tab)
    store.relabel([store.samples()[0].id], 9)  # …and one relabelled in My samples
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: plot.yours_labels[0] == 9, timeout=10_000)
    # A sample whose file is damaged: left out and named once in the status bar, the others still on the map.
    window.tabs.setCurrentWidget(window.draw_tab)
    store.add(mnist_digit_as_drawing(mnist.test_images[4]), int(mnist.test_labels[4]))
    store.add(mnist_digit_as_drawing(mnist.test_images[5]), int(mnist.test_labels[5]))
    store.samples()[-2].path.write_bytes(b"not a picture any more")
    messages = []
    tab.activity.connect(messages.append)
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: any("not on the map: 1 file left out" in m for m in messages), timeout=10_000)
    qtbot.wait(300)
    assert tab._yours_worker is None and len(plot.yours_labels) == 5 and plot.yours_labels[-1] == mnist.test_labels[5]
    assert sum("not on the map" in m for m in messages) == 1 and "cannot be read" in messages[-1]
    # The same from the Draw tab's link under the map of why, before the map of another test set is laid out.
    tab.show_cell(0, 0)
    tab._forget_map()
    window.tabs.setCurrentWidget(window.draw_tab)
    tab.views.setCurrentIndex(0)
    qtbot.waitUntil(lambda: "most like it" in window.draw_tab.why_legend.text(), timeout=5000)
    window.draw_tab.why_legend.linkActivated.emit("likes")
    assert window.tabs.currentWidget() is tab and tab.views.currentWidget() is tab.map_page
    qtbot.waitUntil(lambda: "MOST LIKE YOUR DRAWING" in tab.cell_title.text(), timeout=30_000)
    made = tab.digit_map
    window.draw_tab.canvas.clear()
    qtbot.waitUntil(lambda: plot.drawing_at is None, timeout=2000)
    # Another model: the map is laid out again for it.
    tab.set_model(window.active.predictor)
    assert tab.digit_map is None and len(plot.dots.data) == 0
    qtbot.waitUntil(lambda: tab.digit_map is not None, timeout=30_000)


def test_a_set_of_other_things_than_digits_is_named_by_its_classes(qtbot, mnist):
    """Fashion-MNIST's long class names: beside their numbers on the confusion matrix, on two lines under the
    per-class bars, and in full under each thumbnail."""
    from dataclasses import replace

    from conftest import subset
    from engine.datasets import REGISTRY
    from engine.evaluate import evaluate
    from engine.predict import Predictor
    from gui.evaluate_views import ConfusionMatrix, Gallery

    names = REGISTRY["fashion-mnist"].class_names
    data = replace(subset(mnist, 0, 200), class_names=names)
    result = evaluate(Predictor.load().model, data.test_images, data.test_labels)
    matrix = ConfusionMatrix()
    qtbot.addWidget(matrix)
    matrix.set_matrix(result.confusion)
    assert [label for _, label in matrix.getAxis("left")._tickLevels[0]] == [str(d) for d in range(10)]
    assert matrix.getAxis("bottom").labelText == "predicted digit"
    matrix.set_matrix(result.confusion, names)
    assert matrix.getAxis("left")._tickLevels[0][9] == (9.5, "Ankle boot  9")
    assert matrix.getAxis("bottom")._tickLevels[0][9] == (9.5, "9")
    assert matrix.getAxis("left").labelText == "true class" and "numbered as on the left" in matrix.getAxis("bottom").labelText

    gallery = Gallery()
    qtbot.addWidget(gallery)
    two_lines = gallery.gridSize().height()
    wrong = np.flatnonzero(result.predictions != result.labels)
    ankle_boots = np.flatnonzero(result.labels == 9)
    gallery.show_samples(data, result, np.concatenate([wrong, ankle_boots]))
    assert gallery.item(len(wrong)).text().endswith("true Ankle boot")
    assert gallery.gridSize().height() >= two_lines + gallery.fontMetrics().lineSpacing()  # "true Ankle / boot"


def test_closing_the_window_while_the_map_is_laid_out_stops_it_at_once(qtbot, settings, tiny_data, monkeypatch):
    import functools
    import time

    import engine.digit_map
    from PySide6.QtCore import QThread

    monkeypatch.setattr(engine.digit_map, "tsne", functools.partial(engine.digit_map.tsne, iterations=10**6))  # hours
    win = MainWindow(settings=settings)
    win.personal.store.add(np.pad(np.full((60, 12), 0, np.uint8), 100, constant_values=255), 1)  # a sample to place
    qtbot.addWidget(win)
    win.show()
    tab = win.evaluate_tab
    tab.views.setCurrentWidget(tab.map_page)
    win.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: len(tab.map_plot.points) > 0, timeout=30_000)  # the map forming
    threads = [thread for thread in win.findChildren(QThread) if thread.isRunning()]
    start = time.monotonic()
    win.close()
    assert time.monotonic() - start < 5 and threads and all(thread.isFinished() for thread in threads)
    started = []  # what the stopped worker sent meanwhile arrives now: no thread may start from it
    monkeypatch.setattr("gui.evaluate_tab.start_in_thread", lambda worker, parent, name: started.append(name))
    qtbot.wait(300)
    assert started == []


def double_click(qtbot, gallery, row: int) -> None:
    centre = gallery.visualItemRect(gallery.item(row)).center()
    qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=centre)  # a double-click's first press
    qtbot.mouseDClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=centre)


def test_a_mistake_double_clicked_in_evaluate_is_read_and_explained_on_the_draw_tab(window, qtbot, tiny_data):
    tab = window.evaluate_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.result is not None and not tab.running, timeout=30_000)
    result = tab.result
    assert len(result.misclassified()) > 0
    index = tab.errors_gallery.item(0).data(Qt.ItemDataRole.UserRole)
    double_click(qtbot, tab.errors_gallery, 0)
    draw = window.draw_tab
    assert window.tabs.currentWidget() is draw and "test image #" in window.activity_status.text()
    assert window.activity_status.text().endswith(f"labelled {result.labels[index]}")
    read = draw.last_prediction  # exactly as evaluation read it, mistake and all
    assert read.digit == result.predictions[index] != result.labels[index]
    assert np.allclose(read.probabilities, result.probabilities[index], atol=1e-5)
    assert np.array_equal(read.pixels, tab.data.test_images[index].numpy() / np.float32(255))
    qtbot.waitUntil(lambda: draw.explanation is not None, timeout=5000)  # and why, not the runner-up
    draw_strokes(draw.canvas, [[(0.1, 0.1), (0.2, 0.2)]])  # drawn over, it is the canvas that is read
    assert not np.array_equal(draw.last_prediction.pixels, read.pixels)
    draw.canvas.undo()
    assert np.array_equal(draw.last_prediction.pixels, read.pixels)
    assert "from a test set" not in window.personal.status.text()
    qtbot.keyClick(draw.canvas, Qt.Key.Key_Return)  # kept as a personal sample: the user hears what that costs
    assert "Saved as" in window.personal.status.text() and "from a test set" in window.personal.status.text()


def test_evaluate_tab_scores_the_held_out_pen_writers(window, qtbot, tiny_data):
    tab = window.evaluate_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.result is not None and not tab.running, timeout=30_000)
    chooser = tab.test_set
    chooser.setCurrentIndex(chooser.findData("pen"))
    chooser.activated.emit(chooser.currentIndex())  # as a user's pick does
    qtbot.waitUntil(lambda: tab.result.confusion.sum() == 12 and not tab.running, timeout=60_000)
    assert "pen digits of held-out writers" in tab.accuracy_label.text()
    p = tab.result.probabilities
    assert np.allclose(p.sum(1), 1, atol=1e-5)  # calibrated probabilities still sum to one
    # The writer's bar: their accuracy; a click shows all their digits, misread ones first.
    (writer, count, accuracy), = tab.result.per_writer()
    assert tab.per_writer.isVisible() and count == 12
    assert np.isclose(tab.per_writer.heights[0], accuracy)
    tab.result.predictions[7] = (tab.result.labels[7] + 1) % 10  # a misread digit, to be shown first
    from PySide6.QtCore import QPointF
    view = tab.per_writer
    bar_foot = view.mapFromScene(view.getPlotItem().vb.mapViewToScene(QPointF(0.1, accuracy - 0.001)))
    qtbot.mouseMove(view.viewport(), pos=bar_foot)
    qtbot.waitUntil(lambda: view.toolTip().startswith(f"Writer {writer}: {round(accuracy * 12)} of 12 read right"), timeout=2000)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=bar_foot)
    qtbot.waitUntil(lambda: f"WRITER {writer}: 12 digits, 1 misread" in tab.cell_title.text(), timeout=2000)
    shown = [tab.cell_gallery.item(i).data(Qt.ItemDataRole.UserRole) for i in range(tab.cell_gallery.count())]
    right = tab.result.predictions[shown] == tab.result.labels[shown]
    assert sorted(shown) == list(range(12)) and shown[0] == 7 and right[1:].all()  # every digit, the misread first
    tab.test_set.setCurrentIndex(tab.test_set.findData("mnist"))
    tab.test_set.activated.emit(tab.test_set.currentIndex())
    qtbot.waitUntil(lambda: tab.result.confusion.sum() == 512 and not tab.running, timeout=60_000)
    assert not tab.per_writer.isVisible()  # MNIST does not know its writers
    tab.per_writer.set_writers([(3, 10, 0.9), (7, 20, 1.0)])  # a file of two writers: the title gives the spread
    assert tab.per_writer.getPlotItem().titleLabel.text == "Per-writer accuracy: 90.0% to 100.0% (click a bar)"


def test_a_test_set_picked_during_an_evaluation_stops_it_and_is_scored_instead(window, qtbot):
    tab = window.evaluate_tab
    window.tabs.setCurrentWidget(tab)  # MNIST's 10,000 test digits (a second or two on 2 cores)
    qtbot.waitUntil(lambda: tab.accuracy_label.text().startswith("Reading the test images"), timeout=30_000)
    scoring_mnist = tab._worker
    tab.start()  # F5 while the same set is scored: the run goes on
    assert tab._worker is scoring_mnist and not scoring_mnist.stopping.is_set()
    shown = []
    scoring_mnist.succeeded.connect(shown.append)
    chooser = tab.test_set
    chooser.setCurrentIndex(chooser.findData("pen"))
    chooser.activated.emit(chooser.currentIndex())
    assert scoring_mnist.stopping.is_set()  # MNIST's score would be of no use now
    qtbot.waitUntil(lambda: tab.result is not None and not tab.running, timeout=60_000)
    assert not shown and tab.result.confusion.sum() == 1499
    assert "pen digits of held-out writers" in tab.accuracy_label.text()


def test_evaluate_tab_scores_a_folder_of_your_pictures(window, qtbot, tiny_data, your_pictures, monkeypatch):
    tab = window.evaluate_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.result is not None and not tab.running, timeout=30_000)
    chooser = tab.test_set
    shown = chooser.currentIndex()
    monkeypatch.setattr(tab, "ask_for_digits", lambda kind: None)  # the folder dialog, cancelled
    chooser.setCurrentIndex(chooser.findData("pictures"))
    chooser.activated.emit(chooser.currentIndex())
    assert chooser.currentIndex() == shown and not tab.running
    monkeypatch.setattr(tab, "ask_for_digits", lambda kind: your_pictures)
    shown_texts = []
    set_text = tab.accuracy_label.setText
    monkeypatch.setattr(tab.accuracy_label, "setText", lambda text: shown_texts.append(text) or set_text(text))
    chooser.setCurrentIndex(chooser.findData("pictures"))
    chooser.activated.emit(chooser.currentIndex())
    qtbot.waitUntil(lambda: tab.result.confusion.sum() == 41 and not tab.running, timeout=60_000)
    assert "Reading the pictures in class-3b… 100%" in shown_texts  # progress while the files are read
    assert "of your digits in class-3b" in tab.accuracy_label.text()
    tab.accuracy_label.setText(tab.accuracy_label.text().replace("class-3b", "a-long-folder-name-" * 6))
    assert tab.accuracy_label.minimumSizeHint().width() < 400  # it wraps: a long name does not widen the window
    assert tab.left_out.isVisible() and tab.left_out.text().startswith("2 files left out")
    assert "broken.png" in tab.left_out.toolTip() and "blank.png" in tab.left_out.toolTip()
    tab.show_cell(7, 7)  # a gallery's thumbnail names the user's file it shows
    assert tab.cell_gallery.item(0).toolTip().startswith(str(your_pictures / "7"))
    double_click(qtbot, tab.cell_gallery, 0)  # opens the user's own picture, not the network's input
    assert window.tabs.currentWidget() is window.draw_tab
    file = tab.cell_gallery.item(0).toolTip().split(":")[0]
    assert np.array_equal(window.draw_tab.canvas.picture(), read_image(file))
    window.tabs.setCurrentWidget(tab)
    assert chooser.currentText() == "Your digits: class-3b" and chooser.findData(your_pictures) >= 0
    tab.set_model(window.active.predictor)  # a new model is scored on the digits the user chose
    assert chooser.currentData() == your_pictures


def test_kernels_tab_shows_both_layers_and_what_each_filter_looks_for(window, qtbot):
    tab = window.kernels_tab
    window.tabs.setCurrentWidget(tab)
    conv1 = window.active.predictor.model.conv_blocks()[0].conv
    assert tab.conv1.tiles.shape == (conv1.out_channels, 3, 3)
    assert tab.conv2.mosaic.cols == window.active.predictor.model.conv_blocks()[1].conv.out_channels
    tab.conv2._hover((0.5, 4.5))  # tile row 0, column 1
    assert "conv2 filter 2, input channel 1" in tab.info.text()
    tab.mean_channels.setChecked(True)
    assert tab.conv2.tiles.shape[0] == conv1.out_channels * 2
    qtbot.waitUntil(lambda: not tab.finding_patches, timeout=30000)
    assert tab.patches1.tiles.shape == (conv1.out_channels, 3 * 3 + 2, 3 * 3 + 2)  # nine 3×3 patches, 1 px gaps
    assert tab.patches2.tiles.shape == (32, 3 * 8 + 2, 3 * 8 + 2)
    # What it takes each digit to be: one input per class, each read as its class.
    assert tab.prototypes.tiles.shape == (10, 28, 28)
    probabilities = window.active.predictor.probabilities(tab.prototypes.tiles)
    assert (probabilities.argmax(1) == np.arange(10)).all()
    tab.prototypes._hover((14.0, 7 * 30 + 14.0))  # the eighth tile: 28 px and a 2 px gap each
    assert tab.info.text().startswith("the input grown to raise 7's score, read as 7 at ")
    # The shipped model's replay ships beside it: its whole run, from the initial kernels to the last step
    # of its last stage, which the label names.
    assert tab.play_button.isEnabled() and tab.replay.steps[0] == 0 and tab.replay.epochs[-1] == 12
    assert tab.replay.in_last_stage(len(tab.replay) - 1) and "last stage" in tab.replay_label.text()
    tab.replay_slider.setValue(0)
    assert "epoch 0.00" in tab.replay_label.text()


def test_a_network_of_one_conv_layer_leaves_no_second_layer_of_the_last_model_shown(window, qtbot, tiny_data):
    from engine.models import build_model
    from engine.predict import Predictor
    from gui.kernels_tab import ONE_CONV

    tab = window.kernels_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: not tab.finding_patches, timeout=30000)
    window.active.set(Predictor(build_model("seed000")), None, saved=True)
    assert tab.conv1.tiles.shape == (8, 3, 3) and tab.conv2.axes.text() == ONE_CONV and np.isnan(tab.conv2.tiles).all()
    assert not tab.mean_channels.isEnabled()  # nothing to average
    qtbot.waitUntil(lambda: not tab.finding_patches, timeout=30000)
    assert tab.patches1.tiles.shape == (8, 3 * 3 + 2, 3 * 3 + 2)
    assert tab.patches2.axes.text() == ONE_CONV and np.isnan(tab.patches2.tiles).all()


def test_a_network_without_conv_layers_shows_its_units_in_the_kernels_place(window, qtbot, tiny_data):
    from engine.models import build_model
    from engine.predict import Predictor
    from gui.kernels_tab import CONV1_TITLE, NO_CONV

    kernels, layers = window.kernels_tab, window.layers_tab
    window.tabs.setCurrentWidget(layers)
    assert layers.selected.isVisible() and layers.sliding_link.isVisible()
    window.active.set(Predictor(build_model("custom", layers="dense 24")), None, saved=True)
    assert not layers.selected.isVisible() and not layers.kernel.isVisible() and not layers.sliding_link.isVisible()
    assert "no conv layers" in layers.formula.text()
    window.tabs.setCurrentWidget(kernels)
    assert kernels.conv1.title.text().lower().startswith("fc1: what each unit weighs each pixel by")
    assert kernels.conv1.tiles.shape == (24, 28, 28) and "24 units, each reading all 28×28 pixels" in kernels.conv1.axes.text()
    kernels.conv1._hover((14.0, 30 + 14.0))  # the second tile: 28 px and a 2 px gap
    assert "fc1 unit 2" in kernels.info.text()
    assert kernels.conv2.axes.text() == NO_CONV and not kernels.play_button.isEnabled()
    assert "no kernels to watch form" in kernels.replay_label.text()
    qtbot.waitUntil(lambda: not kernels.finding_patches, timeout=30000)
    assert kernels.patches1.axes.text() == kernels.patches2.axes.text() == NO_CONV
    assert kernels.prototypes.tiles.shape == (10, 28, 28)  # what it takes each digit to be: any network has that
    # While a perceptron trains, its units as they stand come live in the same place.
    from engine.events import KernelSnapshot

    live = np.random.default_rng(0).normal(size=(6, 28, 28)).astype(np.float32)
    kernels.show_training_snapshot(KernelSnapshot(40, (), ("fc1", live)))
    np.testing.assert_array_equal(kernels.conv1.tiles, live)
    assert kernels.source.text().startswith("Live from training, step 40: what each unit weighs each pixel by")
    assert "6 units" in kernels.conv1.axes.text()
    # A network with conv layers again: its kernels in their place, the Layers tab's maps taken apart again.
    window.active.set(Predictor(build_model("seed000")), None, saved=True)
    assert kernels.conv1.title.text().lower() == CONV1_TITLE.lower() and kernels.conv1.tiles.shape == (8, 3, 3)
    window.tabs.setCurrentWidget(layers)
    assert layers.selected.isVisible() and layers.selected.title.text() == "Selected: conv1 map 1"


def test_tanh_maps_are_drawn_around_zero_and_relu_maps_from_zero(window, qtbot):
    from engine.models import build_model
    from engine.predict import Predictor
    from gui.style import DIVERGING, SEQUENTIAL

    layers = window.layers_tab
    window.tabs.setCurrentWidget(layers)
    draw_strokes(window.draw_tab.canvas, STROKES[7])
    torch.manual_seed(0)
    window.active.set(Predictor(build_model("custom", layers="conv 6 5x5 tanh, maxpool 2, conv 8 3x3, dense 16 tanh")),
                      None, saved=True)
    signed, plain = layers._rows["conv1"], layers._rows["conv2"]
    assert signed.tiles.min() < 0 < signed.tiles.max()  # tanh: below zero as well as above
    low, high = signed.image.getLevels()
    assert low == -high == -np.abs(signed.tiles).max() and signed._shown_colormap == DIVERGING
    assert plain.tiles.min() >= 0 and tuple(plain.image.getLevels()) == (0.0, plain.tiles.max())
    assert plain._shown_colormap == SEQUENTIAL
    layers.select(1, 0)  # conv2 read conv1's tanh maps: those are drawn around zero too, conv2's own map from zero
    assert layers.read.image.getLevels()[0] < 0 and layers.selected.image.getLevels()[0] == 0.0
    layers.select(0, 0)
    assert layers.selected._shown_colormap == DIVERGING and layers.read._shown_colormap == SEQUENTIAL  # the pixels
    layers.selected._hover((3.0, 4.0))  # the sum at one place, worked out through the layer's own activation
    assert f"through Tanh: {layers.layers[0].values[0, 3, 4]:.2f}, the map's value there" in layers.formula.text()
    # A network switched to tanh by the Activation option is named so.
    switched = {"model": {"name": "seed000", "kwargs": {"activation": "tanh"}}}
    window.active.set(Predictor(build_model("seed000", activation="tanh"), metadata=switched), None, saved=True)
    assert layers.source.text().startswith("seed000 (tanh), layer by layer")
    assert "Model: seed000 (tanh) on ?" in window.model_status.text()


def test_a_trained_model_replays_its_kernels_and_exports_a_gif(window, qtbot, tiny_data, tmp_path):
    tab = window.train_tab
    tab.form.set_value("epochs", 2)
    tab.form.set_value("dataset", "mnist")
    with qtbot.waitSignal(tab.trained, timeout=120000):
        qtbot.mouseClick(find(window, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    kernels = window.kernels_tab
    window.tabs.setCurrentWidget(kernels)
    replay = kernels.replay
    assert replay is not None and replay.steps[0] == 0 and replay.epochs[-1] == 2 and len(replay) >= 3
    np.testing.assert_allclose(kernels.conv1.tiles, replay.layers[-1][0][:, 0], atol=2e-3)  # kept as float16
    kernels.replay_slider.setValue(0)  # the kernels as they were initialised
    np.testing.assert_allclose(kernels.conv1.tiles, replay.layers[0][0][:, 0])
    assert not np.allclose(replay.layers[0][0], replay.layers[-1][0])
    qtbot.mouseClick(find(window, QPushButton, "replayButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kernels.replay_slider.value() == kernels.replay_slider.maximum(), timeout=5000)
    assert kernels.export_gif(tmp_path / "replay.gif")
    with Image.open(tmp_path / "replay.gif") as gif:
        assert gif.n_frames == len(replay)


def test_layers_tab_follows_the_drawing_through_every_layer(window, qtbot):
    tab = window.layers_tab
    draw_strokes(window.draw_tab.canvas, STROKES[7])
    window.tabs.setCurrentWidget(tab)
    names = [layer.name for layer in tab.layers]
    assert names == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc1"]
    conv3 = tab._rows["conv3"]
    assert conv3.tiles.shape == (32, 14, 14) and conv3.tiles.max() > 0
    assert tab._rows["output"].values.argmax() == 7
    # A click on conv3's second map (tile row 0, column 1) shows the kernel that made it and what it read.
    scene_pos = conv3.image.mapToScene(QPointF(15 + 3.5, 3.5))
    qtbot.mouseClick(conv3.view.viewport(), Qt.MouseButton.LeftButton, pos=conv3.view.mapFromScene(scene_pos))
    assert tab.selected.title.text() == "Selected: conv3 map 2"
    weights = window.active.predictor.model.conv_blocks()[2].conv.weight[1].detach().numpy()
    np.testing.assert_allclose(tab.kernel.tiles, weights, atol=1e-6)
    assert tab.read.tiles.shape == (32, 14, 14)  # conv3 reads conv2's 32 maps
    np.testing.assert_allclose(tab.read.tiles, tab.layers[1].values)  # no pooling between conv2 and conv3
    conv3._hover((3.0, 15 + 4.0))
    value = conv3.tiles[1][3, 4]
    assert f"conv3 map 2: {value:+.3f} at row 4, column 5" in tab.info.text()
    # Over the selected map, the sum at that place is written out and its windows outlined on the 32 maps read.
    tab.selected._hover((3.0, 4.0))
    assert tab.formula.text().startswith("At row 4, column 5: each kernel slice times the 3×3 window")
    assert f"through ReLU: {value:.2f}, the map's value there" in tab.formula.text()
    outlined = tab.read.outlined()
    last_y, last_x = tab.read.mosaic.origin(31)
    assert (outlined.left(), outlined.top()) == (3.0, 2.0)  # columns 4–6, rows 3–5 of the first map…
    assert (outlined.right(), outlined.bottom()) == (last_x + 6.0, last_y + 5.0)  # …to the same place on the last
    from engine.unit import unit_work
    from gui.layers_tab import ADDS, TAKES_AWAY

    work = unit_work(window.active.predictor.model.conv_blocks()[2], tab.layers[2].inputs, 1, 3, 4)
    boxes = {colour: tab.read.marks[colour].path().elementCount() // 5 for colour in (ADDS, TAKES_AWAY)}
    assert boxes == {ADDS: (work.contributions >= 0).sum(), TAKES_AWAY: (work.contributions < 0).sum()}
    tab.selected._hover(None)
    assert tab.formula.text().startswith("How it is made") and tab.read.outlined().isEmpty()
    assert tab.read.title.text() == "The input channels it read"  # conv2's maps as they are, no pooling between
    tab.select(1, 0)
    assert tab.read.title.text() == "The input channels it read: conv1's maps, max-pooled 2×2"
    fc1 = tab._rows["fc1"]  # a dense unit worked out: its sum, the conv5 maps that add most outlined, batch norm, ReLU
    fc1._hover(fc1.plot.getPlotItem().vb.mapViewToScene(QPointF(4, 0.1)))
    from engine.unit import dense_work

    model = window.active.predictor.model
    unit5 = dense_work(model.classifier, "fc1", tab.layers[-1].inputs, 4)
    assert unit5.value == pytest.approx(float(fc1.values[4]), abs=1e-4)
    per_map = unit5.contributions.reshape(64, 9).sum(1)  # conv5's 64 maps, each max-pooled to 3×3
    first, second = np.argsort(-np.abs(per_map))[:2]
    assert tab.info.text().startswith(f"fc1 unit 5: each of the 576 values of conv5's maps, max-pooled 2×2, times its weight, "
                                      f"added up: {unit5.summed:+.2f}, most from conv5's maps {first + 1} "
                                      f"({per_map[first]:+.2f}) and {second + 1} ({per_map[second]:+.2f})")
    assert tab.info.text().endswith(f"batch-normalised: {unit5.normalised:+.2f}; through ReLU: {fc1.values[4]:.2f}, "
                                    "the unit's value")
    conv5 = tab._rows["conv5"]
    outlined = sum(conv5.marks[colour].path().elementCount() // 5 for colour in (ADDS, TAKES_AWAY) if colour in conv5.marks)
    assert outlined == 2  # the two maps named
    output = tab._rows["output"]  # and how the answer's score becomes its probability
    output._hover(output.plot.getPlotItem().vb.mapViewToScene(QPointF(7, 0.3)))
    assert tab.info.text().startswith("Output, class 7: the last layer's score (logit) ")
    assert tab.info.text().endswith(f"all 10 classes of e^(score ÷ {window.active.predictor.temperature:.2f}) = {output.values[7] * 100:.1f} %")
    # …and fc1's bars tinted by what each unit adds to that score (red adds, blue takes away), each unit's part
    # under the mouse: the last layer's arithmetic, which adds up to the network's own score.
    work = dense_work(model.classifier, model.output_name(), fc1.values, 7)
    assert work.summed == pytest.approx(float(tab._logits[7]), abs=1e-4)
    assert "red adds to 7's score" in fc1.title.text()
    colours = [brush.color() for brush in fc1.bars.opts["brushes"]]
    assert all((colour.red() > colour.blue()) == (c >= 0) for colour, c in zip(colours, work.contributions))
    fc1._hover(fc1.plot.getPlotItem().vb.mapViewToScene(QPointF(4, 0.1)))
    assert f"times its weight to 7's score: {work.contributions[4]:+.3f} of that score's {work.summed:+.2f}" in tab.info.text()
    assert tab.samples.isHidden()  # the drawing is followed, so no sample is offered


def test_layers_tab_follows_a_sample_drawing_until_something_is_drawn(window, qtbot):
    from engine.paths import sample_digit_path
    from engine.preprocess import prepare_one_digit, read_image

    tab = window.layers_tab
    window.tabs.setCurrentWidget(tab)
    sample = lambda digit: prepare_one_digit(read_image(sample_digit_path(digit))).pixels
    # A blank input makes flat maps that say nothing: the column follows a shipped drawing of a 7 instead.
    assert tab.samples.isVisible() and tab.sample_buttons.checkedId() == 7
    np.testing.assert_array_equal(tab._rows["input"].tiles[0], sample(7))
    assert tab._rows["output"].values.argmax() == 7 and tab._rows["conv1"].tiles.std() > 0
    assert tab._rows["input"].axes.text().startswith("the app's sample drawing of a 7")
    qtbot.mouseClick(tab.sample_buttons.button(1), Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(tab._rows["input"].tiles[0], sample(1))
    assert tab._rows["output"].values.argmax() == 1 and tab.sample_buttons.checkedId() == 1
    draw_strokes(window.draw_tab.canvas, STROKES[4])  # a drawing takes over…
    assert not tab.samples.isVisible() and tab._rows["output"].values.argmax() == 4
    window.draw_tab.canvas.clear()  # …until it is cleared, when the sample chosen is followed again
    assert tab.samples.isVisible()
    np.testing.assert_array_equal(tab._rows["input"].tiles[0], sample(1))


def test_accuracy_charts_show_error_rate_on_a_log_scale(window):
    """Near 99 % an accuracy axis draws runs as one line; as error rates on a log axis they are apart."""
    curves, compare = window.train_tab.curves, window.experiments_tab.compare.chart
    curves.reset(total_steps=100, epochs=3)
    for epoch, (train, val) in enumerate([(0.97, 0.99), (0.98, 0.996), (0.985, 1.0)], start=1):
        curves.add_epoch(epoch, train, val)
    run = compare.add_run("a run")
    for epoch, accuracy in ((0.5, 0.9), (1.0, 0.995)):
        compare.add_loss(run, epoch, 0.1)
        compare.add_accuracy(run, epoch, accuracy)
    for chart in (curves, compare):
        chart.redraw()
    np.testing.assert_allclose(curves.val_acc.getData()[1], [0.99, 0.996, 1.0])
    assert curves.acc_plot.viewRange()[1][1] == pytest.approx(1.0, abs=0.01)
    assert window.error_rate_action in curves.acc_plot.actions()  # also on the chart's right-click menu

    window.error_rate_action.trigger()  # View → Accuracy as error rate (log scale)
    np.testing.assert_allclose(curves.val_acc.getData()[1], np.log10([0.01, 0.004, 1e-4]))  # no error: the floor
    np.testing.assert_allclose(curves.train_acc.getData()[1], np.log10([0.03, 0.02, 0.015]))
    np.testing.assert_allclose(compare._curves[0][1].getData()[1], np.log10([0.1, 0.005]))
    low, high = curves.acc_plot.viewRange()[1]
    assert low < -4 and -1 < high < 0  # 0.01 % (the perfect epoch) to over 10 %
    assert curves.acc_plot.plotItem.titleLabel.text == "Error rate per epoch (log scale)"
    assert "error rate" in compare.accuracy.plotItem.titleLabel.text
    labels = [text for level in curves.acc_plot.getAxis("left")._tickLevels for _, text in level]
    assert {"0.01 %", "0.1 %", "1 %", "10 %", "0.5 %"} <= set(labels)
    assert window.experiments_tab.runs.chart.accuracy_scale.error_rate

    window.error_rate_action.trigger()  # and back
    np.testing.assert_allclose(curves.val_acc.getData()[1], [0.99, 0.996, 1.0])
    np.testing.assert_allclose(compare._curves[0][1].getData()[1], [0.9, 0.995])
    assert curves.acc_plot.plotItem.titleLabel.text == "Accuracy per epoch"
    assert curves.acc_plot.getAxis("left")._tickLevels is None


def test_choices_persist_between_sessions(qtbot, settings):
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.draw_tab.pen_slider.setValue(30)
    first.train_tab.form.set_value("optimizer", "momentum")
    first.tabs.setCurrentIndex(2)
    experiments = first.experiments_tab
    experiments.pages.setCurrentWidget(experiments.search)
    experiments.compare.preset.setCurrentIndex(experiments.compare.preset.findData("custom"))
    experiments.compare.vary.setText("lr=0.01,0.1")
    experiments.compare.quick.setChecked(False)
    experiments.search.trials.setValue(5)
    experiments.search.sampler.setCurrentIndex(experiments.search.sampler.findData("random"))
    first.evaluate_tab.views.setCurrentIndex(1)  # how sure vs how often right
    first.evaluate_tab.invariance.choose("stroke")
    first.error_rate_action.trigger()
    first.kernels_tab.mean_channels.setChecked(True)
    first.resize(1200, 800)
    first.show()
    qtbot.waitExposed(first)
    bar = first.findChild(QSplitter, "searchSplitter")  # on the page open
    before = bar.sizes()
    bar.setSizes([before[0] + 150, before[1] - 150])  # the trial table made wider, as a drag does it
    bar.splitterMoved.emit(before[0] + 150, 1)
    share = bar.sizes()[0] / sum(bar.sizes())
    assert bar.sizes()[0] == before[0] + 150
    first.close()
    assert settings.value("splitters/compareSplitter") is None  # a bar nobody moved keeps no widths
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.draw_tab.pen_slider.value() == 30
    assert second.error_rate_action.isChecked() and second.train_tab.curves.accuracy_scale.error_rate
    assert second.kernels_tab.mean_channels.isChecked()
    second.resize(1100, 700)  # a smaller window: the panes keep their shares
    second.show()
    qtbot.waitExposed(second)
    sizes = second.findChild(QSplitter, "searchSplitter").sizes()
    assert sizes[0] / sum(sizes) == pytest.approx(share, abs=0.01)
    assert {s.objectName() for s in second._splitters()} == {f"{n}Splitter" for n in ("train", "compare", "search", "runs", "evaluate")}
    assert second.train_tab.form.config().optimizer == "momentum"
    assert second.tabs.currentIndex() == 2
    experiments = second.experiments_tab
    assert experiments.pages.currentWidget() is experiments.search
    compare, search = experiments.compare, experiments.search
    assert (compare.preset.currentData(), compare.vary.text(), compare.quick.isChecked()) == ("custom", "lr=0.01,0.1", False)
    assert compare.estimate.text().startswith("2 runs")  # described as chosen, not as the default preset
    assert (search.trials.value(), search.sampler.currentData()) == (5, "random")
    assert second.evaluate_tab.views.currentIndex() == 1
    assert second.evaluate_tab.invariance.change.currentData() == "stroke"


def test_train_options_reset_to_the_default_recipe(window, qtbot):
    tab = window.train_tab
    tab.form.set_value("epochs", 3)
    tab.form.set_value("optimizer", "sgd")
    assert tab.form.config() != TrainConfig()
    qtbot.mouseClick(find(window, QPushButton, "defaultsButton"), Qt.MouseButton.LeftButton)
    assert tab.form.config() == TrainConfig()  # 1/12 exactly, as the command line has it, not 0.0833
    tab.form.editors["val_fraction"].setValue(0.1)  # edited by hand: what is shown is what is used
    assert tab.form.config().val_fraction == 0.1


def test_a_network_written_in_the_train_tab(qtbot, settings):
    from engine.models import build_model
    from engine.network_text import to_text

    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    tab, form = window.train_tab, window.train_tab.form
    editor, note, train = form.editors["layers"], form.editors["layers"].note, find(window, QPushButton, "trainButton")
    assert editor.value() == to_text(build_model("digitnet").layers())  # the default network's own lines, to start from
    count = sum(p.numel() for p in build_model("digitnet").parameters())
    assert note.text() == (f"28×28 → 16×28×28 → 16×14×14 → 32×14×14 → 32×14×14 → 32×7×7 → 64×7×7 → 64×7×7 → 64×3×3 → 128 "
                           f"→ 10 · {count:,} parameters · 5.6 M multiply-adds an image")
    form.set_value("model", "seed003")
    assert editor.value().splitlines() == ["conv 4 5x5 pad 2", "maxpool 2", "conv 8 5x5 pad 2", "maxpool 2", "dense 512", "dropout 0.5"]
    # Editing a zoo network's lines makes the network the user's own.
    editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "dense 64")
    assert form.editors["model"].currentText() == "custom" and form.config().layers.endswith("dropout 0.5\ndense 64")
    qtbot.waitUntil(lambda: "512 → 64 → 10" in note.text(), timeout=2000)  # once the typing pauses
    assert tab.summary.rowCount() == 8 and tab.summary.item(7, 0).text() == "fc3 · Linear"
    # A line that cannot be built: why, under the lines, and no training until it is mended.
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "maxpool 2")
    qtbot.waitUntil(lambda: not train.isEnabled(), timeout=2000)
    assert note.text() == "line 8 (maxpool 2): comes after a dense layer, whose units are no longer a picture; put conv and pool layers first"
    assert "line 8" in train.toolTip() and tab.summary.rowCount() == 0
    window.start_training()  # Ctrl+Return too
    assert not tab.running
    # A zoo network chosen over it shows its own lines; the user's come back with custom.
    written = editor.value()
    form.set_value("model", "lenet5")
    assert train.isEnabled() and editor.value().startswith("conv 6 5x5 pad 2 sigmoid") and form.config().layers == ""
    form.set_value("model", "custom")
    assert editor.value() == written and not train.isEnabled()
    editor.moveCursor(QTextCursor.MoveOperation.End)
    for _ in "\nmaxpool 2":  # the bad line taken back
        qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.waitUntil(train.isEnabled, timeout=2000)
    window.close()
    again = MainWindow(settings=settings)  # remembered, a zoo network chosen or not
    qtbot.addWidget(again)
    assert again.train_tab.form.config().layers == written.removesuffix("\nmaxpool 2")
    again.train_tab.form.set_value("model", "digitnet")
    again.close()
    third = MainWindow(settings=settings)
    qtbot.addWidget(third)
    third.train_tab.form.set_value("model", "custom")
    assert third.train_tab.form.editors["layers"].value() == written.removesuffix("\nmaxpool 2")


def test_the_lines_shown_are_the_network_the_options_build(window):
    tab, form = window.train_tab, window.train_tab.form
    editor, note = form.editors["layers"], form.editors["layers"].note
    form.set_value("model", "lenet5")
    form.set_value("batch_norm", "on")
    form.set_value("activation", "relu")
    assert editor.value().splitlines()[:2] == ["conv 6 5x5 pad 2 bn", "avgpool 2"]  # ReLU is written as nothing
    assert form.config().model == "lenet5" and form.config().layers == ""  # still the zoo's, switched by the options
    form.set_value("batch_norm", "model")
    form.set_value("activation", "tanh")
    assert editor.value().splitlines()[-2:] == ["dense 120 tanh", "dense 84 tanh"] and "options" not in note.text()
    # A network of the user's own keeps its lines; the note says what the options change over them.
    form.set_value("model", "custom")
    editor.setPlainText("conv 8 3x3 bn, dense 16 sigmoid")
    tab._show_network()
    assert editor.value() == "conv 8 3x3 bn, dense 16 sigmoid"
    assert note.text().endswith("· by the options below: tanh in every layer")
    form.set_value("batch_norm", "off")
    assert note.text().endswith("· by the options below: batch norm off in every layer, tanh in every layer")
    form.set_value("activation", "model")
    form.set_value("batch_norm", "model")
    assert "options" not in note.text()
    # A network near the size limit: summarised from its settings, no weights made (a 0.24 s wait before).
    editor.setPlainText("conv 1024 3x3 pad 1, conv 1024 3x3 pad 1, maxpool 2, dense 10")
    tab._show_network()
    assert note.text().endswith("· 11,455,608 parameters · 7.4 G multiply-adds an image")
    assert tab.summary.rowCount() == 6 and tab.summary.item(2, 1).text() == "1024×14×14"  # conv1, conv2, pool1…


def test_a_written_network_trains_and_is_shown_layer_by_layer(window, qtbot, tiny_data):
    form = window.train_tab.form
    form.set_config(TrainConfig(model="custom", layers="conv 5 3x3 stride 2, maxpool 2, dense 12", dataset="mnist",
                                epochs=1, batch_size=64))
    with qtbot.waitSignal(window.active.changed, timeout=120_000):
        window.start_training()
    model = window.active.predictor.model
    assert model.name == "custom" and [b.conv.out_channels for b in model.conv_blocks()] == [5]
    assert window.kernels_tab.conv1.axes.text() == "5 filters of 3×3"
    assert window.layers_tab.source.text().startswith("custom, layer by layer")


def test_written_networks_compared_and_one_taken_to_the_train_tab(window, qtbot, tiny_data):
    form = window.train_tab.form
    form.set_config(TrainConfig(dataset="mnist", epochs=1, batch_size=64, scan_epochs=0))  # digitnet: the lines make their own
    window.tabs.setCurrentWidget(window.experiments_tab)
    compare = window.experiments_tab.compare
    compare.preset.setCurrentIndex(compare.preset.findData("custom"))
    compare.quick.setChecked(False)
    compare.vary.setText("layers=conv 4 3x3, maxpool 2 | conv 4 5x5 stride 2")
    assert compare.estimate.text().startswith("2 runs")
    qtbot.mouseClick(find(window, QPushButton, "compareButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not compare.running, timeout=120_000)
    assert [(r.config.model, r.parameters) for r in compare.results] == [("custom", 4 * 10 + 4 * 13 * 13 * 10 + 10),
                                                                         ("custom", 4 * 26 + 4 * 12 * 12 * 10 + 10)]
    assert compare.table.item(0, 1).text().splitlines() == ["layers=", "conv 4 3x3,", "maxpool 2"]  # a layer a line
    from gui.run_curves import LEGEND_CHARS, legend_name
    assert [label.text for _, label in compare.chart.legend.items] == ["layers=conv 4 3x3, maxpool 2", "layers=conv 4 5x5 stride 2"]
    long = "layers=conv 8 5x5 pad 2, maxpool 2, conv 16 5x5 pad 2, maxpool 2, dense 64"
    assert legend_name(long) == long[:LEGEND_CHARS - 1] + "…"  # cut short in the legend, which it would overflow
    compare.table.selectRow(1)
    qtbot.mouseClick(find(window, QPushButton, "useCompareSettings"), Qt.MouseButton.LeftButton)
    assert form.editors["model"].currentText() == "custom" and form.editors["layers"].value() == "conv 4 5x5 stride 2"
    assert form.config().epochs == 1  # the rest as it was


def test_options_read_without_trailing_zeros_and_epochs_are_ticked_whole(window, qtbot):
    form = window.train_tab.form
    for name, value in (("pen_share", 0.4), ("lr", 0.003), ("scan_epochs", 3.0), ("weight_decay", 0.0)):
        form.set_value(name, value)
    assert [form.editors[n].text() for n in ("pen_share", "lr", "scan_epochs", "weight_decay")] == ["0.4", "0.003", "3", "0"]
    editor = form.editors["lr"]
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), "0.00025")  # finer than the value shown before it
    editor.interpretText()
    assert form.config().lr == 0.00025 and editor.text() == "0.00025"
    # A lowest value that means something else reads as what it means, not as a number
    assert form.editors["dropout"].text() == "the model's own" and form.config().dropout == -1
    form.set_value("checkpoint_every", 0)
    assert form.editors["checkpoint_every"].text() == "only at the end" and form.config().checkpoint_every == 0
    assert form.editors["train_subset"].text() == "all" and form.config().train_subset == 0
    form.set_value("train_subset", 5000)
    assert form.editors["train_subset"].text() == "5000" and form.config().train_subset == 5000
    axis = window.train_tab.curves.acc_plot.getAxis("bottom")
    ticks = [v for _, values in axis.tickValues(0.5, 3.5, 600) for v in values]
    assert ticks and all(v == int(v) for v in ticks)  # no epoch 1.5


def test_the_unseen_writers_curve_is_named_only_when_a_run_has_it(window):
    curves = window.train_tab.curves
    legend = curves.acc_legend
    # Under the chart, not over the curves: no point can sit behind it.
    assert not curves.acc_plot.plotItem.vb.sceneBoundingRect().intersects(legend.sceneBoundingRect())
    curves.reset(100, 2)
    curves.add_epoch(1, 0.9, 0.95)  # an MNIST-only run
    curves.redraw()
    assert legend.getLabel(curves.pen_acc) is None and legend.getLabel(curves.val_acc) is not None
    curves.reset(100, 2)
    curves.add_epoch(1, 0.9, 0.95, 0.97)  # a run with pen digits
    curves.redraw()
    assert legend.getLabel(curves.pen_acc) is not None


def test_on_a_dark_desktop_plots_are_labelled_in_the_windows_light_text(qtbot, settings):
    from PySide6.QtGui import QColor, QPalette

    app = QApplication.instance()
    light = app.palette()
    dark = QPalette(light)
    dark.setColor(QPalette.ColorRole.Window, QColor("#2b2b2b"))
    dark.setColor(QPalette.ColorRole.WindowText, QColor("#e6e6e6"))
    app.setPalette(dark)
    try:
        window = MainWindow(settings=settings)
        qtbot.addWidget(window)
        axis = window.evaluate_tab.per_class.getPlotItem().getAxis("left")
        legend = window.experiments_tab.compare.chart.legend
        assert axis.textPen().color().lightness() > 200 and legend.brush().color().lightness() < 80
    finally:
        app.setPalette(light)
    window = MainWindow(settings=settings)  # back on a light desktop: dark labels again
    qtbot.addWidget(window)
    assert window.evaluate_tab.per_class.getPlotItem().getAxis("left").textPen().color().lightness() < 100


def test_settings_of_the_wrong_type_fall_back_to_their_defaults(qtbot, tmp_path):
    from gui.settings import DEFAULTS

    path = tmp_path / "edited.ini"
    path.write_text("[General]\ntab=2\npen_width=thick\nwhy_on_canvas=false\ntrain_config={not json\n"
                    "error_rate_charts=maybe\n[splitters]\ntrainSplitter=wide narrow\ncompareSplitter=0.5 0.3 0.2\n"
                    "evaluateSplitter=1.5 -0.5\n")
    window = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    assert window.tabs.currentIndex() == 2 and window.draw_tab.pen_slider.value() == DEFAULTS.pen_width
    assert not window.error_rate_action.isChecked()
    assert all(min(splitter.sizes()) > 0 for splitter in window._splitters())  # no pane squeezed shut by a bad share
    assert not window.draw_tab.why_on_canvas.isChecked()
    assert window.train_tab.form.config().optimizer == TrainConfig().optimizer


def test_digit_keys_and_enter_save_personal_samples(window, qtbot):
    panel, canvas = window.personal, window.draw_tab.canvas
    assert not panel.confirm_button.isEnabled()
    draw_strokes(canvas, STROKES[7])
    assert panel.confirm_button.text() == "✓ It is a 7"
    qtbot.keyClick(canvas, Qt.Key.Key_1)  # the user says: it is a 1
    assert canvas.is_empty() and [s.label for s in panel.store.samples()] == [1]
    assert "Saved as 1" in panel.status.text() and "Personalise to teach it your 1s" in panel.status.text()
    draw_strokes(canvas, STROKES[4])
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert [s.label for s in panel.store.samples()] == [1, 4]
    assert "Saved as 4" in panel.status.text() and "Personalise" not in panel.status.text()  # it was right
    qtbot.keyClick(canvas, Qt.Key.Key_5)  # nothing drawn: nothing saved
    assert len(panel.store) == 2


def test_samples_kept_meanwhile_by_another_program_are_shown_when_the_app_is_back_in_front(window, qtbot):
    from PySide6.QtCore import QTimer

    from engine.personal import PersonalSamples

    panel, canvas, app = window.personal, window.draw_tab.canvas, QApplication.instance()
    other = PersonalSamples(panel.store.folder)  # a second window of the app, or the personalise command
    one = np.full((280, 280), 255, np.uint8)
    one[60:220, 130:150] = 0
    other.add(one, 1)
    app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)  # the user comes back to this window
    assert panel.status.text() == "1 personal sample" and panel.personalise_button.isEnabled()
    draw_strokes(canvas, STROKES[7])
    qtbot.keyClick(canvas, Qt.Key.Key_7)
    assert [s.label for s in PersonalSamples(panel.store.folder).samples()] == [1, 7]  # its 1 is not written over

    shown = []

    def while_my_samples_is_open():
        other.add(one, 1)
        app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
        shown.append((panel._dialog.thumbnails.rowCount(), panel._dialog.summary.text().split(" · ")[0]))
        panel._dialog.reject()

    QTimer.singleShot(0, while_my_samples_is_open)
    panel.browse()
    assert shown == [(3, "3 samples")] and panel.status.text() == "3 personal samples"


def test_undo_just_after_a_wrong_digit_key_takes_the_sample_back(window, qtbot):
    panel, canvas = window.personal, window.draw_tab.canvas
    draw_strokes(canvas, STROKES[1])
    qtbot.keyClick(canvas, Qt.Key.Key_7)  # the wrong key
    kept = panel.store.samples()[0]
    assert kept.label == 7 and canvas.is_empty() and "Ctrl+Z takes it back" in panel.status.text()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(panel.store) == 0 and not kept.path.exists() and canvas.stroke_count() == 1  # the drawing is back
    assert panel.status.text().startswith("Took back the sample of a 7")
    redo = (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window, *redo)  # Redo keeps it again, as the key did
    again = panel.store.samples()
    assert [s.label for s in again] == [7] and again[0].path.exists() and canvas.is_empty()
    assert panel.status.text().startswith("Saved as 7")
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # and Undo takes it back again
    assert len(panel.store) == 0 and not again[0].path.exists() and canvas.stroke_count() == 1
    qtbot.keyClick(canvas, Qt.Key.Key_1)
    assert [s.label for s in panel.store.samples()] == [1]

    draw_strokes(canvas, STROKES[4])  # drawn after keeping: Undo takes back the strokes first, then the sample
    for _ in STROKES[4]:
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [s.label for s in panel.store.samples()] == [1] and canvas.is_empty()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(panel.store) == 0 and canvas.stroke_count() == 1
    qtbot.keyClick(canvas, Qt.Key.Key_1)

    panel.teach_button.click()  # in a guided round the digit taken back is asked for again
    draw_strokes(canvas, STROKES[1])
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert canvas.hint == "Draw a 1" and [s.label for s in panel.store.samples()] == [1, 0]
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert canvas.hint == "Draw a 0" and [s.label for s in panel.store.samples()] == [1]
    assert panel.status.text().startswith("Took back the 0 · Draw a 0")
    qtbot.keyClick(window, *redo)
    assert canvas.hint == "Draw a 1" and [s.label for s in panel.store.samples()] == [1, 0]


def test_a_number_on_the_canvas_is_read_digit_by_digit_and_not_kept_as_a_sample(window, qtbot):
    tab, panel, canvas = window.draw_tab, window.personal, window.draw_tab.canvas
    draw_strokes(canvas, side_by_side(7, 4))
    qtbot.waitUntil(lambda: tab.explanation is not None, timeout=5000)
    assert [p.digit for p in tab.digits_read] == [7, 4] and find(window, QLabel, "predictedDigit").text() == "74"
    shown = min(tab.digits_read, key=lambda p: p.confidence)
    assert tab.last_prediction is shown and "Read digit by digit: 7 (" in tab.confidence_label.text()
    assert tab.explanation.digit == shown.digit  # the why, the preview and the Layers tab follow that digit
    place = tab.digits_read.index(shown) + 1
    window.tabs.setCurrentWidget(window.layers_tab)
    assert np.array_equal(window.layers_tab.layers[0].values, window.active.predictor.layers(shown.pixels)[0].values)
    assert window.layers_tab._rows["input"].axes.text() == f"the number drawn: its digit {place} of 2, the least sure"
    window.tabs.setCurrentWidget(tab)
    first, second = (p.frame[0] + p.frame[2] / 2 for p in tab.digits_read)  # the middle of each digit's field
    assert first < canvas.picture().shape[1] / 2 <= second  # each on its own half of the canvas
    assert not panel.confirm_button.isEnabled() and not panel.label_buttons[7].isEnabled()
    qtbot.keyClick(canvas, Qt.Key.Key_7)
    assert len(panel.store) == 0 and panel.status.text().startswith("Not kept: a sample is one digit")
    canvas.clear()
    draw_strokes(canvas, STROKES[7])  # one digit again: read and kept as before
    assert find(window, QLabel, "predictedDigit").text() == "7" and panel.confirm_button.isEnabled()


def test_digit_keys_do_not_leak_into_other_tabs(window, qtbot):
    window.tabs.setCurrentWidget(window.train_tab)
    editor = window.train_tab.form.editors["epochs"]
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, "3")
    assert editor.value() == 3 and len(window.personal.store) == 0


def test_personalise_button_activates_a_personalised_model(window, qtbot, tiny_data):
    panel, canvas = window.personal, window.draw_tab.canvas
    for _ in range(4):
        draw_strokes(canvas, STROKES[7])
        qtbot.mouseClick(window.findChild(QPushButton, "label1"), Qt.MouseButton.LeftButton)
    panel.store.samples()[0].path.write_bytes(b"")  # a damaged file is left out and named, not a failure
    before = window.active.predictor
    shown, on_gui_thread = [], []
    window.active.changed.connect(lambda _p: on_gui_thread.append(QThread.currentThread() is QApplication.instance().thread()))
    with qtbot.waitSignal(window.active.changed, timeout=120_000):
        qtbot.mouseClick(window.findChild(QPushButton, "personaliseButton"), Qt.MouseButton.LeftButton)
        panel._worker.progress.connect(shown.append)
    assert any(text.endswith("%") for text in shown)  # progress reached the user while it ran
    meta = window.active.predictor.metadata
    assert window.active.predictor is not before and meta["personalised"]["samples"] == 3
    assert window.active.path.is_file() and "personalised on 3 samples" in window.model_status.text()
    assert "Personalised in" in panel.status.text() and "no held-out score yet" in panel.status.text()  # all 3 learned
    assert "1 file left out: your sample of a 1" in panel.status.text()
    assert on_gui_thread == [True]  # the new model was made active from the GUI thread, not the worker's
    assert window.recent_models() == [str(window.active.path.resolve())]  # to come back to later


def test_teach_each_digit_asks_for_0_to_9_then_personalises(window, qtbot, tiny_data):
    panel, canvas = window.personal, window.draw_tab.canvas
    qtbot.mouseClick(find(window, QPushButton, "teachButton"), Qt.MouseButton.LeftButton)
    assert canvas.hint == "Draw a 0" and "Draw a 0" in panel.status.text()
    draw_strokes(canvas, STROKES[7])
    qtbot.keyClick(canvas, Qt.Key.Key_3)  # another digit's key keeps the drawing as that digit and asks again
    assert [s.label for s in panel.store.samples()] == [3] and canvas.hint == "Draw a 0"
    assert panel.status.text().startswith("Kept as 3 (Ctrl+Z takes it back) · Draw a 0")
    assert not panel.personalise_button.isEnabled() and panel.teach_button.isEnabled()  # the round ends with it
    before = window.active.predictor
    with qtbot.waitSignal(window.active.changed, timeout=120_000):
        for digit in range(10):
            assert canvas.hint == f"Draw a {digit}" and f"({digit + 1} of 10" in panel.status.text()
            draw_strokes(canvas, STROKES[(1, 4, 7)[digit % 3]])  # read as 1, 4 or 7, kept as the digit asked for
            assert panel.confirm_button.text() == f"✓ It is a {digit}"
            qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert sorted(s.label for s in panel.store.samples()) == [0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]
    assert window.active.predictor is not before and "Personalised in" in panel.status.text()
    assert canvas.hint == "Draw a digit here" and panel.teach_button.text() == "Teach each digit"
    draw_strokes(canvas, STROKES[1])
    read = window.draw_tab.last_prediction.digit
    assert panel.confirm_button.text() == f"✓ It is a {read}"  # back to keeping what the network reads
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert [s.label for s in panel.store.samples()].count(read) == 2 + (read == 3) and canvas.hint == "Draw a digit here"


def test_teaching_stopped_halfway_keeps_what_was_drawn(window, qtbot):
    panel, canvas = window.personal, window.draw_tab.canvas
    panel.teach_button.click()
    for _ in range(2):
        draw_strokes(canvas, STROKES[1])
        qtbot.keyClick(canvas, Qt.Key.Key_Return)
    panel.teach_button.click()
    assert [s.label for s in panel.store.samples()] == [0, 1] and panel._worker is None  # no Personalise
    assert canvas.hint == "Draw a digit here" and "Teaching stopped" in panel.status.text()


def test_a_drawing_that_cannot_be_kept_in_the_round_stays_and_is_asked_for_again(window, qtbot, monkeypatch):
    panel, canvas = window.personal, window.draw_tab.canvas
    panel.teach_button.click()

    def full_disk(*_args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(panel.store, "add", full_disk)
    draw_strokes(canvas, STROKES[1])
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert "Not saved" in panel.status.text() and "No space left" in panel.status.text()
    assert not canvas.is_empty() and canvas.hint == "Draw a 0" and len(panel.store) == 0  # the drawing is still there


def test_ambiguous_drawing_shows_the_top_two(window, tmp_path, mnist):
    labels = mnist.test_labels
    pairs = [(i, j) for i, j in zip(range(0, 200, 2), range(1, 200, 2)) if labels[i] != labels[j]]
    for i, j in pairs:
        blend = (mnist.test_images[i].float() + mnist.test_images[j].float()).clamp(max=255).numpy().astype(np.uint8)
        Image.fromarray(255 - blend).resize((280, 280)).save(tmp_path / "blend.png")
        window.open_image(str(tmp_path / "blend.png"))
        prediction = window.draw_tab.last_prediction
        if prediction.unsure:
            text = window.draw_tab.confidence_label.text()
            assert text.startswith(f"Not sure: {prediction.digit}") and f"or {prediction.runner_up}" in text
            return
    pytest.fail("no blend of two digits made the model unsure")


def test_a_training_run_that_cannot_save_hands_its_model_over_unsaved(window, qtbot, tiny_data, monkeypatch, tmp_path):
    from engine.checkpoint import SaveError

    def full_disk(path, *_args, **_kwargs):
        raise SaveError(28, f"could not save {path}: the disk is full")

    monkeypatch.setattr("engine.train.save_checkpoint", full_disk)
    tab = window.train_tab
    for name, value in (("epochs", 1), ("dataset", "mnist"), ("model", "seed000")):
        tab.form.set_value(name, value)
    with qtbot.waitSignal(window.active.changed, timeout=60_000):
        tab.start()
    assert "the disk is full" in tab.message.text() and "active but unsaved" in tab.message.text()
    assert not window.active.saved and window.active.path is None and "(unsaved)" in window.model_status.text()
    monkeypatch.undo()
    assert window.save_model_to(tmp_path / "kept.pt")
    from engine.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "kept.pt").metadata["config"]["model"] == "seed000"


def test_quitting_with_an_unsaved_model_asks_and_cancel_keeps_the_window(qtbot, settings, monkeypatch, quitting_discards):
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    win.active.set(win.active.predictor, None, saved=False)
    monkeypatch.setattr("gui.main_window.ask_to_save", lambda _p: quitting_discards.append(1) or QMessageBox.StandardButton.Cancel)
    assert not win.close() and win.isVisible() and quitting_discards == [1]
    monkeypatch.setattr("gui.main_window.ask_to_save", lambda _p: QMessageBox.StandardButton.Discard)
    assert win.close()


def test_ctrl_c_in_the_terminal_closes_the_window_as_its_close_button_does(qtbot, settings, monkeypatch):
    import os
    import signal

    from gui.app import closing_on_interrupt

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    win.active.set(win.active.predictor, None, saved=False)  # a trained model not yet saved
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    asked = []
    monkeypatch.setattr("gui.main_window.ask_to_save", lambda _p: asked.append(1) or answers[len(asked) - 1])
    before = signal.getsignal(signal.SIGINT)
    with closing_on_interrupt(win):
        os.kill(os.getpid(), signal.SIGINT)  # idle: no Python runs until the wake-up byte is read
        qtbot.waitUntil(lambda: asked == [1], timeout=5000)
        assert win.isVisible()  # Cancel: the window stays, and a later Ctrl+C asks again
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: not win.isVisible(), timeout=5000)
    assert asked == [1, 1] and signal.getsignal(signal.SIGINT) is before


def test_saving_changes_the_status_without_re_evaluating(window, qtbot, tmp_path, monkeypatch):
    window.active.set(window.active.predictor, None, saved=False)
    starts = []
    monkeypatch.setattr(window.evaluate_tab, "start", lambda: starts.append(1))
    assert window.save_model_to(tmp_path / "m.pt")
    assert starts == [] and window.active.saved and "(unsaved)" not in window.model_status.text()
    assert window.device_status.text().startswith("Inference: CPU")


def test_a_model_saved_under_a_bare_name_gets_its_suffix(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window.active.set(window.active.predictor, None, saved=False)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: (str(tmp_path / "mine"), ""))
    assert window.save_model()
    assert (tmp_path / "mine.pt").is_file() and not (tmp_path / "mine").exists()
    assert window.active.path == tmp_path / "mine.pt" and window.recent_models() == [str(tmp_path / "mine.pt")]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: ("", ""))  # cancelled
    assert not window.save_model()


def test_a_model_with_malformed_metadata_is_refused_with_a_dialog(window, tmp_path, monkeypatch):
    import torch

    from engine.models import build_model

    torch.save({"format": "digit-studio-checkpoint", "metadata": ["not", "a", "dict"],
                "state_dict": build_model("seed000").state_dict()}, tmp_path / "odd.pt")
    errors = []
    monkeypatch.setattr("gui.main_window.show_error", lambda _parent, title, message: errors.append(message))
    before = window.active.predictor
    assert window.load_model(tmp_path / "odd.pt") is False
    assert errors and "odd.pt" in errors[0] and window.active.predictor is before


def test_an_exception_escaping_a_slot_is_logged_and_shown(qtbot, monkeypatch, isolated_home):
    import sys
    import threading

    from gui.app import install_excepthook

    shown = []
    monkeypatch.setattr("gui.app.QMessageBox.critical", lambda _parent, title, text: shown.append(text))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    install_excepthook(isolated_home / "logs" / "digit-studio.log")
    try:
        raise ZeroDivisionError("a bug")
    except ZeroDivisionError:
        sys.excepthook(*sys.exc_info())
    assert shown and "a bug" in shown[0] and "digit-studio.log" in shown[0]


def test_pictures_can_be_saved_and_copied(window, qtbot, tmp_path):
    from PySide6.QtGui import QGuiApplication

    from gui.export import copy_picture, save_picture

    draw_strokes(window.draw_tab.canvas, STROKES[7])
    qtbot.waitUntil(lambda: window.draw_tab.explanation is not None, timeout=5000)
    window.tabs.setCurrentWidget(window.layers_tab)
    for widget, name in ((window.draw_tab.why, "why"), (window.layers_tab._rows["conv1"].view, "conv1"),
                         (window.layers_tab._rows["output"].plot, "output")):
        save_picture(widget, tmp_path / f"{name}.png")
        with Image.open(tmp_path / f"{name}.png") as picture:
            assert picture.size[0] > 50 and len(np.unique(np.asarray(picture.convert("L")))) > 2  # not blank
    copy_picture(window.layers_tab._rows["conv1"].view)
    assert not QGuiApplication.clipboard().image().isNull()
    assert window.layers_tab._rows["conv1"].view.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu


def test_layer_statistics_say_where_a_run_blew_up(qtbot):
    from engine.events import LayerStats
    from gui.layer_stats_view import LayerStatsView

    view = LayerStatsView()
    qtbot.addWidget(view)
    histogram = (np.ones(4), np.linspace(0, 1, 5))

    def watch(step, norms):
        view.add(LayerStats(step, ("conv1", "fc1"), (histogram,) * 2, (histogram,) * 2, norms))

    watch(5, (1.0, 2.0))
    watch(10, (1000.0, 4.0))
    assert view.blow_up() == "The gradients grew most in conv1: from 1 at batch 5 to 1e+03 at batch 10."
    watch(15, (0.0, 0.0))
    watch(20, (float("nan"), float("nan")))
    assert view.blow_up().endswith("By batch 15 every layer's gradients were zero: its units had stopped "
                                   "responding (see Layer statistics).")
    view.redraw()
    x, _ = view._norm_curves[0].getData()
    assert list(x) == [5, 10]  # zero and NaN have no place on a log axis
    assert [label.text for _, label in view.legend.items] == ["conv1", "fc1"]  # in a row under the chart


def test_the_compare_legend_leaves_the_curves_it_names_in_sight(qtbot):
    from gui.legend_corner import PLACES, covered
    from gui.run_curves import CurveChart

    chart = CurveChart()
    qtbot.addWidget(chart)
    chart.resize(600, 700)
    chart.show()
    qtbot.waitExposed(chart)
    epochs = [0.5, 1.0, 1.5, 2.0]
    # The activations preset: ReLU climbs, tanh climbs slower, sigmoid stays flat at chance along the bottom,
    # where a legend in the bottom-right corner hid it.
    for label, accuracy in (("relu", [0.6, 0.67, 0.86, 0.88]), ("tanh", [0.3, 0.53, 0.59, 0.64]),
                            ("sigmoid", [0.12] * 4)):
        run = chart.add_run(label)
        for epoch, value in zip(epochs, accuracy):
            chart.add_accuracy(run, epoch, value)
    chart.redraw()
    qtbot.wait(50)
    view, legend, corner = chart.accuracy.getViewBox(), chart.legend, chart.legend_corner
    curves = [curve for _, curve in chart._curves]
    counts = {place: covered(view, legend, curves, place) for place in PLACES}
    assert counts[(1, 1)] > 0  # the bottom-right corner would cover the sigmoid line…
    assert counts[corner.place] == min(counts.values())  # …the legend sits where it covers least
    assert covered(view, legend, curves[2:], corner.place) == 0
    # Where the legend sits on screen is that place: its box inside the chart's, at the edges it leans on.
    box = legend.mapRectToItem(view, legend.boundingRect())
    assert 0 <= box.left() and box.right() <= view.boundingRect().width()
    assert (box.top() < view.boundingRect().height() / 2) == (corner.place[1] == 0)


def test_experiments_compare_a_preset_live_and_keep_every_run(window, qtbot, tiny_data):
    from engine import paths

    tab = window.experiments_tab
    window.tabs.setCurrentWidget(tab)
    compare = tab.compare
    compare.preset.setCurrentIndex(compare.preset.findData("optimizers"))
    assert "4 runs" in compare.estimate.text() and "Adam" in compare.lesson.text()
    assert not compare.chart.legend.isVisible()  # no blank legend box before there are runs to name
    axes = [plot.getAxis("bottom") for plot in (compare.chart.loss, compare.chart.accuracy)]
    assert not any(axis.style["showValues"] for axis in axes)  # nor numbers (0.1-0.9 epochs) with nothing to read
    assert compare.chart.accuracy.viewRange()[1] == pytest.approx([0, 1], abs=0.05)
    qtbot.mouseClick(find(window, QPushButton, "compareButton"), Qt.MouseButton.LeftButton)
    assert compare.running and not compare.start_button.isEnabled()
    qtbot.waitUntil(lambda: not compare.running, timeout=180_000)
    results = compare.results
    assert [r.config.optimizer for r in results] == ["sgd", "momentum", "adagrad", "adam"]
    assert all(r.test_accuracy is not None and r.history for r in results)
    assert compare.table.rowCount() == 4 and compare.table.item(3, 3).text().endswith("%")
    assert compare.table.item(3, 4).text() == f"{results[3].pen_accuracy:.2%}"  # the held-out pen writers
    # A run's name is shown whole, an option a line, in a row as tall as its lines however narrow the column.
    name = compare.table.item(1, 1)
    assert name.toolTip() == "optimizer=momentum, lr=0.01" and name.text().replace("\u200b", "").splitlines() == [
        "optimizer=momentum,", "lr=0.01"]
    table, lines = compare.table, QFontMetrics(compare.table.font()).lineSpacing()
    assert table.rowHeight(0) >= 2 * lines
    width = table.width()
    table.setFixedWidth(width - table.columnWidth(1) + 75)  # the name's column narrower than "optimizer=momentum,"
    qtbot.waitUntil(lambda: table.rowHeight(1) >= 3 * lines, timeout=2000)  # "optimizer=" over "momentum,"
    table.setMinimumWidth(0)
    table.setMaximumWidth(16_777_215)
    assert compare.chart.legend.isVisible() and len(compare.chart.legend.items) == 4
    assert all(axis.style["showValues"] for axis in axes)
    assert all(all(plot.getViewBox().autoRangeEnabled()) for plot in (compare.chart.loss, compare.chart.accuracy))
    _, accuracy = compare.chart._curves[3]
    assert len(accuracy.getData()[0]) == len(results[3].history)
    compare.table.item(0, 0).setCheckState(Qt.CheckState.Unchecked)  # hide the first run's curves
    assert not compare.chart._curves[0][0].isVisible() and compare.chart._curves[1][0].isVisible()
    compare.table.selectRow(3)
    compare.active_button.click()
    assert window.active.path == results[3].folder / "model.pt"
    # Adam's choice (the options this comparison varies, not its quick subset) goes to the Train tab.
    qtbot.mouseClick(find(window, QPushButton, "useCompareSettings"), Qt.MouseButton.LeftButton)
    config = window.train_tab.form.config()
    assert (config.optimizer, config.lr) == ("adam", results[3].config.lr) and config.train_subset == 0
    assert "From the compared run “optimizer=adam" in window.train_tab.message.text()
    window.tabs.setCurrentWidget(tab)
    # Every run is kept, and the Runs page lists them and reopens their curves.
    tab.pages.setCurrentWidget(tab.runs)
    runs = tab.runs
    assert {r.record.get("label") for r in runs.runs} >= {r.run for r in results}
    (paths.runs_dir() / "20000101-000000-broken").mkdir()
    (paths.runs_dir() / "20000101-000000-broken" / "run.json").write_text("{half")
    with pytest.MonkeyPatch.context() as home:  # the folder named as a person reads it
        home.setenv("HOME", str(paths.runs_dir().parent))
        runs.refresh()
        assert f"runs in {os.path.join('~', 'runs')} ·" in runs.where.text()
    broken = next(i for i, r in enumerate(runs.runs) if r.name.endswith("broken"))
    assert runs.table.item(broken, 0).text().startswith("unreadable: damaged run.json")
    runs.table.selectRow(0)
    assert runs.chart._data and runs.chart._data[0]["acc_y"]
    assert runs.export_csv(runs.selected(), paths.runs_dir().parent / "runs.csv")
    assert (paths.runs_dir().parent / "runs.csv").read_text().startswith("run,")
    runs.delete([runs.runs[broken]])  # a damaged run that still looks like a run can be deleted
    assert not any(r.name.endswith("broken") for r in runs.runs)


def test_experiments_search_shows_trials_as_they_finish(window, qtbot, tiny_data):
    search = window.experiments_tab.search
    window.tabs.setCurrentWidget(window.experiments_tab)
    window.experiments_tab.pages.setCurrentWidget(search)
    window.train_tab.form.set_value("model", "seed003")
    search.trials.setValue(3)
    search.sampler.setCurrentIndex(search.sampler.findData("random"))
    qtbot.mouseClick(find(window, QPushButton, "searchButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not search.running, timeout=180_000)
    assert search.table.rowCount() == 3 and [r.trial for r in search.results] == [0, 1, 2]
    assert search.best.text().startswith("Best so far: trial")
    x, y = search.points.getData()
    assert len(x) == sum(r.val_accuracy is not None for r in search.results) >= 1
    search.trials.setValue(1)  # one more trial of the same study: the earlier three are shown with it
    qtbot.mouseClick(find(window, QPushButton, "searchButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not search.running, timeout=180_000)
    assert search.table.rowCount() == 4 and [r.trial for r in search.results] == [0, 1, 2, 3]
    assert search.best.text().endswith("(4 trials in the study)")
    # The best trial's learning rate and weight decay go to the Train tab, to train with.
    best = max((r for r in search.results if r.state == "complete"), key=lambda r: r.val_accuracy)
    qtbot.mouseClick(find(window, QPushButton, "useSearchSettings"), Qt.MouseButton.LeftButton)
    config = window.train_tab.form.config()
    assert window.tabs.currentWidget() is window.train_tab
    assert (config.lr, config.weight_decay) == (best.params["lr"], best.params["weight_decay"])
    assert f"From trial {best.trial} of a quick search (8,000 MNIST digits, 2 epochs" in window.train_tab.message.text()
    assert "): learning rate" in window.train_tab.message.text()
    runs = window.experiments_tab.runs
    runs.refresh()  # each trial listed with what it tried, not cut short
    labels = [runs.table.item(i, 0).text() for i in range(runs.table.rowCount())]
    assert sum(label.startswith("trial ") for label in labels) == 4
    assert runs.table.columnWidth(0) > max(runs.table.fontMetrics().horizontalAdvance(label) for label in labels)
    runs.table.horizontalHeader().resizeSection(0, 90)  # the user narrows it by hand: kept on refresh
    runs.refresh()
    assert runs.table.columnWidth(0) == 90


def test_closing_the_window_mid_comparison_stops_it_and_keeps_the_finished_runs(qtbot, settings, tiny_data):
    from engine.runs import list_runs

    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    compare = window.experiments_tab.compare
    compare.preset.setCurrentIndex(compare.preset.findData("batchnorm"))
    compare.start()
    qtbot.waitUntil(lambda: any(r.test_accuracy is not None for r in compare.results), timeout=120_000)
    window.close()  # mid-way through the second run: it waits for the worker to stop
    qtbot.waitUntil(lambda: not compare.running, timeout=1000)  # only the queued "done" remains to arrive
    statuses = [s.record.get("status") for s in list_runs()]
    assert "finished" in statuses and "running" not in statuses


def test_samples_dialog_imports_exports_and_reports_a_bad_csv_in_a_worker(qtbot, tmp_path, monkeypatch, mnist, settings,
                                                                            your_pictures):
    from PySide6.QtWidgets import QFileDialog

    from engine.personal import PersonalSamples
    from gui.personal_panel import SamplesDialog

    good, bad, out = tmp_path / "mine.csv", tmp_path / "bad.csv", tmp_path / "out" / "export.csv"
    good.write_text("".join(f"{int(mnist.test_labels[i])}," + ",".join(map(str, mnist.test_images[i].flatten().tolist())) + "\n"
                            for i in range(120)))
    bad.write_text("3,1,2\n")
    out.parent.mkdir()
    dialog = SamplesDialog(PersonalSamples(tmp_path / "samples"), settings)
    qtbot.addWidget(dialog)
    warnings = []
    monkeypatch.setattr("gui.personal_panel.QMessageBox.warning", lambda _parent, title, text: warnings.append(text))
    for path in (good, bad):
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args, path=path: (str(path), ""))
        dialog.import_csv()
        assert dialog.busy and not dialog.buttons[0].isEnabled()  # the GUI thread is free while it works
        qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
        if path == good:
            assert dialog.thumbnails.rowCount() == 120 and "Imported 120 samples" in dialog.summary.text()
    assert len(dialog.store) == 120 and len(warnings) == 1 and "bad.csv, row 1" in warnings[0] and "Your samples are unchanged" in warnings[0]
    assert len(PersonalSamples(tmp_path / "samples")) == 120  # the index on disk holds every imported sample
    assert dialog.buttons[0].isEnabled()

    saved_to = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _parent, _title, start, _filter: saved_to.append(start) or (str(out), ""))
    dialog.export()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert len(out.read_text().splitlines()) == 121 and f"Exported 120 samples to {out}" in dialog.summary.text()
    dialog.export()  # the next export starts where the last one went
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert saved_to[1] == str(out.parent / "my-digits.csv")
    dialog.store.samples()[0].path.write_bytes(b"")  # a damaged drawing is left out of an export and named
    dialog.export()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert len(out.read_text().splitlines()) == 120 and "Exported 119 samples" in dialog.summary.text()
    assert "1 file left out: your sample of a" in dialog.summary.text() and not warnings[1:]

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args: str(your_pictures))
    dialog.choose_pictures()  # a folder of pictures sorted by digit
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert len(dialog.store) == 161 and "Imported 41 samples from class-3b. 2 files left out, the first:" in dialog.summary.text()

    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []
    monkeypatch.setattr("gui.personal_panel.QMessageBox.question", lambda _parent, _title, text: asked.append(text) or answers.pop(0))
    dialog.grid.selectAll()
    qtbot.keyClick(dialog.grid, Qt.Key.Key_Delete)  # asked first: No keeps them
    assert asked == ["Delete the 161 selected samples? Their drawings are removed from disk."] and len(dialog.store) == 161
    dialog.delete()
    assert len(PersonalSamples(tmp_path / "samples")) == 0 and dialog.thumbnails.rowCount() == 0


def test_samples_dialog_reads_only_the_drawings_it_shows(qtbot, tmp_path, settings):
    from engine.personal import PersonalSamples
    from gui.personal_panel import SamplesDialog

    store = PersonalSamples(tmp_path / "samples")
    drawing = np.full((280, 280), 255, np.uint8)
    drawing[60:220, 130:150] = 0  # a 1
    for _ in range(300):
        store.add(drawing, 1)
    store.samples()[0].path.write_bytes(b"not a png")  # a damaged drawing: a blank tile, not a broken dialog
    dialog = SamplesDialog(store, settings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.wait(300)  # painted: the first screenful of drawings is read
    first_screen = dialog.thumbnails.loaded()
    assert dialog.thumbnails.rowCount() == 300 and 20 < first_screen < 100
    dialog.grid.scrollToBottom()
    qtbot.waitUntil(lambda: dialog.thumbnails.loaded() > first_screen + 20)


def test_a_running_worker_that_its_starter_forgets_finishes_rather_than_being_deleted_under_its_thread(qtbot):
    """A tab drops a worker it no longer wants (the map of a result before) while it runs; its last references
    were a cycle (the map worker's callbacks name it), and Python's collector deleted it under its thread."""
    import gc
    import time

    from PySide6.QtCore import QObject

    from gui.workers import FunctionWorker, start_in_thread

    owner, finished = QObject(), []

    def work(me: list) -> str:
        for step in range(20):
            time.sleep(0.005)
            me[0].progress.emit(str(step))  # the worker used from its own thread, as the map's callbacks do
        return "done"

    for _ in range(8):
        me = [None]
        me[0] = worker = FunctionWorker(work, me)
        worker.succeeded.connect(finished.append)
        start_in_thread(worker, owner, "forgotten")
        del worker, me
        gc.collect()
    qtbot.waitUntil(lambda: gc.collect() is not None and len(finished) == 8, timeout=10_000)
    assert finished == ["done"] * 8


def test_a_map_switched_off_in_the_layers_tab_is_read_as_zeros_and_its_worth_is_shown(window, qtbot, tiny_data):
    from engine.ablation import knocked_out

    tab = window.layers_tab
    window.tabs.setCurrentWidget(tab)
    model = window.active.predictor.model
    tab.select(0, 8)
    followed = tab._followed()[0]
    assert tab.layers[0].values[8].max() > 0.5 and not tab.switch_off.isHidden()
    tab.switch_off.setChecked(True)  # conv1's ninth map off: the column is read through a copy without it
    assert np.all(tab.layers[0].values[8] == 0) and np.all(tab._rows["conv1"].tiles[8] == 0)
    expected = knocked_out(model, "conv1", 8)
    with torch.no_grad():
        logits = expected(torch.from_numpy(followed).view(1, 1, 28, 28))[0].numpy()
    np.testing.assert_allclose(tab._logits, logits, atol=1e-5)
    assert tab.needed.text().startswith("Without conv1 map 9 the drawing is")
    qtbot.waitUntil(lambda: not tab.finding_needed and "most needed" in tab.needed.text(), timeout=30_000)
    assert "of conv1's 16 maps" in tab.needed.text() and not tab.costs.isHidden()
    assert len(tab.costs_bars.opts["height"]) == 16
    tab.select(1, 5)  # another layer's map: it is switched off instead, and its layer's worth found
    assert np.all(tab.layers[1].values[5] == 0) and tab.layers[0].values[8].max() > 0.5
    qtbot.waitUntil(lambda: "of conv2's 32 maps" in tab.needed.text(), timeout=30_000)
    tab.switch_off.setChecked(False)  # on again: the model itself
    np.testing.assert_array_equal(tab.layers[1].values, window.active.predictor.layers(followed)[1].values)
    assert tab.needed.text() == "" and tab.costs.isHidden()
    assert not model.features.conv1._forward_hooks and not model.features.conv2._forward_hooks


def test_the_tour_opens_each_tab_in_turn_beside_what_to_try_there(window, qtbot):
    from gui.tour import STOPS

    tour = window.tour
    assert tour.isHidden()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    next(a for a in help_menu.actions() if a.text() == "Take the &tour").trigger()
    assert tour.isVisible() and tour.count.text() == f"1 of {len(STOPS)}" and not tour.back.isEnabled()
    assert window.tabs.currentWidget() is window.draw_tab
    assert not window.draw_tab.canvas.is_empty() and window.draw_tab.last_prediction.digit == 7  # a sample to look at
    seen = []
    while tour.next.text() == "Next":
        seen.append((window.tabs.currentWidget(), tour.title.text()))
        qtbot.mouseClick(tour.next, Qt.MouseButton.LeftButton)
    seen.append((window.tabs.currentWidget(), tour.title.text()))
    assert seen == [(getattr(window, stop.tab), stop.title) for stop in STOPS]
    qtbot.mouseClick(tour.back, Qt.MouseButton.LeftButton)
    assert tour.title.text() == STOPS[-2].title and window.tabs.currentWidget() is getattr(window, STOPS[-2].tab)
    qtbot.mouseClick(tour.next, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(tour.next, Qt.MouseButton.LeftButton)  # Finish
    assert tour.isHidden()
    window.draw_tab.canvas.clear()
    draw_strokes(window.draw_tab.canvas, STROKES[4])
    window.show_tour()  # from the start again; the user's own drawing stays
    assert tour.isVisible() and tour.count.text() == f"1 of {len(STOPS)}" and window.draw_tab.last_prediction.digit == 4


def test_a_test_set_that_cannot_be_read_for_the_maps_worth_is_said_once_not_tried_again_and_again(window, qtbot, monkeypatch):
    import gui.layers_tab
    from engine.idx import DatasetError

    tries = []

    def unreadable(name):
        tries.append(name)
        raise DatasetError("the MNIST test set is not in /nowhere")

    monkeypatch.setattr(gui.layers_tab, "pictured_test_set", unreadable)
    tab = window.layers_tab
    window.tabs.setCurrentWidget(tab)
    tab.select(0, 2)
    tab.switch_off.setChecked(True)
    qtbot.waitUntil(lambda: not tab.finding_needed, timeout=10_000)
    qtbot.wait(200)  # a retry would have begun by now
    assert tab.needed.text() == "Could not read the test digits: the MNIST test set is not in /nowhere"
    assert len(tries) == 1 and not tab.finding_needed
    assert np.all(tab.layers[0].values[2] == 0)  # the drawing is still read without the map
