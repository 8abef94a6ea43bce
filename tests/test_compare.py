"""Comparisons and the run store: runs that differ in one option, kept and read back."""

import json
import os
import socket
import subprocess
import sys

import pytest

from engine.compare import PRESETS, Comparison, parse_vary, plan, preset_base, varied_options
from engine.config import TrainConfig
from engine.events import Finished
from engine.runs import changed_options, delete_run, history, list_runs, read_metrics, read_summary

BASE = TrainConfig(model="seed003", dataset="mnist", epochs=1, batch_size=32, augment=False, ema=False,
                   schedule="constant", val_fraction=0.1, device="cpu")


def test_vary_gives_every_combination_typed_as_the_config():
    variations = parse_vary(["optimizer=sgd,adam", "lr=0.01,0.1"])
    assert variations == [{"optimizer": "sgd", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.1},
                          {"optimizer": "adam", "lr": 0.01}, {"optimizer": "adam", "lr": 0.1}]
    with pytest.raises(ValueError, match="unknown option 'learning_rate'"):
        parse_vary(["learning_rate=0.1"])
    with pytest.raises(ValueError, match="lr: 'fast' is not a float"):
        parse_vary(["lr=fast"])
    with pytest.raises(ValueError, match="not one of"):
        plan(BASE, parse_vary(["optimizer=sgd,nesterov"]))


def test_every_preset_plans_valid_runs():
    for name, preset in PRESETS.items():
        for quick in (False, True):
            runs = plan(preset_base(name, quick), preset.variations, preset.folds)
            assert len(runs) == (preset.folds or len(preset.variations)) >= 2
            assert len({r.label for r in runs}) == len(runs)
    assert preset_base("overfitting").train_subset == 300


def test_the_duration_estimate_counts_augmentation_and_the_pen_digits_an_epoch_adds():
    from engine.compare import AUGMENT_COST, RUN_OVERHEAD, RunPlan, estimate_seconds, plain_images_per_sec

    plain = TrainConfig(dataset="mnist", augment=False, epochs=2, val_fraction=0.1)
    seconds = estimate_seconds([RunPlan("a", plain)], 1000.0, 60_000) - RUN_OVERHEAD  # the training alone
    assert seconds == pytest.approx(2 * 54_000 / 1000 * 1.1)
    augmented = estimate_seconds([RunPlan("b", TrainConfig(dataset="mnist", epochs=2, val_fraction=0.1))], 1000.0, 60_000)
    assert augmented == pytest.approx(seconds * AUGMENT_COST + RUN_OVERHEAD)
    mixed = TrainConfig(dataset="mnist+pen", augment=False, epochs=2, val_fraction=0.1, pen_share=0.4)
    assert estimate_seconds([RunPlan("c", mixed)], 1000.0, 60_000) == pytest.approx(seconds / 0.6 + RUN_OVERHEAD)  # 40 % pen
    assert estimate_seconds([RunPlan("a", plain)] * 3, 1000.0, 60_000) == pytest.approx(3 * (seconds + RUN_OVERHEAD))
    assert plain_images_per_sec(514.0, TrainConfig()) == pytest.approx(514.0 * AUGMENT_COST)  # a measured augmented run
    assert plain_images_per_sec(1214.0, plain) == 1214.0


