"""Does Personalise still pay on a model that already reads pen digits? One unseen writer at a time.

    python -m bench.personalise [MODEL.pt]                     # the six test writers, shipped model
    python -m bench.personalise --cv CV.json [--set lr=3e-4]   # each fold's writers, that fold's model
    python -m bench.personalise --digits 1,7 --per-digit 3     # a user who teaches only their 1s and 7s

For each writer: their first drawing of each digit becomes a personal sample (ten in all, as a user
who confirms one drawing per digit), Personalise runs as the app runs it, and the writer's other
drawings are read before and after. Prints accuracy per writer, the median seconds per writer, and
MNIST test accuracy after personalising. ``--digits`` and ``--per-digit`` make the samples the first
few drawings of some digits only, as a user who corrects just the digits the model misreads does.

``--cv`` takes the ``--json`` file of ``bench.pen_writers cv``: each fold's model personalises for
the fold's held-out writers, rehearsing on the training data without them. That is 24 writers no
model saw, the honest place to choose Personalise's settings (``--set`` overrides its keywords)
without looking at the test writers.
"""

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench.pen_writers import writer_set
from engine.datasets import Dataset, load_dataset
from engine.device import configure_cpu
from engine.evaluate import evaluate
from engine.paths import default_model_path
from engine.pendigits import TEST_WRITERS
from engine.personal import personalise, rehearsal_dataset
from engine.predict import Predictor


def without_writers(data: Dataset, writers) -> Dataset:
    """The rehearsal data minus the given writers' digits, so no writer is rehearsed before being read."""
    if data.train_groups is None:
        return data
    keep = ~torch.isin(data.train_groups, torch.tensor(list(writers)))
    return replace(data, train_images=data.train_images[keep], train_labels=data.train_labels[keep],
                   train_groups=data.train_groups[keep])


def personalise_writers(base: Predictor, writers, rehearsal: Dataset, mnist: Dataset, options: dict,
                        digits=range(10), per_digit: int = 1) -> list[dict]:
    data = writer_set(writers)
    results = []
    for writer in writers:
        mine = np.flatnonzero(data["writers"] == writer)
        labels = data["labels"][mine]
        samples = np.concatenate([mine[np.flatnonzero(labels == d)[:per_digit]] for d in digits])
        rest = np.setdiff1d(mine, samples)
        pixels = torch.from_numpy(np.round(data["drawn"][samples] * 255).astype(np.uint8))
        start = time.perf_counter()
        result = personalise(base.model, (pixels, torch.from_numpy(data["labels"][samples])), rehearsal, **options)
        seconds = time.perf_counter() - start
        tuned = Predictor(result.model, "cpu", base.metadata)
        before = float((base.probabilities(data["drawn"][rest]).argmax(1) == data["labels"][rest]).mean())
        after = float((tuned.probabilities(data["drawn"][rest]).argmax(1) == data["labels"][rest]).mean())
        mnist_after = evaluate(result.model, mnist.test_images, mnist.test_labels).accuracy
        results.append(dict(writer=writer, before=before, after=after, seconds=seconds, mnist_after=mnist_after))
        print(f"writer {writer:>2}: {len(rest)} other drawings, {before * 100:6.2f} % → {after * 100:6.2f} %   "
              f"({seconds:.1f} s; MNIST test after {mnist_after * 100:.2f} %)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=str(default_model_path()))
    parser.add_argument("--cv", help="the --json file of `bench.pen_writers cv`: personalise each fold's writers")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a keyword of engine.personal.personalise (steps, lr, personal_share, batch_size)")
    parser.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9", help="the digits taught (default: all ten)")
    parser.add_argument("--per-digit", type=int, default=1, help="drawings of each digit taught (default 1)")
    args = parser.parse_args()
    taught = dict(digits=[int(d) for d in args.digits.split(",")], per_digit=args.per_digit)
    options = {key: (int if key in ("steps", "batch_size", "seed") else float)(value)
               for key, value in (pair.split("=", 1) for pair in args.set)}
    configure_cpu()
    mnist = load_dataset("mnist")
    if args.cv:
        results = []
        for fold in json.loads(Path(args.cv).read_text())["folds"]:
            base = Predictor.load(fold["checkpoint"])
            rehearsal = without_writers(rehearsal_dataset(base.metadata), fold["writers"])
            results += personalise_writers(base, fold["writers"], rehearsal, mnist, options, **taught)
    else:
        base = Predictor.load(args.model)
        results = personalise_writers(base, TEST_WRITERS, rehearsal_dataset(base.metadata), mnist, options, **taught)
    before, after = [r["before"] for r in results], [r["after"] for r in results]
    mnist_after = [r["mnist_after"] for r in results]
    print(f"\n{len(results)} writers {options or ''}: mean {np.mean(before) * 100:.2f} % → {np.mean(after) * 100:.2f} % "
          f"(lowest after {min(after) * 100:.2f} %, {sum(a < b for a, b in zip(after, before))} writers read worse, "
          f"{sum(a < 0.99 for a in after)} under 99 %); median {np.median([r['seconds'] for r in results]):.1f} s per writer "
          f"on {torch.get_num_threads()} threads; MNIST test after: {min(mnist_after) * 100:.2f}–{max(mnist_after) * 100:.2f} %")


if __name__ == "__main__":
    main()
