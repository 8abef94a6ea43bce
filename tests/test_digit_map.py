"""The map of the digits (engine/digit_map.py): t-SNE, which digits are on it, where a new one goes."""

import csv
import io
import math

import numpy as np
import pytest
import torch

from engine.digit_map import (DigitMap, _affinities, _neighbourhoods, digit_map, hidden_features, map_sample,
                              place_inputs, tsne)
from engine.evaluate import evaluate
from engine.predict import Predictor


def blobs(per: int = 40, dims: int = 20, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """Three well-apart clusters in ``dims`` dimensions, and which cluster each row is of."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(3, dims, generator=g) * 10
    labels = np.repeat(np.arange(3), per)
    return centres[labels] + torch.randn(len(labels), dims, generator=g), labels


def test_each_digits_neighbourhood_keeps_the_perplexity_asked_for():
    features, _ = blobs()
    rows = _neighbourhoods(features, perplexity=10.0)
    assert torch.allclose(rows.sum(1), torch.ones(len(rows))) and torch.all(rows.diagonal() == 0)
    entropy = -(rows * rows.clamp_min(1e-30).log()).sum(1)
    assert torch.allclose(entropy, torch.full_like(entropy, math.log(10.0)), atol=1e-3)
    p = _affinities(features, perplexity=10.0)
    assert torch.allclose(p, p.T) and p.sum().item() == pytest.approx(1.0, abs=1e-4)
    assert torch.allclose(p[3, 50], (rows[3, 50] + rows[50, 3]) / (2 * len(rows)), atol=1e-12)


def test_tsne_keeps_clusters_apart_and_is_the_same_each_time():
    features, labels = blobs()
    points = tsne(features, perplexity=10.0, iterations=400)
    assert points.shape == (len(labels), 2) and np.isfinite(points).all()
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    assert (labels[distances.argmin(1)] == labels).all()  # each point's nearest is of its cluster
    same = labels[:, None] == labels[None]
    within = distances[same & np.isfinite(distances)].mean()
    assert distances[~same].min() > within  # the clusters' gaps wider than a cluster is across, on average
    assert np.array_equal(points, tsne(features, perplexity=10.0, iterations=400))


def test_tsne_shows_the_map_forming_and_stops_when_asked():
    features, _ = blobs(per=10)
    frames = []
    points = tsne(features, iterations=100, frame=lambda step, y: frames.append((step, y.copy())))
    assert [step for step, _ in frames] == [25, 50, 75, 100] and np.array_equal(frames[-1][1], points)
    asked = []
    stopped = tsne(features, iterations=1000, frame=lambda step, _y: asked.append(step), stop=lambda: len(asked) >= 2)
    assert asked == [25, 50] and stopped.shape == (30, 2)
    assert tsne(features[:2]).shape == (2, 2)  # too few to lay out: all at the origin, no error


def scored(n: int, wrong: int):
    """A scored test set of ``n`` digits whose first ``wrong`` were read as the next digit."""
    labels = torch.arange(n) % 10
    answers = labels.clone()
    answers[:wrong] = (labels[:wrong] + 1) % 10

    class Answers(torch.nn.Module):  # answers as told, whatever the picture
        def forward(self, x):
            return torch.nn.functional.one_hot(answers[: len(x)], 10).float() * 5

    return evaluate(Answers(), torch.zeros(n, 28, 28, dtype=torch.uint8), labels, device="cpu")


def test_a_large_test_set_is_mapped_by_its_mistakes_and_a_random_rest_the_same_each_time():
    result = scored(100, wrong=7)
    assert np.array_equal(map_sample(result, limit=100), np.arange(100))
    chosen = map_sample(result, limit=30)
    assert len(chosen) == 30 and len(set(chosen)) == 30 and np.all(np.diff(chosen) > 0)
    assert set(range(7)) <= set(chosen)  # every mistake
    assert np.array_equal(chosen, map_sample(result, limit=30))


def test_the_map_reads_the_layer_the_layers_tab_shows_and_places_a_digit_where_it_lies(mnist):
    predictor = Predictor.load()
    images, labels = mnist.test_images[:300], mnist.test_labels[:300]
    layer, features = hidden_features(predictor.model, images, batch_size=128)
    one = predictor.layers(images[5].numpy() / 255)[-1]
    assert layer == one.name == "fc1" and features.shape == (300, 128)
    assert torch.allclose(features[5], torch.from_numpy(one.values), atol=1e-4)
    made = digit_map(predictor.model, images, np.arange(300))
    assert made.layer == "fc1" and made.points.shape == (300, 2)
    at, near = made.place(features[5])
    assert near[0] == 5 and np.allclose(at, made.points[5], atol=1e-3)
    # Many inputs at once go where each alone would.
    many, others = place_inputs(predictor.model, made, mnist.test_images[300:340])
    assert torch.equal(others, hidden_features(predictor.model, mnist.test_images[300:340])[1])
    assert many.shape == (40, 2) and np.allclose(many[17], made.place(others[17])[0], atol=1e-4)
    assert place_inputs(predictor.model, made, mnist.test_images[:0])[0].shape == (0, 2)
    # Digits of a class mostly lie among their own on the map.
    distances = np.linalg.norm(made.points[:, None] - made.points[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    assert (labels.numpy()[distances.argmin(1)] == labels.numpy()).mean() > 0.9
    assert list(made.nearest(features[5], 3))[0] == 5 and len(made.nearest(features[5], 1000)) == 300


def test_the_map_as_csv_says_where_each_digit_lies_and_what_it_was_read_as():
    result = scored(20, wrong=2)
    made = DigitMap(np.array([0, 1, 5]), np.array([[0.5, -1.0], [2.0, 3.0], [4.0, 4.0]], np.float32),
                    torch.zeros(3, 4), "fc1")
    rows = list(csv.reader(io.StringIO(made.to_csv(result, [str(d) for d in range(10)]))))
    assert rows[0] == ["test image", "x", "y", "true", "predicted", "confidence"]
    assert rows[1][:5] == ["0", "0.5000", "-1.0000", "0", "1"] and rows[3][:5] == ["5", "4.0000", "4.0000", "5", "5"]
    assert len(rows) == 4
    named = list(csv.reader(io.StringIO(made.to_csv(result, [str(d) for d in range(10)], sources=[f"f{i}.png" for i in range(20)]))))
    assert named[2][0] == "f1.png"