def test_a_comparison_trains_each_run_keeps_it_and_reports_curves(small_mnist, isolated_home):
    from engine.datasets import PEN, load_dataset
    from engine.evaluate import evaluate
    from engine.predict import Predictor

    pen = load_dataset(PEN, test_only=True)
    heard = []
    comparison = Comparison(plan(BASE, parse_vary(["optimizer=sgd,adam"])), lambda i, e: heard.append((i, e)),
                            dataset=small_mnist, evals_per_epoch=4)
    results = comparison.run()
    assert [r.run for r in results] == ["optimizer=sgd", "optimizer=adam"]
    for result in results:
        assert result.config.optimizer in result.run and result.failed is None
        assert [round(p["epoch"], 2) for p in result.history] == [0.25, 0.5, 0.75, 1.0]  # 112 batches: 4 points
        assert 0 < result.val_accuracy <= 1 and 0 < result.test_accuracy <= 1 and result.seconds > 0
        assert result.train_accuracy is not None and result.parameters > 0
        saved = Predictor.load(result.folder / "model.pt")  # and read on the held-out pen writers, as the model saved
        expected = evaluate(saved.model, pen.test_images, pen.test_labels).accuracy
        assert result.pen_accuracy == pytest.approx(expected, abs=1e-9) and result.to_json()["pen_accuracy"] == result.pen_accuracy
        record = json.loads((result.folder / "run.json").read_text())
        assert record["status"] == "finished" and record["label"] == result.run
        assert record["val_accuracy"] == result.val_accuracy  # the Runs list reads it without the metrics
        assert history(read_metrics(result.folder)) == result.history  # the folder holds the same curve
    assert sum(isinstance(e, Finished) for _, e in heard) == 2 and {i for i, _ in heard} == {0, 1}
    listed = [s.row() for s in list_runs()]
    assert {row["label"] for row in listed} == {"optimizer=sgd", "optimizer=adam"}


def test_runs_stay_finished_when_the_pen_writers_cannot_be_read(small_mnist, isolated_home, tmp_path, monkeypatch):
    import engine.compare as compare
    from engine.idx import DatasetError

    def unreadable(*_args, **_kwargs):
        raise DatasetError(f"{tmp_path}/pendigits-orig.tra.gz, line 3: not a UNIPEN file")

    monkeypatch.setattr(compare, "load_dataset", unreadable)
    results = Comparison(plan(BASE, parse_vary(["lr=0.01,0.02"])), dataset=small_mnist).run()
    assert [r.failed for r in results] == [None, None] and all(r.test_accuracy is not None for r in results)
    assert [r.pen_accuracy for r in results] == [None, None]  # tried once, then left out


def test_stopping_keeps_the_finished_runs_and_skips_the_rest(small_mnist, isolated_home):
    def stop_in_the_second(index, event):
        if index == 1:
            comparison.stop()

    comparison = Comparison(plan(BASE, parse_vary(["lr=0.01,0.02,0.03"])), stop_in_the_second, dataset=small_mnist)
    results = comparison.run()
    assert len(results) == 2 and results[0].test_accuracy is not None
    statuses = sorted(s.record.get("status") for s in list_runs())
    assert statuses == ["finished", "stopped"] or statuses == ["finished"]  # stopped before its first batch: no model


def test_damaged_run_folders_are_listed_as_unreadable(tmp_path):
    good = tmp_path / "20260101-000000-a"
    good.mkdir()
    (good / "run.json").write_text(json.dumps({"config": {"model": "digitnet"}, "status": "finished"}))
    (good / "metrics.jsonl").write_text('{"kind": "evaluation", "step": 5, "epoch": 0.5, "loss": 1.0, '
                                        '"val_accuracy": 0.5}\n{"kind": "evalu')  # killed mid-line
    half = tmp_path / "20260101-000001-b"
    half.mkdir()
    (half / "run.json").write_text('{"config": {"mod')
    old = tmp_path / "20260101-000002-c"
    old.mkdir()
    (old / "notes.txt").write_text("not a run")
    (tmp_path / "20260101-000003-loading").mkdir()  # a run still loading its data has nothing to list yet
    runs = {s.name: s for s in list_runs(tmp_path)}
    assert set(runs) == {good.name, half.name, old.name}
    assert runs[good.name].readable and runs[good.name].row()["val_accuracy"] == 0.5
    assert not runs[half.name].readable and "damaged run.json" in runs[half.name].problem
    assert not runs[old.name].readable and "no run.json" in runs[old.name].problem
    with pytest.raises(ValueError, match="does not look like a run"):
        delete_run(old)
    delete_run(good)
    assert not good.exists()


