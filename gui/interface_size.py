"""The size the whole interface is drawn at: larger text, pictures and controls for a projector at the back
of a classroom or a small screen of many pixels, chosen in View → Interface size.

Qt scales an interface evenly only as it starts (``QT_SCALE_FACTOR``), so the size chosen is remembered,
applied before the next start, and the app offers to restart itself. The app's size multiplies a scale
the user's environment already sets rather than replacing it."""

import logging
import os
import sys

from PySide6.QtCore import QProcess, QProcessEnvironment, QSettings, QSize
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from engine.paths import APP_NAME
from gui.settings import remember, remembered

SIZES = (100, 125, 150, 175, 200)  # percent of the size the system gives the app
SCALE_VARIABLE = "QT_SCALE_FACTOR"
log = logging.getLogger(__name__)

_given: str | None = None  # QT_SCALE_FACTOR as the app found it, the user's own: ours multiplies it
_applied = 100  # the size this process was started at


def chosen_size(settings: QSettings) -> int:
    size = remembered(settings, "interface_size")
    return size if size in SIZES else 100  # a size written by hand, or by another version


def scale_factor(given: str | None, percent: int) -> str | None:
    """``QT_SCALE_FACTOR`` for the interface at ``percent`` of its size, over the factor ``given`` in the
    environment (None: none given, and none needed)."""
    if percent == 100:
        return given
    try:
        base = float(given) if given else 1.0
    except ValueError:  # Qt would ignore it too
        base = 1.0
    return f"{base * percent / 100:g}"


def apply_before_start(settings: QSettings) -> None:
    """Before the QApplication is made: the remembered size, over any scale the environment sets."""
    global _given, _applied
    _given, _applied = os.environ.get(SCALE_VARIABLE), chosen_size(settings)
    factor = scale_factor(_given, _applied)
    if factor is not None:
        os.environ[SCALE_VARIABLE] = factor


def applied_size() -> int:
    return _applied


def restart_command() -> tuple[str, list[str]]:
    """The program and arguments that start the app again: the bundle's executable, or Python and the
    script that started it (main.py, or the ``digit-studio`` entry point)."""
    if getattr(sys, "frozen", False):
        return sys.executable, []
    return sys.executable, [os.path.abspath(sys.argv[0])]


def start_again() -> bool:
    """A new process of the app, with the environment this one was given (not the scale it set itself)."""
    environment = QProcessEnvironment.systemEnvironment()
    if _given is None:
        environment.remove(SCALE_VARIABLE)
    else:
        environment.insert(SCALE_VARIABLE, _given)
    program, arguments = restart_command()
    process = QProcess()
    process.setProgram(program)
    process.setArguments(arguments)
    process.setProcessEnvironment(environment)
    process.setWorkingDirectory(os.getcwd())
    return process.startDetached()


def too_large(percent: int, available: QSize, smallest: QSize) -> bool:
    """Whether the interface at ``percent`` would leave a screen of ``available`` (at today's size) less room
    than the window's ``smallest`` size."""
    shrink = applied_size() / percent
    return available.width() * shrink < smallest.width() or available.height() * shrink < smallest.height()


def add_size_menu(menu: QMenu, window: QWidget, settings: QSettings, smallest: QSize) -> QMenu:
    """View → Interface size: one checkable size each; a size the screen has no room for is greyed."""
    sizes = menu.addMenu("Interface &size")
    sizes.setToolTipsVisible(True)
    group = QActionGroup(sizes)
    chosen = chosen_size(settings)
    for percent in SIZES:
        action = QAction(f"{percent} %" + (" (the system's)" if percent == 100 else ""), group)
        action.setCheckable(True)
        action.setChecked(percent == chosen)
        sizes.addAction(action)  # (no data: the shortcuts dialog lists actions by theirs)
    actions = dict(zip(group.actions(), SIZES))
    group.triggered.connect(lambda action: choose_size(window, settings, actions[action]))

    def grey_what_will_not_fit() -> None:
        available = window.screen().availableGeometry().size()
        for action, percent in actions.items():
            action.setEnabled(action.isChecked() or not too_large(percent, available, smallest))
            action.setToolTip("" if action.isEnabled() else "Too large for this screen")
    sizes.aboutToShow.connect(grey_what_will_not_fit)
    return sizes


def choose_size(window: QWidget, settings: QSettings, percent: int) -> None:
    """Remember the size; it applies from the next start, now if the user restarts the app."""
    remember(settings, "interface_size", percent)
    if percent == applied_size():
        return
    answer = QMessageBox.question(
        window, "Interface size",
        f"{APP_NAME} will be drawn at {percent} % of the system's size from its next start. Restart it now?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    if answer == QMessageBox.StandardButton.Yes and window.close():  # a run is stopped and saved, a model asked about
        settings.sync()  # on disk before the new process reads it
        if not start_again():
            log.warning("could not start %s again", restart_command())
            QMessageBox.warning(None, "Interface size", f"{APP_NAME} could not start again: start it as usual.")
