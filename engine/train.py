"""The training loop: one ``Trainer`` per run, driven by a ``TrainConfig``, reporting through events.

The whole dataset sits as uint8 tensors on the training device; each batch is gathered by index and
augmented there, so no per-sample Python runs in the loop. ``run()`` blocks; call it from a worker
thread and use ``pause()``, ``resume()`` and ``stop()`` from any other thread: they act within one
batch. Loss values are read back from the device only every few steps, so a GPU is never stalled
waiting for the host.
"""

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine import paths
from engine.augment import AugmentSpec, augment_batch
from engine.checkpoint import (CheckpointError, SaveError, ensure_writable, load_checkpoint, make_metadata,
                               save_checkpoint)
from engine.config import TrainConfig
from engine.datasets import (MIXED, PEN, SMALL_SCAN, Dataset, DatasetError, grouped_split, image_kinds, load_dataset,
                             load_small_scans, split_indices)
from engine.device import DeviceError, configure_cpu, device_name, is_out_of_memory, resolve_device
from engine.calibrate import calibration_record
from engine.evaluate import evaluate, predict_logits, to_model_input
from engine.events import (BatchEnd, BatchShown, Downloading, EpochEnd, Evaluation, Failed, Finished, Finishing,
                           KernelSnapshot, ModelSnapshot, Notice, Started, Watched)
from engine.filters import unit_pictures
from engine.layer_stats import LayerProbe
from engine.models import build_model
from engine.pendigits import first_drawings
from engine.replay import FILE_NAME as REPLAY_FILE, KernelRecorder
from engine.runs import RunLog, discard_if_empty

log = logging.getLogger(__name__)

# Suggested peak learning rates per optimiser (the GUI fills them in when the optimiser changes). Plain SGD's
# is a third of where the range test's loss is lowest for digitnet: 0.05 trained 0.36 point worse (bench.lr_finder).
SUGGESTED_LR = {"sgd": 0.13, "momentum": 0.02, "adagrad": 0.02, "adam": 3e-3, "adamw": 3e-3}
# The peak learning rate of a mnist+pen run's last stage, on small scans, as a share of the run's own
# (`python -m bench.pen_writers finetune`, bench/README.md).
SCAN_STAGE_LR = 1 / 3
WATCHED_PER_CLASS = 4  # validation images of each class whose answers the Train tab shows as they change
BATCH_SHOWN = 40  # images of a batch sent for the Train tab to show (BatchShown)


class _StoppedLoading(Exception):
    """Stop was asked for while the data were downloaded or drawn the first time (minutes)."""


class Diverged(RuntimeError):
    pass


def watched_indices(labels: torch.Tensor, classes: int, preferred: torch.Tensor | None = None,
                    per_class: int = WATCHED_PER_CLASS) -> torch.Tensor:
    """Positions of up to ``per_class`` samples of each class, class by class: the ``preferred`` ones
    (boolean mask) first, each kind drawn at random, always the same ones (a split holds its writers
    one after another: the first few would all be one writer's)."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    if preferred is not None:
        order = order[torch.argsort((~preferred[order]).to(torch.uint8), stable=True)]
    return torch.cat([order[labels[order] == c][:per_class] for c in range(classes)])


def make_optimizer(name: str, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    # Adam(W) use their fused kernels (CPU and CUDA): one kernel for all parameters, 5× faster per
    # step than the default per-tensor loop on the CPU.
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    raise ValueError(f"unknown optimizer {name!r}")


def make_scheduler(name: str, optimizer, lr: float, total_steps: int, warmup_steps: int):
    """One-cycle: a short warm-up (at most a quarter of the run) then cosine annealing to ~0."""
    if name == "constant" or total_steps < 8:  # too short a run for a warm-up and a decay
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _step: 1.0)
    warmup_steps = max(2, warmup_steps)
    has_momentum = "betas" in optimizer.defaults or optimizer.defaults.get("momentum", 0) > 0
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=total_steps, pct_start=min(0.25, warmup_steps / total_steps),
        cycle_momentum=has_momentum,
    )


class WeightAverage:
    """An exponential moving average of a model's weights (and batch-norm statistics).

    Evaluating the average instead of the raw weights removes most of the step-to-step noise of a
    high learning rate, so a run reaches a given accuracy sooner and ends on a better model. The
    decay warms up as (1 + n) / (10 + n) so early averages are not dominated by the random init.
    """

    def __init__(self, model: torch.nn.Module, decay: float = 0.998, updates: int = 0):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = updates
        self._source = model
        self._ours, self._theirs = self._tensors(self.model), self._tensors(model)

    @staticmethod
    def _tensors(model: torch.nn.Module) -> list[torch.Tensor]:
        return list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        if model is not self._source:
            self._source, self._theirs = model, self._tensors(model)
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self._ours, self._theirs, 1 - decay)


def default_run_dir(config: TrainConfig) -> Path:
    """A new folder name in the user's runs folder (runs started within one second get -2, -3…)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = paths.runs_dir() / f"{stamp}-{config.model}-{config.dataset}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def reading_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A CPU copy of ``model`` to read with on another thread: in eval mode, without gradients, and without
    the layer statistics' hooks (without the weight average the model is the net they watch)."""
    reading = copy.deepcopy(model).cpu().eval().requires_grad_(False)
    for module in reading.modules():
        module._forward_hooks.clear()
    for parameter in reading.parameters():
        parameter.grad = None
    return reading


