"""Does the learning-rate range test's suggestion train well? For each optimiser, in one run:

    python -m bench.lr_finder [--train-subset 20000] [--epochs 2] [--seeds 0 1]

the range test (engine/lr_finder.py) on the Train tab's options with that optimiser, then short runs of
digitnet on MNIST at the app's own rate for the optimiser (SUGGESTED_LR, chosen by hand) and at a tenth, a
third and all of the rate where the test's loss was lowest: validation accuracy (what a rule is chosen by)
and MNIST test accuracy of each, means over the seeds, and the time the test took."""

import argparse
import statistics
import tempfile
import time
from dataclasses import replace

from bench.common import machine
from engine.config import TrainConfig
from engine.datasets import load_dataset
from engine.events import Finished, LrFound
from engine.lr_finder import RangeTest
from engine.train import SUGGESTED_LR, Trainer

OPTIMIZERS = ("sgd", "momentum", "adagrad", "adamw")


def accuracies(config: TrainConfig, dataset) -> tuple[float, float]:
    """Validation and test accuracy of a run of ``config``."""
    with tempfile.TemporaryDirectory() as folder:  # a run folder of its own, not in the user's runs
        trainer = Trainer(config, dataset=dataset, run_dir=folder, evaluate_test=True)
        final = trainer.run()
    if not isinstance(final, Finished) or final.test_accuracy is None:
        return float("nan"), float("nan")
    return trainer.history[-1]["val_accuracy"], final.test_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-subset", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    print(machine())
    dataset = load_dataset("mnist")
    base = TrainConfig(dataset="mnist", train_subset=args.train_subset, epochs=args.epochs, device="cpu")
    print(f"digitnet on {args.train_subset:,} MNIST digits, {args.epochs} epochs, one-cycle, augmented; validation / "
          f"MNIST test accuracy, mean over seeds {args.seeds}\n")
    print(f"{'optimiser':<10} {'test s':>6} {'lowest':>7} | {'app rate':>22} {'lowest / 10':>22} {'lowest / 3':>22} {'lowest':>22}")
    for optimizer in OPTIMIZERS:
        config = replace(base, optimizer=optimizer, lr=SUGGESTED_LR[optimizer])
        began = time.perf_counter()
        found = RangeTest(config, dataset=dataset).run()
        took = time.perf_counter() - began
        if not isinstance(found, LrFound) or found.lowest is None:
            print(f"{optimizer:<10} no suggestion: {found}")
            continue
        cells = []
        for lr in (SUGGESTED_LR[optimizer], found.lowest / 10, found.lowest / 3, found.lowest):
            scores = [accuracies(replace(config, lr=lr, seed=seed), dataset) for seed in args.seeds]
            val, test = (statistics.mean(s[k] for s in scores) for k in (0, 1))
            cells.append(f"{lr:.2g}: {val:.2%} / {test:.2%}")
        print(f"{optimizer:<10} {took:6.1f} {found.lowest:7.2g} | " + " ".join(f"{c:>22}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
