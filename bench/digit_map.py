"""How long the map of the digits takes, and how truly it shows what the network sees.

    python -m bench.digit_map [--model PATH]

For the held-out pen writers' 1,499 digits and 1,500 MNIST test digits (the Evaluate tab's map;
engine/digit_map.py), printed: the seconds to lay the map out; neighbours kept, the share of each
digit's 10 nearest in the network's last hidden layer that are among its 10 nearest on the map, for
t-SNE and for the plane of the first two principal components (the linear map one would draw
first); the share of digits whose nearest dot is of the same class, on the map and in the layer; and
for 1,000 other MNIST test digits placed as a drawing is (``DigitMap.place``), the share whose
nearest dot on the map is of the class the network gave it: the star lands on the island of its answer.
"""

import argparse
import time

import numpy as np
import torch

from engine.device import configure_cpu
from engine.digit_map import NEIGHBOURS, digit_map, hidden_features, map_sample
from engine.evaluate import evaluate_on
from engine.predict import Predictor


def nearest(points: torch.Tensor, count: int) -> torch.Tensor:
    distances = torch.cdist(points, points)
    distances.fill_diagonal_(float("inf"))
    return distances.topk(count, largest=False).indices


def kept(features: torch.Tensor, points: torch.Tensor, count: int = NEIGHBOURS) -> float:
    """The share of each row's ``count`` nearest in ``features`` that are among its ``count`` nearest in ``points``."""
    a, b = nearest(features, count), nearest(points, count)
    return float((a.unsqueeze(2) == b.unsqueeze(1)).any(2).float().mean())


def same_class(points: torch.Tensor, labels: torch.Tensor) -> float:
    return float((labels[nearest(points, 1)[:, 0]] == labels).float().mean())


def principal_plane(features: torch.Tensor) -> torch.Tensor:
    centred = features - features.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return centred @ v[:2].T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    configure_cpu()
    predictor = Predictor.load(args.model)
    for name in ("pen", "mnist"):
        data, result = evaluate_on(predictor, name)
        indices = map_sample(result)
        start = time.perf_counter()
        made = digit_map(predictor.model, data.test_images, indices)
        seconds = time.perf_counter() - start
        labels = torch.from_numpy(result.labels[indices])
        points = torch.from_numpy(made.points)
        plane = principal_plane(made.features)
        print(f"{name}: {len(indices):,} digits laid out in {seconds:.1f} s ({made.layer}, {made.features.shape[1]} units)")
        print(f"  neighbours kept (10 nearest): t-SNE {kept(made.features, points):.1%}, "
              f"first two principal components {kept(made.features, plane):.1%}")
        print(f"  nearest dot of the same class: on the map {same_class(points, labels):.1%}, "
              f"in the layer {same_class(made.features, labels):.1%}, on the principal plane {same_class(plane, labels):.1%}")
        if name == "mnist":
            others = np.setdiff1d(np.arange(len(result.labels)), indices)[:1000]
            _, features = hidden_features(predictor.model, data.test_images[torch.from_numpy(others)])
            answers = result.predictions[others]
            landed = []
            for feature, answer in zip(features, answers):
                at, _ = made.place(feature)
                dot = int(np.linalg.norm(made.points - at, axis=1).argmin())
                landed.append(result.labels[indices[dot]] == answer)
            print(f"  {len(others):,} other test digits placed as a drawing is: {np.mean(landed):.1%} land nearest a dot "
                  "of the class the network answered")


if __name__ == "__main__":
    main()
