"""Does Personalise still pay on a model that already reads pen digits? One test writer at a time.

    python -m bench.personalise [MODEL.pt]

For each of the six test writers: their first drawing of each digit becomes a personal sample (ten
in all, as a user who confirms one drawing per digit), Personalise runs as the app runs it, and the
writer's other drawings are read before and after. Prints accuracy per writer, the median seconds
per writer, and MNIST test accuracy after personalising.
"""

import argparse
import time

import numpy as np
import torch

from bench.pen_writers import writer_set
from engine.datasets import load_dataset
from engine.device import configure_cpu
from engine.evaluate import evaluate
from engine.paths import default_model_path
from engine.pendigits import TEST_WRITERS
from engine.personal import personalise, rehearsal_dataset
from engine.predict import Predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=str(default_model_path()))
    args = parser.parse_args()
    configure_cpu()
    base = Predictor.load(args.model)
    mnist = load_dataset("mnist")
    rehearsal = rehearsal_dataset(base.metadata)
    data = writer_set(TEST_WRITERS)
    before_all, after_all, seconds, mnist_after = [], [], [], []
    for writer in TEST_WRITERS:
        mine = np.flatnonzero(data["writers"] == writer)
        labels = data["labels"][mine]
        samples = np.array([mine[np.flatnonzero(labels == d)[0]] for d in range(10)])
        rest = np.setdiff1d(mine, samples)
        pixels = torch.from_numpy(np.round(data["drawn"][samples] * 255).astype(np.uint8))
        start = time.perf_counter()
        result = personalise(base.model, (pixels, torch.from_numpy(data["labels"][samples])), rehearsal)
        seconds.append(time.perf_counter() - start)
        tuned = Predictor(result.model, "cpu", base.metadata)
        before = float((base.probabilities(data["drawn"][rest]).argmax(1) == data["labels"][rest]).mean())
        after = float((tuned.probabilities(data["drawn"][rest]).argmax(1) == data["labels"][rest]).mean())
        mnist_after.append(evaluate(result.model, mnist.test_images, mnist.test_labels).accuracy)
        before_all.append(before)
        after_all.append(after)
        print(f"writer {writer:>2}: {len(rest)} other drawings, {before * 100:6.2f} % → {after * 100:6.2f} %   "
              f"({seconds[-1]:.1f} s; MNIST test after {mnist_after[-1] * 100:.2f} %)", flush=True)
    print(f"\nmean over writers {np.mean(before_all) * 100:.2f} % → {np.mean(after_all) * 100:.2f} % "
          f"(lowest after {min(after_all) * 100:.2f} %); median {np.median(seconds):.1f} s per writer on "
          f"{torch.get_num_threads()} threads; MNIST test after: {min(mnist_after) * 100:.2f}–{max(mnist_after) * 100:.2f} %")


if __name__ == "__main__":
    main()
