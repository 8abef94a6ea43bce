"""Bad input and faults: each ends in one clear message and loses nothing (docs/reliability.md)."""

import dataclasses
import json
import os
import signal
import struct
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT, mnist_digit_as_drawing
from engine import train as train_module
from engine.checkpoint import CheckpointError, SaveError, load_checkpoint, make_metadata, save_checkpoint
from engine.config import TrainConfig
from engine.events import Failed, Finished, Notice
from engine.models import build_model
from engine.preprocess import MAX_PIXELS, NOTHING_DRAWN, prepare_image, read_image
from engine.train import Trainer
from test_cli import main, main_process

FAST = dict(model="seed000", epochs=1, batch_size=128, augment=False, ema=False, device="cpu", dataset="mnist")


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory, mnist) -> Path:
    path = tmp_path_factory.mktemp("digit") / "seven.png"
    Image.fromarray(mnist_digit_as_drawing(mnist.test_images[0], 200)).save(path)
    return path


def huge_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width×height: what a decompression bomb looks like before decoding."""
    Image.new("L", (8, 8), 255).save(path)
    data = bytearray(path.read_bytes())
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = header[4:]
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    path.write_bytes(bytes(data))
    return path


# --- images --------------------------------------------------------------------------------------

@pytest.mark.parametrize("side", [20000, 8000])  # past Pillow's own limit, and past ours only
def test_an_enormous_image_is_refused_before_decoding_and_the_next_file_is_read(tmp_path, digit_png, mnist, side):
    bomb = huge_png(tmp_path / "bomb.png", side, side)
    assert side * side > MAX_PIXELS
    start = time.perf_counter()
    with pytest.raises(ValueError, match="image too large"):
        read_image(bomb)
    assert time.perf_counter() - start < 1.0
    out = main("predict", bomb, digit_png, "--json")
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "too large" in records[0]["error"] and records[1]["digit"] == int(mnist.test_labels[0])


def test_a_large_jpeg_is_decoded_at_a_reduced_size(tmp_path, monkeypatch, mnist):
    path = tmp_path / "photo.jpg"
    Image.fromarray(mnist_digit_as_drawing(mnist.test_images[0], 400)).save(path, quality=95)
    monkeypatch.setattr("engine.preprocess.MAX_PIXELS", 100 * 100)
    gray = read_image(path)
    assert max(gray.shape) <= 200  # the JPEG decoder scaled it down
    assert prepare_image(gray).pixels is not None


@pytest.mark.parametrize("mode", ["I", "F", "I;16"])
def test_high_bit_depth_tiffs_with_grey_ink_are_read(tmp_path, mnist, mode):
    drawing = mnist_digit_as_drawing(mnist.test_images[0], 200).astype(np.float64)
    scale = {"I": 40000.0 / 255, "F": 200.0 / 255, "I;16": 50000.0 / 255}[mode]  # grey ink, not black
    values = 60 + drawing * scale
    path = tmp_path / f"digit-{mode.replace(';', '')}.tif"
    array = values.astype({"I": np.int32, "F": np.float32, "I;16": np.uint16}[mode])
    Image.fromarray(array, mode=mode if mode != "I;16" else None).save(path)
    prepared = prepare_image(read_image(path))
    assert not prepared.empty, NOTHING_DRAWN
    reference = prepare_image(mnist_digit_as_drawing(mnist.test_images[0], 200)).pixels
    assert np.abs(prepared.pixels - reference).mean() < 0.05


def test_transparent_background_and_palette_images_keep_their_ink(tmp_path, mnist):
    ink = 255 - mnist_digit_as_drawing(mnist.test_images[0], 200)
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[..., 3] = ink  # black ink, transparent paper
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(rgba, "RGBA").convert("P").save(tmp_path / "p.png")
    for name in ("a.png", "p.png"):
        assert not prepare_image(read_image(tmp_path / name)).empty, name


def test_a_tightly_cropped_small_scan_keeps_its_polarity(mnist):
    # An 8×8 binary zero: most of its border is ink, so "the border is paper" inverted it.
    zero = np.array([[0, 1, 1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, 0, 0, 1],
                     [1, 0, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0, 1, 1],
                     [0, 1, 0, 0, 0, 1, 1, 0], [0, 1, 1, 1, 1, 0, 0, 0]], np.float32)
    light_on_dark, dark_on_light = prepare_image(zero).pixels, prepare_image(1 - zero).pixels
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=1e-6)
    assert light_on_dark[12:17, 12:17].max() < 0.3 and light_on_dark.max() > 0.9  # a hole in the middle, ink around it


# --- checkpoints ---------------------------------------------------------------------------------

def write_raw_checkpoint(path: Path, metadata, state: dict) -> Path:
    torch.save({"format": "digit-studio-checkpoint", "metadata": metadata, "state_dict": state}, path)
    return path


def test_a_checkpoint_with_nan_weights_is_refused_everywhere(tmp_path, digit_png):
    model = build_model("seed000")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    next(v for v in state.values() if v.is_floating_point()).fill_(float("nan"))
    path = write_raw_checkpoint(tmp_path / "nan.pt", make_metadata("seed000", {}, "mnist", range(10)), state)
    with pytest.raises(CheckpointError, match="not finite"):
        load_checkpoint(path)
    out = main("predict", digit_png, "--model", path, "--json")
    assert out.returncode == 1 and out.stdout == "" and "not finite" in out.stderr and "Traceback" not in out.stderr
    with torch.no_grad():
        next(model.parameters()).fill_(float("inf"))
    with pytest.raises(CheckpointError, match="not finite"):
        save_checkpoint(tmp_path / "inf.pt", model, make_metadata("seed000", {}, "mnist", range(10)))
    assert not (tmp_path / "inf.pt").exists()


@pytest.mark.parametrize("metadata", [["a", "list"], "text", {"model": "seed000"}, {"model": {"name": "seed000"}, "metrics": 3}])
def test_a_checkpoint_with_malformed_metadata_is_one_clear_error(tmp_path, digit_png, metadata):
    path = write_raw_checkpoint(tmp_path / "odd.pt", metadata, build_model("seed000").state_dict())
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    out = main("predict", digit_png, "--model", path)
    assert out.returncode == 1 and out.stderr.startswith("error: odd.pt") and "Traceback" not in out.stderr


def test_a_full_disk_is_named_and_the_old_file_survives(tmp_path, monkeypatch):
    model = build_model("seed000")
    target = save_checkpoint(tmp_path / "model.pt", model, make_metadata("seed000", {}, "mnist", range(10)))
    before = target.read_bytes()

    def full_disk(*_args, **_kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(torch, "save", full_disk)
    monkeypatch.setattr("shutil.disk_usage", lambda _p: type("U", (), {"free": 0})())
    with pytest.raises(SaveError, match="the disk is full"):
        save_checkpoint(target, model, make_metadata("seed000", {}, "mnist", range(10)))
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["model.pt"]


# --- training ------------------------------------------------------------------------------------

def test_nan_validation_counts_as_divergence_and_is_not_saved(small_mnist, tmp_path, monkeypatch):
    real = train_module.evaluate

    def nan_loss(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), loss=float("nan"))

    monkeypatch.setattr(train_module, "evaluate", nan_loss)
    final = Trainer(TrainConfig(**{**FAST, "epochs": 2}), dataset=small_mnist, run_dir=tmp_path / "run").run()
    assert isinstance(final, Failed) and final.kind == "diverged" and "validation loss" in final.message
    assert final.checkpoint is None and not (tmp_path / "run" / "last.pt").exists()


def test_an_unwritable_run_folder_falls_back_before_training(small_mnist, tmp_path, isolated_home):
    (tmp_path / "file").write_text("not a folder")
    events = []
    final = Trainer(TrainConfig(**FAST), events.append, dataset=small_mnist, run_dir=tmp_path / "file" / "run").run()
    notices = [e for e in events if isinstance(e, Notice)]
    assert isinstance(final, Finished) and notices and "saving this run in" in notices[0].message
    assert Path(final.checkpoint).parent.parent == isolated_home / "runs"
    assert events.index(notices[0]) < next(i for i, e in enumerate(events) if type(e).__name__ == "BatchEnd")
    load_checkpoint(final.checkpoint)


def test_a_save_that_fails_everywhere_ends_the_run_with_a_message(small_mnist, tmp_path, monkeypatch):
    def fail(path, *_args, **_kwargs):
        raise SaveError(28, f"could not save {path}: the disk is full")

    monkeypatch.setattr(train_module, "save_checkpoint", fail)
    trainer = Trainer(TrainConfig(**FAST), dataset=small_mnist, run_dir=tmp_path / "run")
    final = trainer.run()
    assert isinstance(final, Failed) and final.kind == "save" and "the disk is full" in final.message
    assert trainer.final_metadata is not None and trainer.model is not None  # the app hands it over unsaved


def test_any_exception_in_training_becomes_a_failed_event(small_mnist, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise KeyError("something unforeseen")

    monkeypatch.setattr(train_module, "augment_batch", broken)
    events = []
    final = Trainer(TrainConfig(**{**FAST, "augment": True}), events.append, dataset=small_mnist, run_dir=tmp_path / "r").run()
    assert isinstance(final, Failed) and final.kind == "error" and "something unforeseen" in final.message
    assert events[-1] is final


def test_stop_while_paused_finishes_as_stopped(small_mnist, tmp_path):
    import threading

    trainer = Trainer(TrainConfig(**{**FAST, "epochs": 3}), dataset=small_mnist, run_dir=tmp_path / "r")
    trainer.pause()
    result = {}
    worker = threading.Thread(target=lambda: result.update(final=trainer.run()))
    worker.start()
    time.sleep(0.5)
    trainer.stop()
    worker.join(30)
    assert not worker.is_alive()
    assert isinstance(result["final"], Finished) and result["final"].stopped and result["final"].epochs_done == 0


# --- the command line ----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--epochs", "-1"], ["--batch-size", "0"], ["--val-fraction", "2"], ["--lr", "nan"]])
def test_out_of_range_options_are_one_line(args):
    out = main("train", *args)
    assert out.returncode == 1 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_cuda_without_a_gpu_is_one_line(command, digit_png):
    args = [digit_png] if command == "predict" else []
    out = main(command, *args, "--device", "cuda")
    assert out.returncode == 1 and "error: CUDA was requested" in out.stderr and "Traceback" not in out.stderr


def test_verbose_shows_the_traceback_and_the_log_keeps_it(isolated_home, tmp_path, digit_png):
    (tmp_path / "bad.pt").write_bytes(b"PK\x03\x04 not really")
    quiet = main("predict", digit_png, "--model", tmp_path / "bad.pt")
    assert quiet.stderr.startswith("error: bad.pt: corrupt") and "Traceback" not in quiet.stderr
    log_text = (isolated_home / "logs" / "digit-studio.log").read_text()
    assert "predict failed" in log_text and "Traceback" in log_text and "bad.pt: corrupt" in log_text
    loud = main("--verbose", "predict", digit_png, "--model", tmp_path / "bad.pt")
    assert "Traceback" in loud.stderr and loud.returncode == 1


def test_a_fault_of_ours_points_to_the_log(monkeypatch, isolated_home, digit_png):
    def bug(*_args):
        raise KeyError("oops")

    monkeypatch.setattr("cli.predict.predict_one", bug)
    out = main("predict", digit_png)
    assert out.returncode == 1 and out.stderr.startswith("error: unexpected KeyError")
    assert f"details in {isolated_home / 'logs' / 'digit-studio.log'}" in out.stderr and "Traceback" not in out.stderr


def test_missing_or_incomplete_data_dir_is_an_error_not_a_fallback(tmp_path):
    out = main("evaluate", "--data-dir", tmp_path / "nowhere")
    assert out.returncode == 1 and "does not exist" in out.stderr
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "t10k-images-idx3-ubyte.gz").write_bytes(b"")
    out = main("evaluate", "--data-dir", tmp_path / "half", "--dataset", "mnist")
    assert out.returncode == 1 and "not complete" in out.stderr and "t10k-labels-idx1-ubyte" in out.stderr
    assert "train-images" not in out.stderr  # evaluating reads the test files alone


def test_save_to_an_impossible_path_fails_before_training(tiny_mnist_dir, tmp_path):
    (tmp_path / "file").write_text("x")
    start = time.perf_counter()
    out = main("train", "--data-dir", tiny_mnist_dir, "--dataset", "mnist", "--epochs", "50", "--save", tmp_path / "file" / "m.pt")
    assert out.returncode == 1 and "could not save" in out.stderr and "epoch 1" not in out.stderr
    assert time.perf_counter() - start < 10


def test_an_unwritable_out_folder_still_keeps_the_model(tiny_mnist_dir, tmp_path, isolated_home):
    (tmp_path / "file").write_text("x")
    out = main("train", "--data-dir", tiny_mnist_dir, "--dataset", "mnist", "--model", "seed000", "--epochs", "1",
               "--out", tmp_path / "file" / "run")
    assert out.returncode == 0, out.stderr
    assert "note: " in out.stderr and "saving this run in" in out.stderr
    saved = Path(out.stdout.split("model saved to: ")[1].split()[0])
    assert saved.is_relative_to(isolated_home / "runs") and load_checkpoint(saved)


def test_version_help_and_program_name():
    out = main("--version")
    assert out.returncode == 0 and out.stdout.startswith("Digit Studio ")
    out = main("--help")
    assert "--self-test" in out.stdout and "--verbose" in out.stdout and out.stdout.startswith("usage: main.py")


def test_evaluating_on_another_datasets_classes_says_so():
    from engine.datasets import Dataset
    from engine.evaluate import mismatch_note

    fashion = Dataset("fashion-mnist", ("T-shirt/top",) * 10, None, None, None, None)
    digits = Dataset("mnist", tuple(str(d) for d in range(10)), None, None, None, None)
    metadata = {"dataset": "mnist+pen", "class_names": [str(d) for d in range(10)]}
    assert "trained on mnist+pen" in mismatch_note(metadata, fashion)
    assert mismatch_note(metadata, digits) is None


# --- real processes ------------------------------------------------------------------------------

def test_ctrl_c_during_training_saves_the_model_and_exits_130(tiny_mnist_dir, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    import subprocess

    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", "--data-dir", str(tiny_mnist_dir),
                                "--dataset", "mnist", "--epochs", "50", "--batch-size", "16", "--out", str(tmp_path / "run")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                               # A test runner started in the background ignores SIGINT, and children
                               # inherit that; a user's terminal does not.
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / "run" / "last.pt").exists():  # well into the run
        time.sleep(0.2)
    time.sleep(0.5)  # mid-epoch
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "stopping after this batch" in stderr
    saved = Path(stdout.split("model saved to: ")[1].split()[0])
    assert load_checkpoint(saved).metadata["metrics"]["stopped"] is True


class _RunAwaitingStop:
    """A run that ends only when stopped, as one still drawing its data or mid-epoch does."""

    def __init__(self, started: bool):
        self.started = started
        self._stop = threading.Event()

    def run(self):
        self._stop.wait(30)
        return Finished(None, None, True, 0, 0.0)

    def stop(self):
        self._stop.set()


@pytest.mark.parametrize("started", [False, True])
def test_ctrl_c_promises_a_saved_model_only_once_training_has_begun(started, capsys):
    from cli.train import run_interruptibly

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background runner ignores it
    try:
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        final = run_interruptibly(_RunAwaitingStop(started))
    finally:
        signal.signal(signal.SIGINT, previous)
    stderr = capsys.readouterr().err
    assert final.stopped
    assert ("saving the model" in stderr) == started
    assert ("nothing will be saved" in stderr) == (not started)


def test_no_display_says_so_and_names_the_commands():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = main_process(env=env)
    assert out.returncode == 2 and "needs a display" in out.stderr and "predict" in out.stderr
    assert "xcb" not in out.stderr
