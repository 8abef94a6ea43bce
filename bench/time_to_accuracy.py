"""Time to accuracy: how long training takes to first reach 99.0 % (and 99.5 %) MNIST test accuracy.

    python -m bench.time_to_accuracy [--seeds 0 1 2] [--device auto] [--checks-per-epoch 32]

Runs, in one invocation and on the same machine, for each seed:
  (a) seed 001's recipe as its tutorial wrote it: the 3-conv model, Adam lr 1e-3, batch 32,
      a per-sample Dataset + DataLoader(shuffle=True), 5 epochs;
  (b) Digit Studio's default recipe (TrainConfig defaults: all 60,000 MNIST images plus the pen
      digits' training writers at the default pen share).
Test accuracy is measured on the 10,000 test images at fixed points: 32 times per epoch (the
option) until a run first reaches 99.0 %, then every quarter epoch. The time to 99.0 % is the first
check at or above it, so checks a whole interval apart would round it up by half an interval on
average, a larger share of the faster recipe's time; after that, coarser checks keep the evaluations
affordable. Evaluation time is NOT counted: the clock covers training steps and data loading only.
"""

import argparse
import statistics
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from bench.common import config_overrides, machine, seed_loader
from engine.config import TrainConfig
from engine.datasets import load_dataset
from engine.device import configure_cpu, resolve_device
from engine.evaluate import evaluate
from engine.events import BatchEnd, Finished
from engine.models import build_model
from engine.train import Trainer

TARGETS = (0.990, 0.995)
COARSE_CHECKS = 4  # per epoch, once a run has reached 99.0 %


@dataclass
class Run:
    name: str
    curve: list = field(default_factory=list)  # (epoch, training seconds, test accuracy)

    def time_to(self, target: float) -> float | None:
        return next((t for _, t, acc in self.curve if acc >= target), None)

    @property
    def final(self) -> float:
        return self.curve[-1][2]


