"""Comparisons: several runs that differ in one or two options, trained one after another, each kept
in its own run folder (engine/runs.py), with validation accuracy several times per epoch so their
curves can be laid over each other.

The presets reproduce the seed tutorials' lessons (seed 002: optimisers, initialisations, batch
norm, over-fitting on 300 images; seed 000: k-fold cross-validation) on our data and models, and
this app's own: real writers' pen digits in the training, and what makes its training fast. Every
run of a digit model is also read on the pen digits of six writers no training set holds, since
that is what a user's drawing is like.
"""

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.config import TrainConfig
from engine.datasets import MIXED, PEN, are_digits, grouped_kfold, kfold_indices, load_dataset
from engine.evaluate import evaluate
from engine.events import EpochEnd, Evaluation, Failed, Finished
from engine.models import build_model
from engine.train import Trainer, default_run_dir

EVALS_PER_EPOCH = 4  # for epochs of at least MIN_STEPS_BETWEEN_EVALS × 4 batches; once per epoch below that
MIN_STEPS_BETWEEN_EVALS = 25
TARGET = 0.99  # "time to 99 %": validation accuracy
# An augmented batch takes this many times as long to train: digitnet on 2 CPU cores, one epoch of 20,000
# MNIST images each way, in both orders (`compare --vary augment=false,true --dataset mnist --epochs 1
# --train-subset 20000`, 2026-12-07): 3,546 and 3,844 images/s plain, 3,445 and 3,225 augmented. An earlier
# 2.4 came from runs on a machine busy with other work, and made the speed preset's estimate 6 min for 2.5.
AUGMENT_COST = 1.1
# Seconds each run takes besides its training: reading its data and scoring it on the test set and the pen
# writers (the quick optimiser comparison, 2026-12-07: 31.1 s in all for 16.6 s of training over 4 runs).
RUN_OVERHEAD = 3.5
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    title: str
    lesson: str  # what the seed shows, and what to look for
    base: dict  # options shared by every run
    variations: list[dict]  # what each run changes
    quick: dict = field(default_factory=dict)  # options of the quick mode (a subset of MNIST)
    folds: int = 0  # > 0: k-fold cross-validation of ``base`` instead of variations


