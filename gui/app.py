"""Starting the desktop app: a splash at once, then PyTorch, the model and the main window."""

import os
import sys
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

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


def _report(what: str) -> None:
    if os.environ.get(STARTUP_REPORT):
        print(f"{what} {time.time():.3f}", flush=True)


def run_app() -> int:
    app = create_application()
    # PyTorch takes seconds to import; the splash appears in a fraction of that.
    splash = QSplashScreen(QPixmap(str(assets_dir() / "icon.png")))
    splash.showMessage(f"{APP_NAME}\nloading PyTorch and the model…",
                       Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter, Qt.GlobalColor.white)
    splash.show()
    app.processEvents()
    _report("splash")
    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    splash.finish(window)
    app.processEvents()
    _report("window")
    if os.environ.get(STARTUP_REPORT):
        return 0
    return app.exec()
