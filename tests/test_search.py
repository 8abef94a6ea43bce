"""Hyper-parameter search with Optuna: a tiny study, pruning, and two processes on one SQLite study."""

import json
import os
import subprocess
import sys

import optuna

from conftest import ROOT
from engine.config import TrainConfig
from engine.search import Search, open_storage

BASE = TrainConfig(model="seed003", dataset="mnist", epochs=1, batch_size=32, augment=False, ema=False,
                   val_fraction=0.1, device="cpu", train_subset=1500)


def test_a_tiny_study_is_kept_and_continued(small_mnist, tmp_path, isolated_home):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    seen = []
    first = Search(BASE, 3, "random", storage, on_trial=seen.append, dataset=small_mnist, seed=1)
    first.run()
    assert [r.trial for r in seen] == [0, 1, 2]
    for result in seen:
        assert 1e-4 <= result.params["lr"] <= 1e-1 and 1e-6 <= result.params["weight_decay"] <= 1e-1
        assert result.state in ("complete", "pruned") and os.path.isdir(result.folder)
        assert result.epochs == BASE.epochs or result.state == "pruned"  # a finished trial's score is from its end
    best = first.best()
    assert best["val_accuracy"] == max(r.val_accuracy for r in seen if r.state == "complete")
    # The study lives in the database: a second search continues it.
    again = Search(BASE, 1, "tpe", storage, dataset=small_mnist)
    again.run()
    assert again.best()["trials_in_study"] == 4


def test_a_pruned_trial_is_listed_as_pruned_with_what_it_tried(small_mnist, tmp_path, monkeypatch):
    from engine.runs import read_summary

    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda _trial: True)  # at its first report
    (result,) = Search(BASE, 1, "random", f"sqlite:///{tmp_path / 'study.db'}", dataset=small_mnist).run()
    record = read_summary(result.folder).record
    assert result.state == "pruned" and record["status"] == "pruned"
    # Its score is from where it stopped, half an epoch in, and the table and the command line say so.
    assert result.epochs == 0.5 and result.outcome == "pruned at epoch 0.5" and result.to_json()["epochs"] == 0.5
    assert record["label"] == f"trial 0: lr={result.params['lr']:.2g}, weight_decay={result.params['weight_decay']:.2g}"


def test_trials_are_judged_from_the_end_of_their_first_epoch(small_mnist, tmp_path):
    study = Search(BASE, 0, "random", f"sqlite:///{tmp_path / 'study.db'}", dataset=small_mnist, evals_per_epoch=2).study
    for _ in range(3):
        trial = study.ask()
        trial.report(0.9, 1)
        trial.report(0.97, 2)
        study.tell(trial, 0.97)
    slow_starter = study.ask()
    slow_starter.report(0.3, 1)  # half an epoch in: a learning rate still warming up
    assert not slow_starter.should_prune()
    slow_starter.report(0.5, 2)  # a whole epoch in and far behind
    assert slow_starter.should_prune()


def test_only_a_trial_behind_nearly_all_finished_ones_is_pruned(small_mnist, tmp_path):
    """After one epoch of two, a trial a point behind the median may still end best (bench/README.md)."""
    study = Search(BASE, 0, "random", f"sqlite:///{tmp_path / 'study.db'}", dataset=small_mnist, evals_per_epoch=2).study
    for accuracy in (0.960, 0.970, 0.975, 0.980):
        trial = study.ask()
        trial.report(accuracy, 2)
        study.tell(trial, accuracy + 0.01)
    under_the_median, far_behind = study.ask(), study.ask()
    under_the_median.report(0.965, 2)
    far_behind.report(0.950, 2)
    assert not under_the_median.should_prune() and far_behind.should_prune()


def test_two_processes_share_one_sqlite_study(tiny_mnist_dir, tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    command = [sys.executable, str(ROOT / "main.py"), "search", "--trials", "2", "--storage", storage, "--study", "shared",
               "--model", "seed003", "--dataset", "mnist", "--epochs", "1", "--no-augment", "--sampler", "random",
               "--data-dir", str(tiny_mnist_dir), "--json"]
    env = dict(os.environ, DIGIT_STUDIO_HOME=str(tmp_path / "home"))
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
               for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == 3 and "best" in lines[-1]
    study = optuna.load_study(study_name="shared", storage=open_storage(storage))
    assert len(study.trials) == 4
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]  # each trial run once, by one of them
    mine = [json.loads(line)["trial"] for out, _ in outputs for line in out.splitlines()[:-1]]
    assert sorted(mine) == [0, 1, 2, 3]


def test_the_command_line_loads_optuna_only_to_search():
    import cli.search
    import engine.search

    check = "import sys, cli; cli.build_parser(); print('optuna' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT)
    assert loaded.stdout.strip() == "False", loaded.stderr  # `main.py --help` does not wait for Optuna
    assert f"sqlite:///{cli.search.user_data_dir() / 'search.db'}" == engine.search.default_storage()


def test_a_study_database_that_cannot_be_opened_says_so(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="cannot open the study database nonsense://x"):
        open_storage("nonsense://x")
    with pytest.raises(ValueError, match="cannot open the study database"):
        open_storage(f"sqlite:///{tmp_path / 'missing-folder' / 'study.db'}")