# Seed 002 trains with plain SGD at 0.01, Momentum 0.01, AdaGrad 0.01 and Adam 0.001, constant rates.
_SEED002 = dict(dataset="mnist", schedule="constant", augment=False, ema=False, low_resolution=0.0)
PERCEPTRON = "dense 128"  # seed 002's point of departure: an MLP reads MNIST well
TWO_CONVS = "conv 8 5x5 pad 2, maxpool 2, conv 16 5x5 pad 2, maxpool 2, dense 64"
_QUICK = dict(train_subset=8000, epochs=2, val_fraction=0.05)  # a preset's quick version: 8,000 training images
PRESETS: dict[str, Preset] = {
    "optimizers": Preset(
        "Optimisers (seed 002)",
        "SGD, Momentum, AdaGrad and Adam at seed 002's learning rates: Adam and Momentum pull ahead of plain "
        "SGD within the first epoch.",
        dict(_SEED002, model="digitnet", epochs=3),
        [dict(optimizer="sgd", lr=0.01), dict(optimizer="momentum", lr=0.01),
         dict(optimizer="adagrad", lr=0.01), dict(optimizer="adam", lr=0.001)],
        quick=_QUICK),
    "inits": Preset(
        "Initialisations (seed 002)",
        "A deep ReLU network without batch norm, started from weights of std 0.01, Xavier or He: std 0.01 "
        "makes the activations of deep layers collapse and learning stall; Xavier (made for tanh) lets their "
        "variance halve at each ReLU layer and learns slowly; He, made for ReLU, learns at once.",
        dict(_SEED002, model="digitnet", batch_norm="off", optimizer="sgd", lr=0.01, epochs=3),
        [dict(init="normal0.01"), dict(init="xavier"), dict(init="he")],
        quick=_QUICK),
    "activations": Preset(
        "Activations: ReLU, tanh and sigmoid (seeds 002, 004)",
        "The default network without batch norm, every layer's activation switched, each started as seed 002 "
        "advises (He for ReLU, Xavier for tanh and sigmoid), plain SGD. ReLU learns at once and tanh more slowly; "
        "sigmoid, LeNet-5's, does not start learning in three epochs: its slope is at most 1/4, so the gradient "
        "shrinks at each of the seven layers it passes back through, and reaches the first conv layer some 10,000 "
        "times weaker than the last layer's. The Train tab's Layer statistics show each layer's gradients as it "
        "trains.",
        dict(_SEED002, model="digitnet", batch_norm="off", optimizer="sgd", lr=0.01, epochs=3),
        [dict(activation="relu", init="he"), dict(activation="tanh", init="xavier"),
         dict(activation="sigmoid", init="xavier")],
        quick=_QUICK),
    "batchnorm": Preset(
        "Batch normalisation (seed 002)",
        "The same network with and without batch norm, plain SGD: with it, accuracy rises much sooner.",
        dict(_SEED002, model="digitnet", optimizer="sgd", lr=0.01, epochs=3),
        [dict(batch_norm="off"), dict(batch_norm="on")],
        quick=_QUICK),
    "overfitting": Preset(
        "Over-fitting on 300 images (seed 002)",
        "Trained on 300 images only, the network learns them by heart: training accuracy reaches 100 % while "
        "test accuracy stays far below. Dropout and weight decay narrow that gap (weight decay, as in seed 002, "
        "mostly by holding the training accuracy back).",
        dict(_SEED002, model="seed001", optimizer="momentum", lr=0.01, train_subset=300, batch_size=50, epochs=60,
             val_fraction=0.02),
        [dict(dropout=0.0, weight_decay=0.0), dict(dropout=0.5, weight_decay=0.0),
         dict(dropout=0.0, weight_decay=0.05), dict(dropout=0.5, weight_decay=0.05)]),  # 300 images: quick as it is
    "convolutions": Preset(
        "A perceptron against convolutions (seed 002)",
        "Every pixel wired to 128 units against two small conv layers with half its weights, written as text "
        "(Train tab, Layers): the convs read MNIST better and writers no training saw far better. A kernel that "
        "slides finds a stroke wherever it is; a dense unit must learn it at every place.",
        dict(_SEED002, optimizer="adam", lr=0.001, epochs=3),
        [dict(layers=PERCEPTRON), dict(layers=TWO_CONVS)],  # layers make a custom network
        quick=dict(_QUICK, train_subset=20_000, epochs=3)),  # 8,000 images for 2 epochs teach neither enough to compare
    "pen": Preset(
        "Real writers' pen digits (this app's own)",
        "The same network trained on MNIST alone and on MNIST with 24 writers' pen digits: MNIST's test set "
        "barely moves, while six writers no training saw (the pen writers column) are read two points better "
        "or more: MNIST has few of their flagged 1s and crossed 7s.",
        dict(model="digitnet", epochs=3, pen_warmup_epochs=0, scan_epochs=0.0),
        [dict(dataset="mnist"), dict(dataset="mnist+pen")],
        quick=_QUICK),
    "speed": Preset(
        "What makes training fast (this app's own)",
        "The Train button's recipe on MNIST with its two speed-ups taken away: a constant learning rate without "
        "the weight average, one-cycle (a short warm-up to the peak rate, then a slow decay: the Train tab draws "
        "it beside the loss) without it, and both. Big steps learn fast but leave the weights noisy: at a constant "
        "rate the curve jumps about under 99 %; one-cycle settles it as the rate decays, and the weight average "
        "evens the noise out from the start, so it passes 99 % an epoch sooner.",
        dict(model="digitnet", dataset="mnist", epochs=3),
        # No quick form: on a subset, a few hundred steps, the weight average lags the weights it follows.
        [dict(schedule="constant", ema=False), dict(schedule="onecycle", ema=False), dict(schedule="onecycle", ema=True)]),
    "kfold": Preset(
        "5-fold cross-validation (seed 000)",
        "Seed 000's protocol: five runs, each validated on a different fifth of the training set; the spread "
        "of their curves is how much one validation split can be trusted.",
        dict(_SEED002, model="seed000", optimizer="momentum", lr=0.01, epochs=3),
        [], quick=dict(train_subset=8000, epochs=2), folds=5),
}


