"""Starting the desktop app: a splash at once, then PyTorch, the model and the main window."""

import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Sequence

from PySide6.QtCore import QSettings, QSocketNotifier, Qt, QTimer
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QVBoxLayout, QWidget

from engine.logs import setup_logging
from engine.paths import APP_NAME, APP_SLUG, assets_dir
from gui.interface_size import apply_before_start

# Set by packaging/measure_startup.py: print when each window appears, then quit.
STARTUP_REPORT = "DIGIT_STUDIO_STARTUP_REPORT"


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setDesktopFileName(APP_SLUG)
    icon = assets_dir() / "icon.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def make_splash() -> QWidget:
    """A frameless window with the icon and a line of text. (QSplashScreen.show() waits up to a
    second for the window manager to expose it; this appears at once.)"""
    splash = QWidget(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
    splash.setStyleSheet("background: #1f77b4; color: white; font-size: 13px")
    icon, text = QLabel(), QLabel(f"<b>{APP_NAME}</b><br>loading PyTorch and the model…")
    icon.setPixmap(QPixmap(str(assets_dir() / "icon.png")).scaledToWidth(160, Qt.TransformationMode.SmoothTransformation))
    for label in (icon, text):
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout = QVBoxLayout(splash)
    layout.setContentsMargins(24, 20, 24, 20)
    layout.addWidget(icon)
    layout.addWidget(text)
    splash.adjustSize()
    screen = splash.screen().availableGeometry()
    splash.move(screen.center() - splash.rect().center())
    return splash


def _report(what: str) -> None:
    if os.environ.get(STARTUP_REPORT):
        print(f"{what} {time.time():.3f}", flush=True)


NO_DISPLAY = ("Digit Studio's window needs a display, and none was found (DISPLAY and WAYLAND_DISPLAY are "
              "not set). The commands run without one: try  {prog} --help,  {prog} predict IMAGE,  {prog} train.")
log = logging.getLogger("gui")


def has_display() -> bool:
    """False on a Linux machine with no X or Wayland display (an SSH session, a server, CI) unless Qt
    was told to draw elsewhere (QT_QPA_PLATFORM=offscreen)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def install_excepthook(log_file) -> None:
    """Any exception that escapes a slot or a thread is logged and shown in a dialog; the app goes on."""
    where = f"\n\nThe details are in the log: {log_file}" if log_file else ""

    def report(kind, value, tb) -> None:
        log.error("unhandled exception", exc_info=(kind, value, tb))
        if QApplication.instance() is None or threading.current_thread() is not threading.main_thread():
            traceback.print_exception(kind, value, tb)
            return
        QMessageBox.critical(None, f"{APP_NAME}: unexpected error",
                             f"Something went wrong: {value or kind.__name__}.\n\nYour work is still open.{where}")

    sys.excepthook = report
    threading.excepthook = lambda args: report(args.exc_type, args.exc_value, args.exc_traceback)


def run_app(verbose: bool = False, files: Sequence[str] = ()) -> int:
    """The app, with ``files`` (pictures, models) opened as a drop on its window opens them."""
    if not has_display():
        print(NO_DISPLAY.format(prog=os.path.basename(sys.argv[0]) or "main.py"), file=sys.stderr)
        return 2
    log_file = setup_logging(verbose)
    apply_before_start(QSettings(APP_NAME, APP_NAME))  # the settings MainWindow reads, before Qt scales anything
    app = create_application()
    install_excepthook(log_file)
    # PyTorch takes seconds to import; the splash appears in a fraction of that.
    splash = make_splash()
    splash.show()
    app.processEvents()
    _report("splash")
    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    splash.close()
    app.processEvents()
    _report("window")
    if os.environ.get(STARTUP_REPORT):
        return 0
    if files:
        QTimer.singleShot(0, lambda: window.open_files([os.path.abspath(f) for f in files]))
    QTimer.singleShot(0, freeze_startup_objects)  # after the model's warm-up, queued by the window
    with closing_on_interrupt(window):
        return app.exec()


@contextlib.contextmanager
def closing_on_interrupt(window: QWidget):
    """Ctrl+C in the terminal that started the app closes the window as its close button does: a run
    under way stops and is saved, an unsaved model is asked about; a second Ctrl+C meanwhile ends the
    app at once. Qt's loop runs no Python while it waits, so Python's own handler would wait for the
    next mouse move: the signal's wake-up byte, written to a socket Qt watches, wakes it (as matplotlib's
    and napari's Qt loops do)."""
    wake, notice = socket.socketpair()
    for end in (wake, notice):
        end.setblocking(False)
    notifier = QSocketNotifier(notice.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda: notice.recv(64))  # Python runs the handler before this slot
    previous_handler, previous_fd = signal.getsignal(signal.SIGINT), signal.set_wakeup_fd(wake.fileno())

    def interrupted(*_) -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        log.info("interrupted (Ctrl+C): closing the window")
        QTimer.singleShot(0, close)

    def close() -> None:
        if not window.close():  # the user chose to stay (Cancel in the dialog about an unsaved model)
            signal.signal(signal.SIGINT, interrupted)

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        notifier.setEnabled(False)
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous_handler)
        wake.close()
        notice.close()


def freeze_startup_objects() -> None:
    """Keep everything made while starting (PyTorch, Qt, the window: about a million objects) out of
    Python's full garbage collections. Each one otherwise walks them all and held the GUI thread for
    70–100 ms, a visible stall in the middle of a stroke (bench/gui_latency.py)."""
    gc.freeze()
