"""Does the learning-rate range test's suggestion train well? For each optimiser, in one run:

    python -m bench.lr_finder [--train-subset 20000] [--epochs 2] [--seeds 0]

the range test (engine/lr_finder.py) on the Train tab's options with that optimiser, then short runs of
digitnet on MNIST at the app's own rate for the optimiser (SUGGESTED_LR, chosen by hand), at the test's
suggestion, and at ten times it (past the loss's lowest point, where the test says not to go): MNIST test
accuracy of each, and the time the test took."""

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


def test_accuracy(config: TrainConfig, dataset) -> float:
    with tempfile.TemporaryDirectory() as folder:  # a run folder of its own, not in the user's runs
        final = Trainer(config, dataset=dataset, run_dir=folder, evaluate_test=True).run()
    return final.test_accuracy if isinstance(final, Finished) and final.test_accuracy is not None else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-subset", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(machine())
    dataset = load_dataset("mnist")
    base = TrainConfig(dataset="mnist", train_subset=args.train_subset, epochs=args.epochs, device="cpu")
    print(f"digitnet on {args.train_subset:,} MNIST digits, {args.epochs} epochs, one-cycle, augmented; MNIST test accuracy "
          f"(mean over seeds {args.seeds})\n")
    print(f"{'optimiser':<10} {'test s':>6} {'lowest':>8} {'suggested':>9} | {'app rate':>16} {'suggested':>16} {'10× suggested':>16}")
    for optimizer in OPTIMIZERS:
        config = replace(base, optimizer=optimizer, lr=SUGGESTED_LR[optimizer])
        began = time.perf_counter()
        found = RangeTest(config, dataset=dataset).run()
        took = time.perf_counter() - began
        if not isinstance(found, LrFound) or found.suggested is None:
            print(f"{optimizer:<10} no suggestion: {found}")
            continue
        rates = (SUGGESTED_LR[optimizer], found.suggested, 10 * found.suggested)
        cells = []
        for lr in rates:
            scores = [test_accuracy(replace(config, lr=lr, seed=seed), dataset) for seed in args.seeds]
            cells.append(f"{lr:.2g}: {statistics.mean(scores):.2%}")
        print(f"{optimizer:<10} {took:6.1f} {found.lowest:8.2g} {found.suggested:9.2g} | " + " ".join(f"{c:>16}" for c in cells),
              flush=True)


if __name__ == "__main__":
    main()