def parse_vary(options: list[str]) -> list[dict]:
    """``["optimizer=sgd,adam", "init=he,xavier"]`` → every combination, values typed as the config's. Networks'
    layers hold commas themselves, so they are always separated by ``|`` (``layers=conv 8 3x3, dense 32 | conv
    8 5x5``; one network is one value); other values by ``|`` too when one is written."""
    axes = []
    for option in options:
        name, sep, values = option.partition("=")
        if not sep or not values:
            raise ValueError(f"--vary {option!r}: write NAME=VALUE,VALUE…")
        name = name.strip()
        axes.append([(name, TrainConfig.parse_value(name, v.strip()))
                     for v in values.split("|" if "|" in values or name == "layers" else ",")])
    return [dict(combination) for combination in itertools.product(*axes)]


def describe(variation: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in variation.items()) or "base"


@dataclass(frozen=True)
class RunPlan:
    label: str
    config: TrainConfig
    fold: tuple[int, int] | None = None  # (k, folds): validate on the k-th of that many folds


def plan(base: TrainConfig, variations: list[dict], folds: int = 0) -> list[RunPlan]:
    if folds:
        return [RunPlan(f"fold {k}/{folds}", base, (k, folds)) for k in range(1, folds + 1)]
    return [RunPlan(describe(v), base.with_options(v).validate()) for v in variations]


def varied_options(plans: list[RunPlan], index: int) -> dict:
    """The options that differ between a comparison's runs, as its ``index``-th run has them (what the app
    takes to train with that run's choice)."""
    configs = [p.config.to_dict() for p in plans]
    return {name: value for name, value in configs[index].items() if len({c[name] for c in configs}) > 1}


def fold_split(dataset, config: TrainConfig, fold: tuple[int, int]) -> tuple:
    """The (train, validation) indices of a k-fold run: whole writers per fold when there are writers."""
    k, folds = fold
    groups = dataset.train_groups
    splits = (grouped_kfold(groups, folds, config.seed) if groups is not None
              else kfold_indices(len(dataset.train_labels), folds, config.seed))
    return splits[k - 1]


def preset_base(name: str, quick: bool = False) -> TrainConfig:
    """The configuration a preset's runs share (its quick version: fewer images or epochs)."""
    preset = PRESETS[name]
    return replace(TrainConfig(), **{**preset.base, **(preset.quick if quick else {})}).validate()


@dataclass
class RunResult:
    run: str
    config: TrainConfig
    folder: Path
    history: list[dict] = field(default_factory=list)  # {"step", "epoch", "loss", "val_accuracy"}
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    pen_accuracy: float | None = None  # on the six held-out pen writers (digit models)
    seconds: float | None = None
    seconds_to_target: float | None = None
    images_per_sec: float | None = None
    parameters: int = 0
    failed: str | None = None

    def to_json(self) -> dict:
        return {"run": self.run, "folder": str(self.folder), "config": self.config.to_dict(), "history": self.history,
                "train_accuracy": self.train_accuracy, "val_accuracy": self.val_accuracy,
                "test_accuracy": self.test_accuracy, "pen_accuracy": self.pen_accuracy, "seconds": self.seconds,
                "seconds_to_99": self.seconds_to_target, "images_per_sec": self.images_per_sec,
                "parameters": self.parameters, **({"failed": self.failed} if self.failed else {})}

    def observe(self, event) -> None:
        """Fold one training event into the result."""
        if isinstance(event, Evaluation):
            self.history.append({"step": event.step, "epoch": round(event.epoch, 4), "loss": event.train_loss,
                                 "val_accuracy": event.val_accuracy})
            self.val_accuracy = event.val_accuracy
            if self.seconds_to_target is None and event.val_accuracy >= TARGET:
                self.seconds_to_target = event.elapsed
        elif isinstance(event, EpochEnd):
            self.images_per_sec = event.images_per_sec
        elif isinstance(event, Finished):
            self.test_accuracy, self.seconds = event.test_accuracy, event.elapsed
        elif isinstance(event, Failed):
            self.failed = event.message


