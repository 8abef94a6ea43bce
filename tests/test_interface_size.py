"""The interface's size: chosen in the app, applied by Qt as the next process starts, over the user's own scale."""

import subprocess
import sys
import textwrap
import time

import pytest
from PySide6.QtCore import QSettings, QSize

from conftest import ROOT
from gui import interface_size
from gui.interface_size import scale_factor, too_large


@pytest.fixture
def settings_file(tmp_path):
    return tmp_path / "settings.ini"


def qt_scale_in_a_new_process(settings_file, environment: dict) -> float:
    """The device pixel ratio Qt gives a new app whose start applies the size in ``settings_file``."""
    script = textwrap.dedent(f"""
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        from gui.interface_size import apply_before_start
        apply_before_start(QSettings({str(settings_file)!r}, QSettings.Format.IniFormat))
        app = QApplication([])
        print(app.primaryScreen().devicePixelRatio())
    """)
    env = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", **environment}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1])


def test_the_size_chosen_is_the_scale_qt_draws_at_from_the_next_start(settings_file):
    assert qt_scale_in_a_new_process(settings_file, {}) == 1.0  # nothing chosen: the system's size
    store = QSettings(str(settings_file), QSettings.Format.IniFormat)
    store.setValue("interface_size", 150)
    store.sync()
    assert qt_scale_in_a_new_process(settings_file, {}) == 1.5
    assert qt_scale_in_a_new_process(settings_file, {"QT_SCALE_FACTOR": "2"}) == 3.0  # over the user's own scale
    store.setValue("interface_size", 130)  # not a size the menu offers (written by hand): the system's
    store.sync()
    assert qt_scale_in_a_new_process(settings_file, {"QT_SCALE_FACTOR": "1.25"}) == 1.25


def test_scale_factor_over_what_the_environment_gives():
    assert scale_factor(None, 100) is None and scale_factor("2", 100) == "2"
    assert scale_factor(None, 175) == "1.75" and scale_factor("2", 125) == "2.5"
    assert scale_factor("large", 150) == "1.5"  # Qt ignores a factor that is not a number; so do we


def test_a_size_that_leaves_the_window_too_little_room_is_too_large(monkeypatch):
    smallest = QSize(720, 480)
    assert not too_large(150, QSize(1366, 768), smallest)  # 911×512 left
    assert too_large(175, QSize(1366, 768), smallest)  # 781×439
    monkeypatch.setattr(interface_size, "_applied", 200)  # the screen seen at 200 % is 683×384 today
    assert not too_large(150, QSize(683, 384), smallest) and too_large(175, QSize(683, 384), smallest)


def test_the_restarted_app_gets_the_users_scale_not_the_one_the_app_set(tmp_path, monkeypatch):
    """The restart must not inherit the factor this process set for itself, or the new size would be
    taken for the user's own and multiplied again."""
    seen = tmp_path / "scale.txt"
    script = tmp_path / "app.py"
    script.write_text(f"import os\nopen({str(seen)!r}, 'w').write(os.environ.get('QT_SCALE_FACTOR', 'none'))\n")
    monkeypatch.setattr(interface_size, "restart_command", lambda: (sys.executable, [str(script)]))
    for given, this_process in ((None, "1.5"), ("2", "3")):
        monkeypatch.setattr(interface_size, "_given", given)
        monkeypatch.setenv("QT_SCALE_FACTOR", this_process)
        seen.unlink(missing_ok=True)
        assert interface_size.start_again()
        deadline = time.monotonic() + 30
        while not (seen.exists() and seen.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen.read_text() == (given or "none")
