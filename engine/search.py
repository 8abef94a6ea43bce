"""Hyper-parameter search with Optuna: learning rate and weight decay, scored on the validation split
(never the test set), as seed 002 searches them, but with Optuna's samplers (random or TPE) and
pruning of hopeless trials (those behind nine in ten of the finished trials in the validation accuracy reported
during training).

The study lives in a database: SQLite in the user data folder by default; ``storage`` can name any
database Optuna supports (``postgresql://…``, ``mysql://…``), which is how several machines work on
one study: each runs ``search --storage URL --study NAME`` against the same database.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import optuna
import sqlalchemy

from engine import paths
from engine.config import SEARCH_SAMPLERS, SEARCH_SPACE, TrainConfig
from engine.datasets import load_dataset
from engine.events import Evaluation, Failed
from engine.runs import set_status
from engine.train import Trainer, default_run_dir

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say what happened

STUDY = "digit-studio"


def default_storage() -> str:
    return f"sqlite:///{paths.user_data_dir() / 'search.db'}"  # cli/search.py names the same file


def open_storage(url: str | None) -> optuna.storages.BaseStorage:
    """The study database; SQLite waits up to a minute for another process's write instead of failing.
    Two processes that open a new database at once race to create its tables and version row: the
    loser tries again (and then finds them made)."""
    url = url or default_storage()
    options = {}
    if url.startswith("sqlite:///"):
        paths.user_data_dir().mkdir(parents=True, exist_ok=True)
        options = {"engine_kwargs": {"connect_args": {"timeout": 60}}}
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, **options)
        except sqlalchemy.exc.SQLAlchemyError as exc:
            race = any(text in str(exc) for text in ("already exists", "UNIQUE constraint"))
            if not race or attempt == 4:  # a bad URL, a missing driver, an unreachable or unwritable database
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ValueError(f"cannot open the study database {url}: {reason}") from None
            time.sleep(0.2 * (attempt + 1))


@dataclass(frozen=True)
class TrialResult:
    trial: int
    state: str  # "complete", "pruned", "failed"
    params: dict
    val_accuracy: float | None
    seconds: float
    folder: str
    epochs: float | None = None  # how far it trained before its last score (a pruned trial: where it stopped)

    @property
    def outcome(self) -> str:
        """The state in words, with where a pruned trial was stopped: its score is from there, not from the end."""
        if self.state == "pruned" and self.epochs is not None:
            return f"pruned at epoch {self.epochs:g}"
        return self.state

    def to_json(self) -> dict:
        return {"trial": self.trial, "state": self.state, "params": self.params, "val_accuracy": self.val_accuracy,
                "epochs": self.epochs, "seconds": round(self.seconds, 2), "folder": self.folder}


def make_pruner(evals_per_epoch: int) -> "optuna.pruners.BasePruner":
    """Judged from the end of the first epoch: half an epoch in, accuracy says how fast a learning rate warms
    up, not where it ends (lr 4e-3: 31 % at half an epoch, 98.3 % after two). Pruned only when behind nine in
    ten of the finished trials: the median rule also stopped trials that would have ended best
    (`python -m bench.pruning`)."""
    return optuna.pruners.PercentilePruner(90.0, n_startup_trials=3, n_warmup_steps=evals_per_epoch)


class Search:
    """``trials`` more trials of the study on ``base`` (lr and weight_decay are searched). ``on_trial``
    hears each finished trial; ``on_event(trial, event)`` every training event; ``stop()`` ends the
    trial under way (it counts as failed) and starts no more."""

    def __init__(self, base: TrainConfig, trials: int, sampler: str = "tpe", storage: str | None = None,
                 study: str = STUDY, on_trial: Callable[[TrialResult], None] | None = None,
                 on_event: Callable[[int, object], None] | None = None, data_dir=None, dataset=None,
                 evals_per_epoch: int = 2, seed: int | None = None):
        if sampler not in SEARCH_SAMPLERS:
            raise ValueError(f"sampler: {sampler!r} is not one of {', '.join(SEARCH_SAMPLERS)}")
        self.base, self.trials = base, trials
        samplers = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
        self.study = optuna.create_study(
            study_name=study, storage=open_storage(storage), load_if_exists=True, direction="maximize",
            sampler=samplers[sampler](seed=seed),
            pruner=make_pruner(evals_per_epoch))
        self.on_trial = on_trial or (lambda _result: None)
        self.on_event = on_event or (lambda _trial, _event: None)
        self.dataset = dataset or load_dataset(base.dataset, data_dir)
        self.data_dir = data_dir  # where a mnist+pen trial's last stage finds the pen digits
        self.evals_per_epoch = evals_per_epoch
        self.results: list[TrialResult] = []
        self._stop = threading.Event()
        self._trainer: Trainer | None = None

    def stop(self) -> None:
        self._stop.set()
        if self._trainer:
            self._trainer.stop()

    def run(self) -> list[TrialResult]:
        self.study.optimize(self._objective, n_trials=self.trials, catch=(RuntimeError,),
                            callbacks=[self._finished, lambda study, _trial: self._stop.is_set() and study.stop()])
        return self.results

    def best(self) -> dict | None:
        try:
            best = self.study.best_trial
        except ValueError:  # no completed trial yet
            return None
        return {"trial": best.number, "params": best.params, "val_accuracy": best.value,
                "trials_in_study": len(self.study.trials)}

    def _objective(self, trial: optuna.Trial) -> float:
        params = {name: trial.suggest_float(name, *bounds, log=True) for name, bounds in SEARCH_SPACE.items()}
        config = replace(self.base, **params).validate()
        folder = default_run_dir(config)
        trial.set_user_attr("folder", str(folder))
        trial.set_user_attr("started", time.time())
        trial.set_user_attr("evals_per_epoch", self.evals_per_epoch)
        reported, pruned = [], threading.Event()

        def hear(event) -> None:
            if isinstance(event, Evaluation):
                reported.append(event.val_accuracy)
                trial.report(event.val_accuracy, len(reported))
                if trial.should_prune():
                    pruned.set()
                    trainer.stop()
            self.on_event(trial.number, event)

        tried = ", ".join(f"{name}={value:.2g}" for name, value in params.items())
        trainer = Trainer(config, hear, dataset=self.dataset, run_dir=folder, evaluate_test=False,
                          evals_per_epoch=self.evals_per_epoch, label=f"trial {trial.number}: {tried}", data_dir=self.data_dir)
        self._trainer = trainer
        outcome = trainer.run()
        self._trainer = None
        if pruned.is_set():
            set_status(folder, "pruned")  # not "stopped", as a user's Stop would leave it
            raise optuna.TrialPruned()
        if isinstance(outcome, Failed) or self._stop.is_set() or not reported:
            raise RuntimeError(outcome.message if isinstance(outcome, Failed) else "stopped before it was scored")
        return reported[-1]

    def earlier(self) -> list[TrialResult]:
        """The study's trials that finished before this search, so a view can show the whole study."""
        return [_result(t) for t in self.study.get_trials(deepcopy=False, states=_FINISHED)]

    def _finished(self, _study, trial: optuna.trial.FrozenTrial) -> None:
        result = _result(trial)
        self.results.append(result)
        self.on_trial(result)


_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
_STATE_NAMES = {optuna.trial.TrialState.COMPLETE: "complete", optuna.trial.TrialState.PRUNED: "pruned"}


def _result(trial: optuna.trial.FrozenTrial) -> TrialResult:
    started = trial.user_attrs.get("started", time.time())
    ended = trial.datetime_complete.timestamp() if trial.datetime_complete else time.time()
    score = trial.value if trial.state == optuna.trial.TrialState.COMPLETE else \
        (list(trial.intermediate_values.values())[-1] if trial.intermediate_values else None)
    evals_per_epoch = trial.user_attrs.get("evals_per_epoch")  # not known for trials of older versions
    epochs = max(trial.intermediate_values) / evals_per_epoch if trial.intermediate_values and evals_per_epoch else None
    return TrialResult(trial.number, _STATE_NAMES.get(trial.state, "failed"), trial.params, score, ended - started,
                       trial.user_attrs.get("folder", ""), epochs)