class Comparison:
    """Runs the plans one after another. ``on_event(index, event)`` hears every run's events;
    ``stop()`` ends the current run (kept, as a stopped run) and skips the rest; ``pause()`` and
    ``resume()`` act on the current run. Safe to control from another thread."""

    def __init__(self, plans: list[RunPlan], on_event: Callable[[int, object], None] | None = None,
                 data_dir=None, evals_per_epoch: int = EVALS_PER_EPOCH, dataset=None):
        self.plans = plans
        self.on_event = on_event or (lambda _index, _event: None)
        self.data_dir, self.evals_per_epoch, self.dataset = data_dir, evals_per_epoch, dataset
        self.results: list[RunResult] = []
        self._stop = threading.Event()
        self._paused = False
        self._trainer: Trainer | None = None
        self._lock = threading.Lock()
        self._pen = None  # the held-out pen writers, loaded for the first digit run (False: they cannot be)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._trainer:
                self._trainer.stop()

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self._trainer:
                self._trainer.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self._trainer:
                self._trainer.resume()

    def run(self) -> list[RunResult]:
        datasets = {}
        for index, item in enumerate(self.plans):
            if self._stop.is_set():
                break
            config = item.config
            if self.dataset is not None and self.dataset.name == config.dataset:
                datasets[config.dataset] = self.dataset
            if config.dataset not in datasets:
                datasets[config.dataset] = load_dataset(config.dataset, self.data_dir)
            folder = default_run_dir(config)
            result = RunResult(item.label, config, folder,
                               parameters=sum(p.numel() for p in build_model(config.model, **config.model_kwargs).parameters()))
            self.results.append(result)

            def hear(event, index=index, result=result):
                result.observe(event)
                if isinstance(event, Finished) and event.checkpoint:
                    result.train_accuracy = trainer.train_accuracy()
                    result.pen_accuracy = self._pen_accuracy(trainer.model, datasets[config.dataset])
                self.on_event(index, event)

            split = fold_split(datasets[config.dataset], config, item.fold) if item.fold else None
            trainer = Trainer(config, hear, dataset=datasets[config.dataset], run_dir=folder, split=split,
                              evals_per_epoch=self._evals_per_epoch(config, datasets[config.dataset]), label=item.label,
                              data_dir=self.data_dir)
            with self._lock:
                self._trainer = trainer
                if self._paused:
                    trainer.pause()
            trainer.run()
            with self._lock:
                self._trainer = None
        return self.results

    def _pen_accuracy(self, model, trained_on) -> float | None:
        """The share of the held-out pen writers' digits (1,499, drawn once and shipped) the model reads;
        None for a model of other classes, or if the pen digits cannot be read (the run stays finished)."""
        if not are_digits(trained_on.class_names):
            return None
        try:
            if self._pen is None:
                self._pen = load_dataset(PEN, self.data_dir, test_only=True)
        except (ValueError, OSError) as exc:  # a damaged pen file in the data folder the user chose
            log.warning("the runs are not read on the pen writers: %s", exc)
            self._pen = False
        if self._pen is False:
            return None
        return evaluate(model, self._pen.test_images, self._pen.test_labels).accuracy

    def _evals_per_epoch(self, config: TrainConfig, dataset) -> int:
        """Several evaluations per epoch, but never more often than every MIN_STEPS_BETWEEN_EVALS batches:
        on a 300-image subset, scoring the validation split would take longer than the training."""
        train = config.train_subset or int(len(dataset.train_labels) * (1 - config.val_fraction))
        batches = max(1, train // config.batch_size)
        return max(1, min(self.evals_per_epoch, batches // MIN_STEPS_BETWEEN_EVALS))


def plain_images_per_sec(measured: float, config: TrainConfig) -> float:
    """A run's measured training speed as the speed without augmentation that ``estimate_seconds`` takes."""
    return measured * (AUGMENT_COST if config.augment else 1.0)


def estimate_seconds(plans: list[RunPlan], images_per_sec: float, dataset_size: int) -> float:
    """Rough duration of the plans at a measured training speed without augmentation (validation adds
    about a tenth, and each run RUN_OVERHEAD): an augmented image costs AUGMENT_COST times as much, and a
    mnist+pen epoch adds pen digits to the main set's to make up their share."""
    total = 0.0
    for item in plans:
        c = item.config
        train = c.train_subset or int(dataset_size * (1 - c.val_fraction))
        if c.dataset == MIXED and not c.train_subset:
            train /= 1 - c.pen_share
        total += c.epochs * train / images_per_sec * (AUGMENT_COST if c.augment else 1.0)
    return total * 1.1 + RUN_OVERHEAD * len(plans)
