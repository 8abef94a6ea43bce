"""How well do models read drawings? Accuracy on the synthetic drawn-digit set and on MNIST test.

    python -m bench.handwriting                       # the shipped model
    python -m bench.handwriting A.pt B.pt --per-digit 300
    git show 820d71d:assets/default_model.pt > /tmp/previous.pt && python -m bench.handwriting assets/default_model.pt /tmp/previous.pt
"""

import argparse
import time

import numpy as np
import torch

from bench.drawn_digits import drawn_digit_set
from engine.datasets import load_dataset
from engine.evaluate import evaluate
from engine.paths import default_model_path
from engine.predict import Predictor
from engine.preprocess import prepare_image


def prepare_all(images: np.ndarray) -> np.ndarray:
    return np.stack([prepare_image(image).pixels for image in images])


def drawn_accuracy(predictor: Predictor, pixels: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    predictions = predictor.probabilities(pixels).argmax(1)
    return float((predictions == labels).mean()), predictions


def report(name: str, predictor: Predictor, pixels, labels, mnist) -> dict:
    accuracy, predictions = drawn_accuracy(predictor, pixels, labels)
    mnist_accuracy = evaluate(predictor.model, mnist.test_images, mnist.test_labels).accuracy
    per_digit = [float((predictions[labels == d] == d).mean()) for d in range(10)]
    pairs = {}
    for t, p in zip(labels, predictions):
        if t != p:
            pairs[(int(t), int(p))] = pairs.get((int(t), int(p)), 0) + 1
    worst = sorted(pairs.items(), key=lambda kv: -kv[1])[:6]
    print(f"\n{name}")
    print(f"  drawn digits: {accuracy * 100:6.2f} %   MNIST test: {mnist_accuracy * 100:6.2f} %")
    print("  per digit:    " + "  ".join(f"{d}:{a * 100:5.1f}" for d, a in enumerate(per_digit)))
    print("  top confusions (true→read: count): " + ", ".join(f"{t}→{p}: {n}" for (t, p), n in worst))
    return {"drawn": accuracy, "mnist": mnist_accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="checkpoints to compare (default: the shipped model)")
    parser.add_argument("--per-digit", type=int, default=200, help="drawings per digit (default: 200)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    torch.set_num_threads(2)
    start = time.perf_counter()
    images, labels = drawn_digit_set(args.per_digit, args.seed)
    pixels = prepare_all(images)
    print(f"{len(labels)} drawn digits (seed {args.seed}), generated and preprocessed in {time.perf_counter() - start:.1f} s")
    mnist = load_dataset("mnist")
    for path in args.models or [default_model_path()]:
        report(str(path), Predictor.load(path), pixels, labels, mnist)


if __name__ == "__main__":
    main()