def test_a_run_whose_process_is_gone_is_listed_as_interrupted(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for name, pid in (("20260101-000000-killed", int(ended.stdout)), ("20260101-000001-going", os.getpid())):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps({"config": {"model": "digitnet"}, "status": "running",
                                                              "process": {"pid": pid, "host": socket.gethostname()}}))
        (tmp_path / name / "last.pt").write_bytes(b"")  # its checkpoint of a finished epoch
    statuses = {s.name: s.row()["status"] for s in list_runs(tmp_path)}
    assert statuses == {"20260101-000000-killed": "interrupted", "20260101-000001-going": "running"}
    # The interrupted run can be carried on (Runs → Continue, `runs` names the command); one still going cannot.
    assert {s.name: s.resumable for s in list_runs(tmp_path)} == {"20260101-000000-killed": True,
                                                                  "20260101-000001-going": False}
    (tmp_path / "20260101-000000-killed" / "last.pt").unlink()
    assert not read_summary(tmp_path / "20260101-000000-killed").resumable


def test_on_windows_a_runs_process_is_asked_of_the_kernel_not_signalled(monkeypatch):
    import ctypes

    from engine import runs

    processes = {10: runs.STILL_ACTIVE, 11: 0, 12: "another user's"}  # running, ended with status 0, not ours
    last_error, closed = [0], []

    class Kernel32:
        def OpenProcess(self, access, inherit, pid):
            assert access == runs.PROCESS_QUERY_LIMITED_INFORMATION
            state = processes.get(pid)
            if state is None or isinstance(state, str):
                last_error[0] = 87 if state is None else runs.ERROR_ACCESS_DENIED
                return 0
            return pid

        def GetExitCodeProcess(self, handle, code):
            code._obj.value = processes[handle]
            return 1

        def CloseHandle(self, handle):
            closed.append(handle)

    monkeypatch.setattr(runs.os, "name", "nt")
    monkeypatch.setattr(runs.os, "kill", lambda *_: pytest.fail("os.kill ends a process on Windows"))
    monkeypatch.setattr(ctypes, "WinDLL", lambda name, use_last_error: Kernel32(), raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: last_error[0], raising=False)
    assert [runs.process_exists(pid) for pid in (10, 11, 12, 13)] == [True, False, True, False]
    assert closed == [10, 11]


def test_a_run_without_a_label_is_named_by_the_options_it_changed():
    config = TrainConfig(model="seed003", dataset="mnist", lr=0.01, epochs=4, augment=False).to_dict()
    assert changed_options(config) == "lr=0.01, epochs=4, augment=False"  # model and dataset have their own columns
    assert changed_options(TrainConfig().to_dict()) == "default options"
    assert changed_options({"lr": 0.003, "an_option_of_another_version": 1}) == "default options"


def test_the_options_a_comparison_varies_are_those_of_the_run_chosen():
    optimizers = plan(preset_base("optimizers", quick=True), PRESETS["optimizers"].variations)
    assert varied_options(optimizers, 3) == {"optimizer": "adam", "lr": 0.001}  # not the quick subset they share
    folds = plan(preset_base("kfold"), [], folds=PRESETS["kfold"].folds)
    assert varied_options(folds, 0) == {}  # the folds of a cross-validation share their options
    speed = plan(preset_base("speed"), PRESETS["speed"].variations)  # the Train button's recipe, its speed-ups taken away
    assert [varied_options(speed, i) for i in range(3)] == [{"schedule": "constant", "ema": False},
                                                           {"schedule": "onecycle", "ema": False}, {"schedule": "onecycle", "ema": True}]
    assert speed[2].config == TrainConfig(dataset="mnist", epochs=3)  # with both, it is the Train button's recipe on MNIST
