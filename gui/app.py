"""Starting the desktop app."""

import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from engine.paths import APP_NAME, APP_SLUG, assets_dir


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setDesktopFileName(APP_SLUG)
    icon = assets_dir() / "icon.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_app() -> int:
    app = create_application()
    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    return app.exec()
