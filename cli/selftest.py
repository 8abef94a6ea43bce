"""`--self-test`: check, headless, that this installation (or packaged bundle) works end to end."""

import os
import sys
import tempfile
import time
from dataclasses import replace

from engine.paths import sample_digit_path


def _check_model() -> str:
    from engine.predict import Predictor

    predictor = Predictor.load()
    return f"default model loads ({predictor.metadata.get('model', {}).get('name')})"


def _check_samples() -> str:
    from engine.predict import Predictor
    from engine.preprocess import read_image

    predictor = Predictor.load()
    paths = [sample_digit_path(digit) for digit in range(10)]  # a missing one: read_image names it
    wrong = [f"{path.name} read as {read}" for digit, path in enumerate(paths)
             if (read := predictor.predict(read_image(path)).digit) != digit]
    if wrong:
        raise AssertionError("misread: " + ", ".join(wrong))
    return "all 10 sample images read correctly"


def _check_training() -> str:
    from engine.config import TrainConfig
    from engine.datasets import load_dataset
    from engine.events import Finished
    from engine.train import Trainer

    full = load_dataset("mnist")
    tiny = replace(full, train_images=full.train_images[:256], train_labels=full.train_labels[:256],
                   test_images=full.test_images[:256], test_labels=full.test_labels[:256])
    config = TrainConfig(model="seed000", epochs=1, batch_size=64, val_fraction=0.0, device="cpu", checkpoint_every=0)
    with tempfile.TemporaryDirectory() as run_dir:
        result = Trainer(config, dataset=tiny, run_dir=run_dir).run()
        if not isinstance(result, Finished) or result.checkpoint is None:
            raise AssertionError(f"training failed: {getattr(result, 'message', result)}")
    return f"MNIST loads ({len(full.train_labels):,} + {len(full.test_labels):,}); one tiny epoch trains and saves"


def _check_gui() -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gui.app import create_application

    app = create_application()
    from PySide6.QtCore import QSettings
    from gui.main_window import MainWindow

    with tempfile.TemporaryDirectory() as folder:  # never touch the user's own settings
        window = MainWindow(settings=QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat))
        window.close()
        app.processEvents()
    return "main window builds (Qt platform and plugins present)"


CHECKS = (("model", _check_model), ("samples", _check_samples), ("training", _check_training), ("gui", _check_gui))


def run_self_test() -> int:
    failures = 0
    start = time.perf_counter()
    for name, check in CHECKS:
        try:
            print(f"ok    {name}: {check()}", flush=True)
        except Exception as exc:  # every failure is reported, then the next check runs
            failures += 1
            print(f"FAIL  {name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    verdict = "self-test passed" if not failures else f"self-test FAILED ({failures} of {len(CHECKS)} checks)"
    print(f"{verdict} in {time.perf_counter() - start:.1f} s", file=sys.stderr if failures else sys.stdout)
    return 1 if failures else 0
