"""Starting the desktop app: a splash at once, then PyTorch, the model and the main window."""

import os
import sys
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from engine.paths import APP_NAME, APP_SLUG, assets_dir

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


def run_app() -> int:
    app = create_application()
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
    return app.exec()