class Trainer:
    """Trains one model. Construct, then call ``run()`` (blocking); it returns the final event.

    ``model`` is the deliverable model (the weight average when ``config.ema``), available for
    evaluation while training and after ``run()``; ``history`` holds one dict per finished epoch.
    """

    def __init__(
        self,
        config: TrainConfig,
        on_event: Callable[[object], None] | None = None,
        *,
        dataset: Dataset | None = None,
        run_dir: Path | None = None,
        resume_from: Path | None = None,
        split: tuple[torch.Tensor, torch.Tensor] | None = None,
        kernel_every: int = 0,
        stats_every: int = 0,
        evals_per_epoch: int = 0,
        evaluate_test: bool = True,
        watch_every: int = 0,
        model_every: int = 0,
        batch_every: int = 0,
        data_dir=None,
        sync_every: int | None = None,
        label: str = "",
    ):
        self.config = config.validate()
        self.on_event = on_event or (lambda _event: None)
        self.label = label  # what this run is within a comparison, e.g. "optimizer=adam"
        self._run_log: RunLog | None = None
        self.dataset = dataset
        self.run_dir = Path(run_dir) if run_dir else default_run_dir(config)
        self.resume_from = resume_from
        self.split = split
        self.kernel_every = kernel_every
        self.stats_every = stats_every  # steps between LayerStats events, more often early on (0: none)
        self.evals_per_epoch = evals_per_epoch  # Evaluation events within each epoch (0: only at its end)
        self._probe: LayerProbe | None = None
        self.evaluate_test = evaluate_test
        self.watch_every = watch_every  # steps between Watched events (0: none)
        # Steps between ModelSnapshot events (0: none); the app sets it while someone looks at the Layers tab.
        self.model_every = model_every
        self.batch_every = batch_every  # steps between BatchShown events (0: none)
        self.data_dir = data_dir
        # How many batches between reading the loss back from the device: every batch on the CPU
        # (free there), every 20 on a GPU so the host never stalls it.
        self.sync_every = sync_every
        self.model = None
        self.history: list[dict] = []
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._last_checkpoint: Path | None = None
        self._recorder = KernelRecorder()  # the kernels over the run, replayed in the Kernels tab
        self._calibration: dict | None = None
        self._finished_on_scans = False  # a run resumed after its last stage does not repeat it
        self.started = False  # the first epoch has begun: before it, Stop ends the run with nothing to save
        self.final_metadata: dict | None = None  # the finished model's metadata, also when it could not be saved

    # --- control, safe from any thread -------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused run so it can stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def _wait_if_paused(self) -> float:
        """Block while paused; return the seconds spent paused (excluded from timings)."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - start

    # --- the run -----------------------------------------------------------------------------
    def run(self):
        """Train; every failure, whatever raised it, comes back as a ``Failed`` event (and is logged)."""
        try:
            result = self._run()
        except Diverged as exc:
            result = Failed("diverged", str(exc), self._checkpoint_str())
        except DatasetError as exc:
            result = Failed("dataset", str(exc))
        except CheckpointError as exc:
            result = Failed("checkpoint", str(exc), self._checkpoint_str())
        except DeviceError as exc:
            result = Failed("device", str(exc))
        except SaveError as exc:
            result = Failed("save", f"{exc}. The trained model could not be written anywhere.", self._checkpoint_str())
        except Exception as exc:  # noqa: BLE001  anything else still ends the run with a message
            if is_out_of_memory(exc):
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                result = Failed("out_of_memory", "The device ran out of memory. Try a smaller batch size "
                                f"(now {self.config.batch_size}) or train on the CPU.", self._checkpoint_str())
            else:
                log.exception("training failed")
                result = Failed("error", f"Training failed: {exc or type(exc).__name__}", self._checkpoint_str())
        if self._probe:
            self._probe.remove()
        if isinstance(result, Failed) and result.kind != "error":
            log.warning("training ended: %s: %s", result.kind, result.message)
        self._emit(result)
        if not self.resume_from:
            discard_if_empty(self.run_dir)
        return result

    def _emit(self, event) -> None:
        """Every event goes to the run's own record (engine/runs.py) and to whoever listens."""
        if self._run_log:
            self._run_log(event)
        self.on_event(event)

    def _checkpoint_str(self) -> str | None:
        return str(self._last_checkpoint) if self._last_checkpoint else None

    def _check_run_dir(self) -> None:
        """Find out before training, not after, whether the run folder can be written."""
        try:
            ensure_writable(self.run_dir)
        except SaveError as exc:
            self._fall_back(exc)

    def _fall_back(self, exc: Exception) -> None:
        """Move the run to a new folder in the user's runs folder, and say so; if it already is
        there, there is nowhere better to go."""
        fallback = default_run_dir(self.config)
        if self.run_dir.resolve().parent == fallback.resolve().parent:
            raise exc
        self._emit(Notice(f"{exc}; saving this run in {fallback} instead"))
        log.warning("run folder %s not writable (%s); using %s", self.run_dir, exc, fallback)
        self.run_dir = fallback

    def _save(self, name: str, metadata: dict, state: dict | None = None) -> Path:
        try:
            return save_checkpoint(self.run_dir / name, self.model, metadata, state)
        except SaveError as exc:
            self._fall_back(exc)
            return save_checkpoint(self.run_dir / name, self.model, metadata, state)

    def _setup(self):
        """Everything a run needs before its first step; the epoch it starts after (0, or a resumed run's)."""
        self._check_run_dir()
        self._prepare()
        cfg, net = self.config, self._net
        self._optimizer = make_optimizer(cfg.optimizer, net.parameters(), cfg.lr, cfg.weight_decay)
        # A sixteenth of an epoch of warm-up is enough with batch norm; a longer one delayed the
        # first 99 % by a third (bench/README.md).
        self._scheduler = make_scheduler(cfg.schedule, self._optimizer, cfg.lr, cfg.epochs * self.batches_per_epoch,
                                         warmup_steps=self.batches_per_epoch // 16)
        self._average = WeightAverage(net) if cfg.ema else None
        start_epoch, self._elapsed = (self._restore() if self.resume_from else (0, 0.0))
        self.model = self._average.model if self._average else net
        self._probe = LayerProbe(net, self.stats_every) if self.stats_every else None  # after the average copied the net
        self._run_log = RunLog(self.run_dir, cfg.to_dict(), cfg.model_kwargs, sum(p.numel() for p in net.parameters()),
                               self.label, resumed_at=start_epoch if self.resume_from else None)
        self._load_last_stage()
        self._choose_watched()
        if self.batch_every:  # what each image is, for the batches shown
            self._kind_names, kinds = image_kinds(self._dataset)
            self._kinds = kinds.to(self.device)
        return start_epoch

    def _prepare(self) -> None:
        """The device, the data and its split, the network and how its batches are made: what any pass of
        training over this config's batches needs (a run, or the learning-rate range test, which brings its
        own optimiser)."""
        cfg = self.config
        self.device = device = resolve_device(cfg.device)
        if device.type == "cpu":
            configure_cpu()
        self._dataset = self.dataset or load_dataset(cfg.dataset, self.data_dir, progress=self._report_loading)
        self._images = self._dataset.train_images.to(device)
        self._labels = self._dataset.train_labels.to(device)
        groups = self._dataset.train_groups
        if self.split:
            train_idx, val_idx = self.split
        elif groups is not None:
            train_idx, val_idx = grouped_split(groups, cfg.val_fraction, cfg.seed)
        else:
            train_idx, val_idx = split_indices(len(self._images), cfg.val_fraction, cfg.seed)
        if cfg.train_subset and cfg.train_subset < len(train_idx):  # e.g. 300 images, to show over-fitting
            pick = torch.randperm(len(train_idx), generator=torch.Generator().manual_seed(cfg.seed))[:cfg.train_subset]
            train_idx = train_idx[pick.sort().values]
        self._train_idx, self._val_idx = train_idx.to(device), val_idx.to(device)
        # Mixed data: every epoch is all of the main set plus enough pen digits to make up pen_share.
        self._pen_pool = None
        epoch_size = len(train_idx)
        if self._dataset.name == MIXED and groups is not None:
            is_pen = groups[train_idx] >= 0
            self._main_idx, self._pen_pool = train_idx[~is_pen].to(device), train_idx[is_pen].to(device)
            self._pen_per_epoch = round(len(self._main_idx) * cfg.pen_share / (1 - cfg.pen_share))
            epoch_size = len(self._main_idx) + self._pen_per_epoch
            self._val_pen = (groups[val_idx] >= 0).to(device)
        self.batches_per_epoch = max(1, epoch_size // cfg.batch_size)  # drop the ragged last batch

        torch.manual_seed(cfg.seed)
        net = build_model(cfg.model, None if cfg.init == "default" else cfg.init, **cfg.model_kwargs)
        self._net = net.to(device, memory_format=torch.channels_last)
        self._augment_spec = AugmentSpec(lowres=cfg.low_resolution)
        self._forward = torch.compile(net) if cfg.compile else net
        bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
        self._autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
        self._step = 0

    def _choose_watched(self) -> None:
        """The validation images whose answers are watched: unseen pen writers' digits first, each as
        first drawn (not its scans)."""
        self._watched, self._watched_source = None, ""
        if not self.watch_every or not len(self._val_idx):
            return
        val_idx = self._val_idx.cpu()
        groups = self._dataset.train_groups
        drawn = None  # the pen digits' first drawings (held-out writers, in the validation split)
        if groups is not None:
            pen_rows = torch.nonzero(groups >= 0).squeeze(1)
            first = torch.zeros(len(groups), dtype=torch.bool)
            first[pen_rows] = torch.from_numpy(first_drawings(len(pen_rows)))
            drawn = first[val_idx]
        pick = watched_indices(self._dataset.train_labels[val_idx], len(self._dataset.class_names), drawn)
        self._watched = val_idx[pick]
        self._watched_source = ("writers it does not train on" if drawn is not None and drawn[pick].all()
                                else "the validation split, which it does not train on")

    def _watch(self, epoch: float) -> None:
        """The model's answers to the watched images now, for the Train tab."""
        if self._watched is None:
            return
        logits = predict_logits(self.model, self._images[self._watched.to(self.device)])
        self._emit(Watched(self._step, epoch, self._dataset.train_images[self._watched].numpy(),
                           tuple(self._dataset.train_labels[self._watched].tolist()), logits.softmax(1).numpy(),
                           self._watched_source, tuple(self._dataset.class_names)))

    def _report_loading(self, *report) -> None:
        """Progress of a first-use download or drawing; Stop need not wait for its end."""
        if self._stop.is_set():
            raise _StoppedLoading
        self._emit(Downloading(*report))

    def _load_last_stage(self) -> None:
        """The small scans a mnist+pen run finishes on (``_finish_on_scans``), loaded before the epochs so
        that the ETA counts the stage from the start and its first drawing (a minute) is not a surprise
        at the end."""
        cfg = self.config
        self._scans, self._scan_steps = None, 0
        if not cfg.scan_epochs or self._pen_pool is None or self._finished_on_scans:
            return
        scans = load_small_scans(self.data_dir, progress=self._report_loading)
        train_writers = self._dataset.train_groups[self._pen_pool.cpu()].unique().numpy()
        keep = np.flatnonzero(np.isin(scans.writers, train_writers))  # the validation writers stay unseen
        if not len(keep):
            return
        self._scans = (torch.from_numpy(scans.images[keep]).to(self.device), torch.from_numpy(scans.labels[keep]).to(self.device))
        # Never longer than the run's epochs: a quick run on a subset is not held up by a minute of scans.
        self._scan_steps = max(1, min(round(cfg.scan_epochs * len(keep) / (cfg.batch_size // 2)),
                                      cfg.epochs * self.batches_per_epoch))

    def _run(self):
        cfg = self.config
        try:
            start_epoch = self._setup()
        except _StoppedLoading:
            return Finished(None, None, True, 0, 0.0)
        batches = self.batches_per_epoch
        self.started = True
        self._emit(Started(device_name(self.device), len(self._train_idx), len(self._val_idx), batches, cfg.epochs, start_epoch))
        self._recorder.record(self._step, float(start_epoch), self.kernels())
        self._watch(float(start_epoch))  # the answers before any training: guesses
        for epoch in range(start_epoch + 1, cfg.epochs + 1):
            completed = self._train_epoch(epoch)
            if not completed:
                return self._finish(epoch - 1, stopped=True, trained=self._step > start_epoch * batches)
        completed = self._finish_on_scans()
        if self.watch_every and self._step % self.watch_every:
            self._watch(float(cfg.epochs))  # the finished model's answers
        return self._finish(cfg.epochs, stopped=not completed, trained=True)

    def _finish_on_scans(self) -> bool:
        """The last stage of a mnist+pen run: from the finished (averaged) weights, half of each batch small
        binarised scans of the training writers, half the usual images, augmented, at a third of the peak
        learning rate. A model that reads every view reads an 8×8 binarised scan 3–4 points under one that
        reads nothing else; this stage recovers most of that and costs nothing elsewhere (bench/README.md).
        False when stopped part-way."""
        if self._scans is None:
            return True
        cfg, device, net, steps = self.config, self.device, self._net, self._scan_steps
        images, labels = self._scans
        half = cfg.batch_size // 2
        lr = cfg.lr * SCAN_STAGE_LR
        if self._average:  # go on from the deliverable weights; the average goes on from them too
            net.load_state_dict(self._average.model.state_dict())
        optimizer = make_optimizer(cfg.optimizer, net.parameters(), lr, cfg.weight_decay)
        scheduler = make_scheduler("onecycle", optimizer, lr, steps, warmup_steps=steps // 4)
        gen = torch.Generator(device=device).manual_seed(cfg.seed * 100_057)
        net.train()
        loss_sum, pending, start = torch.zeros((), device=device), 0, time.perf_counter()
        report_every = self.sync_every or (10 if device.type == "cpu" else 50)
        self._recorder.begin_last_stage(self._step)
        for step in range(1, steps + 1):
            start += self._wait_if_paused()
            if self._stop.is_set():
                break
            scan = torch.randint(len(labels), (half,), generator=gen, device=device)
            own = self._train_idx[torch.randint(len(self._train_idx), (cfg.batch_size - half,), generator=gen, device=device)]
            augmented, reduced = augment_batch(to_model_input(self._images[own]), gen, self._augment_spec, return_reduced=True)
            x = torch.cat([to_model_input(images[scan]), augmented])
            y = torch.cat([labels[scan], self._labels[own]])
            logits, loss = self._learn(x, y, optimizer, scheduler)
            self._step += 1
            if self._batch_due():
                kinds = torch.cat([torch.full((half,), SMALL_SCAN, dtype=torch.uint8, device=device), self._kinds[own]])
                shown = min(BATCH_SHOWN // 2, half)  # as many of each half
                rows = torch.cat([torch.arange(shown), half + torch.arange(min(shown, len(y) - half))]).to(device)
                raw = torch.cat([images[scan], self._images[own]])
                reduced = torch.cat([torch.zeros(half, dtype=torch.bool, device=device), reduced])
                self._show_batch(x, raw, y, logits, kinds, reduced, float(cfg.epochs), rows, last_stage=True)
            loss_sum += loss.detach()
            pending += 1
            if step % report_every == 0 or step == steps:
                total = loss_sum.item()
                if not _finite(total):
                    raise Diverged(f"Training diverged while finishing on small scans, at step {step}: the loss "
                                   f"became {total}. Try a lower learning rate (now {cfg.lr:g}) or no last stage (scan epochs 0).")
                loss_sum.zero_()
                elapsed = time.perf_counter() - start
                self._emit(Finishing(step, steps, total / pending, elapsed / step * (steps - step)))
                pending = 0
            self._after_step(float(cfg.epochs))  # the epochs are done
        self._elapsed += time.perf_counter() - start
        self._recorder.record(self._step, float(cfg.epochs), self.kernels())
        self._finished_on_scans = not self._stop.is_set()
        return self._finished_on_scans

    def _after_step(self, epoch: float) -> None:
        """What is shown live (kernels, the watched answers, the model) and recorded for the replay, when due;
        ``epoch`` is fractional."""
        if self.kernel_every and self._step % self.kernel_every == 0:
            kernels = self.kernels()
            self._emit(KernelSnapshot(self._step, kernels, None if kernels else unit_pictures(self._net)))
        if self.watch_every and self._step % self.watch_every == 0:
            self._watch(epoch)
        every = self.model_every  # read once: another thread may change it
        if every and self._step % every == 0:
            self._emit(ModelSnapshot(self._step, reading_copy(self.model), self.config.model, tuple(self._dataset.class_names)))
        if self._recorder.due(self._step):
            self._recorder.record(self._step, epoch, self.kernels())

    def _batch_due(self) -> bool:
        return bool(self.batch_every) and self._step % self.batch_every == 0

    def _show_batch(self, x, raw, y, logits, kinds, reduced, epoch: float, rows: torch.Tensor | None = None,
                    last_stage: bool = False, warming_up: bool = False) -> None:
        """Send the batch's first images (or ``rows``) as the network was given them and as stored (``raw``),
        what it read them as, which augmentation made a small scan (``reduced``, or None), and how many of
        each kind the whole batch holds."""
        rows = torch.arange(min(BATCH_SHOWN, len(y)), device=y.device) if rows is None else rows
        images = (x[rows, 0].float() * 255).round_().to(torch.uint8).cpu().numpy()
        counts = torch.bincount(kinds.long(), minlength=len(self._kind_names)).tolist()
        names = self._kind_names
        self._emit(BatchShown(self._step, epoch, images, raw[rows].cpu().numpy(), tuple(y[rows].tolist()), tuple(logits[rows].argmax(1).tolist()),
                              tuple(names[k] for k in kinds[rows].tolist()), names, tuple(counts), len(y),
                              self.config.augment or last_stage, last_stage, warming_up, tuple(self._dataset.class_names),
                              reduced=tuple(reduced[rows].tolist()) if reduced is not None else (False,) * len(rows)))

    def _train_epoch(self, epoch: int) -> bool:
        """Train one epoch and report it; False when stopped part-way."""
        cfg, device, net = self.config, self.device, self._net
        # Per-epoch seeds make batches, augmentation and dropout reproducible, also after a resume.
        torch.manual_seed(cfg.seed * 100_043 + epoch)
        order_gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        aug_gen = torch.Generator(device=device).manual_seed(cfg.seed * 100_019 + epoch)
        warming_up = epoch <= cfg.pen_warmup_epochs and self._pen_pool is not None
        order = self._epoch_order(order_gen, warming_up)
        sync_every = self.sync_every or (1 if device.type == "cpu" else 20)
        net.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        seen, pending, epoch_loss, start = 0, 0, 0.0, time.perf_counter()
        batches = self.batches_per_epoch
        # Batches after which the validation split is scored mid-epoch (the epoch's end always is).
        evaluate_after = {round(batches * k / self.evals_per_epoch) for k in range(1, self.evals_per_epoch)} - {0, batches}
        since_eval = [0.0, 0]  # training loss summed since the last evaluation, and over how many batches
        for batch in range(1, batches + 1):
            start += self._wait_if_paused()
            if self._stop.is_set():
                self._elapsed += time.perf_counter() - start
                return False
            idx = order[(batch - 1) * cfg.batch_size: batch * cfg.batch_size]
            raw, y = self._images[idx], self._labels[idx]
            x = to_model_input(raw)
            if self._probe and self._probe.due(self._step + 1):
                self._probe.arm()
            reduced = None
            if cfg.augment:
                x, reduced = augment_batch(x, aug_gen, self._augment_spec, return_reduced=True)
            logits, loss = self._learn(x, y, self._optimizer, self._scheduler)
            self._step += 1
            if self._batch_due():
                self._show_batch(x, raw, y, logits, self._kinds[idx], reduced, epoch - 1 + batch / batches,
                                 warming_up=warming_up)
            loss_sum += loss.detach()
            correct += (logits.detach().argmax(1) == y).sum()
            seen += len(y)
            pending += 1
            if batch % sync_every == 0 or batch == batches or batch in evaluate_after:
                total = loss_sum.item()
                if not _finite(total):
                    raise Diverged(f"Training diverged at epoch {epoch}, batch {batch}: the loss became {total}. "
                                   f"Try a lower learning rate (now {cfg.lr:g}) or another optimiser.")
                epoch_loss += total
                since_eval[0] += total
                since_eval[1] += pending
                loss_sum.zero_()
                rate = seen / max(1e-9, time.perf_counter() - start)
                left = (cfg.epochs * batches - self._step + self._scan_steps) * cfg.batch_size / max(rate, 1e-9)
                self._emit(BatchEnd(epoch, batch, self.batches_per_epoch, self._step, total / pending,
                                       correct.item() / seen, rate, left, self._optimizer.param_groups[0]["lr"]))
                pending = 0
            self._after_step(epoch - 1 + batch / batches)
            if batch in evaluate_after:
                began = time.perf_counter()
                val, _ = self._validate()
                self._report_evaluation(epoch - 1 + batch / batches, since_eval, val, self._elapsed + began - start)
                start += time.perf_counter() - began  # scoring is not training time
        epoch_time = time.perf_counter() - start
        self._elapsed += epoch_time
        self._recorder.record(self._step, float(epoch), self.kernels())
        val, val_pen_accuracy = self._validate()
        if val is not None and not _finite(val.loss):
            raise Diverged(f"Training diverged in epoch {epoch}: the validation loss became {val.loss}. "
                           f"Try a lower learning rate (now {cfg.lr:g}) or another optimiser.")
        if self.evals_per_epoch:
            self._report_evaluation(float(epoch), since_eval, val, self._elapsed)
        record = dict(
            epoch=epoch, train_loss=epoch_loss / self.batches_per_epoch, train_accuracy=correct.item() / seen,
            val_loss=val.loss if val else None, val_accuracy=val.accuracy if val else None,
            val_pen_accuracy=val_pen_accuracy, images_per_sec=seen / epoch_time, elapsed=self._elapsed,
        )
        self.history.append(record)
        saved = None
        if cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0 and epoch < cfg.epochs:
            saved = self._save_resumable(epoch, self._metrics())
        self._emit(EpochEnd(epochs=cfg.epochs, checkpoint=str(saved) if saved else None, **record))
        return True

    def _learn(self, x: torch.Tensor, y: torch.Tensor, optimizer, scheduler) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimiser step on a batch, the weight average following: the batch's logits and loss."""
        with self._autocast():
            logits = self._forward(x)
            loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self._probe and self._probe.armed:  # armed by the epoch loop when layer statistics are due
            self._emit(self._probe.collect(self._step + 1))
        optimizer.step()
        scheduler.step()
        if self._average:
            self._average.update(self._net)
        return logits, loss

    def _report_evaluation(self, epoch: float, since_eval: list, val, elapsed: float) -> None:
        if val is None:
            return
        loss, batches = since_eval
        since_eval[:] = [0.0, 0]
        self._emit(Evaluation(self._step, epoch, loss / max(1, batches), val.loss, val.accuracy, elapsed))

    def _epoch_order(self, gen: torch.Generator, warming_up: bool = False) -> torch.Tensor:
        """This epoch's sample indices, shuffled: each pen digit is seen before any is repeated. While
        warming up, MNIST fills the pen digits' places: a network first learns digits fastest from
        MNIST alone (pen digits from the start delayed the first 99 % on MNIST by half; bench/README.md)."""
        if self._pen_pool is None:
            return self._train_idx[torch.randperm(len(self._train_idx), generator=gen).to(self.device)]
        pool = self._main_idx if warming_up else self._pen_pool
        rounds = -(-self._pen_per_epoch // max(1, len(pool)))
        extra = torch.cat([torch.randperm(len(pool), generator=gen) for _ in range(rounds)])
        both = torch.cat([self._main_idx, pool[extra[:self._pen_per_epoch].to(self.device)]])
        return both[torch.randperm(len(both), generator=gen).to(self.device)]

    def _validate(self) -> tuple:
        """Validation loss and accuracy, and the accuracy on the held-out pen writers alone."""
        if not len(self._val_idx):
            return None, None
        val = evaluate(self.model, self._images[self._val_idx], self._labels[self._val_idx])
        pen_accuracy = None
        if self._pen_pool is not None and self._val_pen.any():
            pen = self._val_pen.cpu().numpy()
            pen_accuracy = float((val.predictions[pen] == val.labels[pen]).mean())
        return val, pen_accuracy

    def train_accuracy(self, limit: int = 5000) -> float:
        """Accuracy of the model as it is now (eval mode) on up to ``limit`` of its training images:
        what over-fitting is measured against (the running accuracy during an epoch sees dropout at work)."""
        idx = self._train_idx[:limit]
        return evaluate(self.model, self._images[idx], self._labels[idx]).accuracy

    def kernels(self) -> tuple:
        """Copies of the first two conv layers' current (raw, not averaged) weights."""
        return tuple(block.conv.weight.detach().float().cpu().numpy().copy() for block in self._net.conv_blocks()[:2])

    # --- checkpoints -------------------------------------------------------------------------
    def _metrics(self) -> dict:
        return dict(self.history[-1]) if self.history else {}

    def _metadata(self, metrics: dict) -> dict:
        extra = {"calibration": self._calibration} if self._calibration else {}
        return make_metadata(self.config.model, self.config.to_dict(), self._dataset.name,
                             self._dataset.class_names, metrics, self.config.model_kwargs, history=list(self.history),
                             run_dir=str(self.run_dir), **extra)

    def _calibrate(self) -> dict | None:
        """Fit the temperature on the whole validation split: its unseen pen writers alone are too few
        and too well read (often no mistake at all, which drives the fit to zero) to fit on."""
        if not len(self._val_idx):
            return None
        logits = predict_logits(self.model, self._images[self._val_idx], self.device)
        return calibration_record(logits, self._labels[self._val_idx].cpu(), "validation split")

    def _save_resumable(self, epoch: int, metrics: dict) -> Path:
        """last.pt: the deliverable weights plus everything needed to resume at an epoch boundary."""
        state = {"epoch": epoch, "elapsed": self._elapsed, "optimizer": self._optimizer.state_dict(),
                 "scheduler": self._scheduler.state_dict(),
                 "raw_weights": {k: v.detach().cpu() for k, v in self._net.state_dict().items()},
                 "average_updates": self._average.updates if self._average else 0,
                 "finished_on_scans": self._finished_on_scans, "step": self._step}
        self._last_checkpoint = self._save("last.pt", self._metadata(metrics), state)
        self._save_replay()
        return self._last_checkpoint

    def _save_replay(self) -> None:
        try:
            self._recorder.save(self.run_dir / REPLAY_FILE)
        except SaveError as exc:  # the model matters more than its history: say so and go on
            log.warning("kernel replay not saved: %s", exc)
            self._emit(Notice(f"The kernel replay could not be saved: {exc}"))

    def _restore(self) -> tuple[int, float]:
        try:
            checkpoint = load_checkpoint(self.resume_from)
        except CheckpointError as exc:
            folder = Path(self.resume_from).parent
            kept = "; the weights it stopped with are kept apart, in its model.pt" if (folder / "model.pt").is_file() else ""
            raise CheckpointError(self.resume_from, f"{exc.reason}: the run in {folder} cannot be continued from "
                                  f"it{kept}") from None
        state = checkpoint.training_state
        if checkpoint.model_name != self.config.model or not state:
            raise CheckpointError(self.resume_from, f"cannot resume a {self.config.model} run: it holds "
                                  f"{checkpoint.model_name}" + ("" if state else " without training state"))
        self._net.load_state_dict(state["raw_weights"])
        if self._average:
            self._average = WeightAverage(self._net, self._average.decay, int(state["average_updates"]))
            self._average.model.load_state_dict(checkpoint.model.state_dict())
        self._optimizer.load_state_dict(state["optimizer"])
        self._scheduler.load_state_dict(state["scheduler"])
        self.history = list(checkpoint.metadata.get("history", []))
        self._finished_on_scans = bool(state.get("finished_on_scans", False))
        self._step = int(state.get("step", int(state["epoch"]) * self.batches_per_epoch))  # past a last stage, if any
        self._last_checkpoint = Path(self.resume_from)
        self._recorder.resume(Path(self.resume_from).parent / REPLAY_FILE, self._step)
        return int(state["epoch"]), float(state["elapsed"])

    def _finish(self, epochs_done: int, stopped: bool, trained: bool) -> Finished:
        """Evaluate on the test set and write model.pt (the weights as they are now). A completed run
        also refreshes last.pt; a stopped one leaves last.pt at its last epoch boundary, so resuming
        replays the interrupted epoch exactly."""
        if not trained:
            return Finished(None, None, stopped, epochs_done, self._elapsed)
        metrics = self._metrics()
        test_accuracy = None
        if self.evaluate_test:
            data = self._dataset
            test_accuracy = evaluate(self.model, data.test_images.to(self.device), data.test_labels.to(self.device)).accuracy
            metrics["test_accuracy"] = test_accuracy
            if data.name == MIXED:
                pen = load_dataset(PEN, self.data_dir)
                metrics["pen_test_accuracy"] = evaluate(self.model, pen.test_images, pen.test_labels, device=self.device).accuracy
        metrics["stopped"] = stopped
        self._calibration = self._calibrate()
        self.final_metadata = self._metadata(metrics)
        if not stopped:
            self._save_resumable(epochs_done, metrics)
        checkpoint = self._save("model.pt", self.final_metadata)
        if stopped:  # a completed run saved it with last.pt
            self._save_replay()
        return Finished(str(checkpoint), test_accuracy, stopped, epochs_done, self._elapsed,
                        metrics.get("pen_test_accuracy"))