class CheckGrid:
    """When to measure: ``fine`` times per epoch until the run first reaches 99.0 %, then COARSE_CHECKS."""

    def __init__(self, fine: int):
        self.fine, self._next = max(fine, COARSE_CHECKS), 0

    def due(self, step: int, steps_per_epoch: int, run: Run) -> bool:
        per_epoch = COARSE_CHECKS if run.time_to(TARGETS[0]) is not None else self.fine
        interval = max(1, steps_per_epoch // per_epoch)
        self._next = self._next or interval
        if step < self._next:
            return False
        self._next += interval
        return True


class Stopwatch:
    """Training time with evaluation pauses taken out."""

    def __init__(self, device):
        self.device = device
        self.elapsed = 0.0
        self._since = None

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def start(self):
        self._sync()
        self._since = time.perf_counter()

    def pause(self) -> float:
        self._sync()
        self.elapsed += time.perf_counter() - self._since
        return self.elapsed


def run_seed_recipe(dataset, device, seed: int, checks: int, epochs: int = 5) -> Run:
    torch.manual_seed(seed)
    model = build_model("seed001").to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = seed_loader(dataset.train_images, dataset.train_labels, batch_size=32, seed=seed)
    run, clock, grid = Run("seed 001 recipe"), Stopwatch(device), CheckGrid(checks)
    test_x, test_y = dataset.test_images.to(device), dataset.test_labels.to(device)
    clock.start()
    for epoch in range(epochs):
        model.train()
        for batch, (x, y) in enumerate(loader, start=1):
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            last = epoch == epochs - 1 and batch == len(loader)
            if grid.due(epoch * len(loader) + batch, len(loader), run) or last:
                seconds = clock.pause()
                run.curve.append((epoch + batch / len(loader), seconds, evaluate(model, test_x, test_y).accuracy))
                model.train()
                clock.start()
    return run


def run_our_recipe(dataset, device, seed: int, checks: int, overrides: dict) -> Run:
    config = replace(TrainConfig(seed=seed, val_fraction=0.0, checkpoint_every=0, device=str(device)), **overrides)
    run, clock, grid = Run("Digit Studio default"), Stopwatch(device), CheckGrid(checks)
    test_x, test_y = dataset.test_images.to(device), dataset.test_labels.to(device)

    def on_event(event):
        if isinstance(event, BatchEnd) and grid.due(event.step, event.batches_per_epoch, run):
            seconds = clock.pause()
            run.curve.append((event.step / event.batches_per_epoch, seconds, evaluate(trainer.model, test_x, test_y).accuracy))
            clock.start()
        elif isinstance(event, Finished):  # the final model, wherever the last check fell
            run.curve.append((event.epochs_done, clock.pause(), evaluate(trainer.model, test_x, test_y).accuracy))

    trainer = Trainer(config, on_event, dataset=load_dataset(config.dataset), run_dir="/tmp/digit-studio-bench",
                      evaluate_test=False)
    clock.start()
    trainer.run()
    return run


def _fmt(seconds) -> str:
    return "   never" if seconds is None else f"{seconds:7.1f}s"


def summarise(runs: list[Run], target: float) -> tuple[float | None, str]:
    times = [r.time_to(target) for r in runs]
    reached = [t for t in times if t is not None]
    if not reached:
        return None, "never reached"
    spread = f"range {min(reached):.1f}-{max(reached):.1f} s" if len(reached) > 1 else "one run"
    missing = f", not reached in {len(times) - len(reached)} of {len(times)} runs" if len(reached) < len(times) else ""
    median = statistics.median(reached)
    return median, f"median {median:.1f} s ({spread}){missing}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--checks-per-epoch", type=int, default=32,
                        help=f"test accuracy checks per epoch until 99.0 %% is reached (then {COARSE_CHECKS} per epoch)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change a TrainConfig field of our recipe (e.g. dataset=mnist low_resolution=0)")
    args = parser.parse_args()
    overrides = config_overrides(args.set)
    device = resolve_device(args.device)
    configure_cpu()
    dataset = load_dataset("mnist")
    print(machine())
    print(f"our recipe: {TrainConfig(**overrides) if overrides else 'TrainConfig defaults'}")
    print(f"device {device}; test accuracy checked {args.checks_per_epoch}× per epoch until 99.0 %, then {COARSE_CHECKS}×; "
          "evaluation time not counted\n")
    results = {"seed": [], "ours": []}
    for seed in args.seeds:
        for key, runner in (("seed", run_seed_recipe), ("ours", run_our_recipe)):
            run = runner(dataset, device, seed, args.checks_per_epoch, *([overrides] if key == "ours" else []))
            results[key].append(run)
            print(f"seed {seed} {run.name:22s} 99.0 % at {_fmt(run.time_to(0.990))}  99.5 % at {_fmt(run.time_to(0.995))}"
                  f"  final {run.final * 100:.2f} % after {run.curve[-1][1]:.0f} s", flush=True)
    print()
    for target in TARGETS:
        seed_median, seed_text = summarise(results["seed"], target)
        our_median, our_text = summarise(results["ours"], target)
        print(f"time to {target * 100:.1f} %:  seed 001 recipe {seed_text};  ours {our_text}")
        if our_median and seed_median:
            print(f"  → ours is {seed_median / our_median:.2f}× sooner")
        elif our_median:
            seed_total = statistics.median(r.curve[-1][1] for r in results["seed"])
            print(f"  → the seed recipe never got there in its {seed_total:.0f} s; ours took {our_median:.1f} s "
                  f"(≥ {seed_total / our_median:.1f}× sooner)")
    finals = lambda key: statistics.median(r.final for r in results[key])  # noqa: E731
    print(f"final test accuracy (median): seed 001 recipe {finals('seed') * 100:.2f} %, ours {finals('ours') * 100:.2f} %")


if __name__ == "__main__":
    main()
