"""Soak the app: many train/pause/resume/stop cycles, then closing the window mid-training, mid-evaluation
and mid-Personalise. Passes when nothing crashes, no thread is left behind and every stopped run loads.

    QT_QPA_PLATFORM=offscreen python -m bench.soak [--cycles 20]

The data is a 2,048-image MNIST subset in a temporary folder, so a cycle takes about a second; the
user's own settings and data folder are never touched. tests/test_soak.py runs a short version.
"""

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from engine.checkpoint import load_checkpoint
from engine.datasets import load_dataset
from engine.idx import write_idx
from engine.personal import PersonalSamples


def tiny_mnist(folder: Path, n_train: int = 2048, n_test: int = 512) -> Path:
    mnist = load_dataset("mnist")
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("train-images-idx3-ubyte", mnist.train_images[:n_train]), ("train-labels-idx1-ubyte", mnist.train_labels[:n_train]),
                        ("t10k-images-idx3-ubyte", mnist.test_images[:n_test]), ("t10k-labels-idx1-ubyte", mnist.test_labels[:n_test])):
        write_idx(folder / f"{name}.gz", array.numpy().astype(np.uint8))
    return folder


def _wait(app, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def _window(settings_file: Path):
    from PySide6.QtCore import QSettings

    from gui.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(settings_file), QSettings.Format.IniFormat))
    window.show()
    tab = window.train_tab
    for name, value in (("dataset", "mnist"), ("model", "seed001"), ("epochs", 50), ("batch_size", 64)):
        tab.form.set_value(name, value)
    return window


def soak(cycles: int, workdir: Path, report=print) -> dict:
    start = time.perf_counter()
    report = (lambda say: lambda text: say(f"{time.perf_counter() - start:5.1f} s  {text}"))(report)
    """Run the soak in ``workdir``; returns counts and raises AssertionError on the first fault."""
    from PySide6.QtCore import QThread

    import gui.main_window
    from gui.app import create_application

    os.environ["DIGIT_STUDIO_HOME"] = str(workdir / "home")
    os.environ["DIGIT_STUDIO_DATA"] = str(tiny_mnist(workdir / "data" / "mnist"))
    gui.main_window.ask_to_save = lambda _parent: gui.main_window.QMessageBox.StandardButton.Discard
    app = create_application()
    threads_before = threading.active_count()
    window = _window(workdir / "settings.ini")
    tab = window.train_tab
    stopped_runs = []
    for cycle in range(1, cycles + 1):
        tab.start()
        _wait(app, lambda: len(tab.curves.steps) > 2, 60, "the first batches")
        tab.pause_button.click()
        steps = len(tab.curves.steps)
        app.processEvents()
        time.sleep(0.1)
        tab.pause_button.click()
        _wait(app, lambda: len(tab.curves.steps) > steps + 1, 60, "training to resume")
        tab.stop_button.click()
        _wait(app, lambda: not tab.running, 60, "the run to stop")
        load_checkpoint(tab.trainer.run_dir / "model.pt")  # every stopped run is loadable
        stopped_runs.append(tab.trainer.run_dir)
        report(f"cycle {cycle}/{cycles}: stopped after {len(tab.curves.steps)} logged steps, model loads")
    window.close()

    # Close mid-training: the run stops and saves.
    window = _window(workdir / "settings.ini")
    window.train_tab.start()
    _wait(app, lambda: len(window.train_tab.curves.steps) > 2, 60, "the first batches")
    trainer = window.train_tab.trainer
    window.close()
    load_checkpoint(trainer.run_dir / "model.pt")
    report("closed during training: the run stopped and its model loads")

    # Close mid-evaluation and mid-Personalise: the window waits for the worker instead of crashing.
    window = _window(workdir / "settings.ini")
    window.tabs.setCurrentWidget(window.evaluate_tab)
    window.evaluate_tab.start()
    assert window.evaluate_tab.running
    window.close()
    report("closed during evaluation")
    store = PersonalSamples()
    for digit in range(10):
        drawing = np.full((200, 200), 255, np.uint8)
        drawing[40:160, 90 + digit:110 + digit] = 0
        store.add(drawing, digit)
    window = _window(workdir / "settings.ini")
    window.load_model(stopped_runs[-1] / "model.pt")  # rehearses on what it was trained on: the small MNIST
    window.personal.store = store
    window.personal.start_personalise()
    assert window.personal.running
    window.close()
    report("closed during Personalise")

    app.processEvents()
    leftover = [t for t in window.findChildren(QThread) if t.isRunning()]
    assert not leftover, f"threads still running: {leftover}"
    _wait(app, lambda: threading.active_count() <= threads_before, 10, "Python threads to end")
    return {"cycles": cycles, "stopped_runs": len(stopped_runs), "threads": threading.active_count() - threads_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        result = soak(args.cycles, Path(workdir))
    print(f"soak passed: {result['cycles']} train/pause/resume/stop cycles, every stopped run loadable, three "
          f"closes mid-work, no thread left behind ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
