"""Why this digit: the attribution's shape, sign, completeness and faithfulness on real digits, and
where it lands on the picture."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from conftest import mnist_digit_as_drawing
from engine.explain import PATCH, PATCH_STRIDE, deletion_drops, integrated_gradients, occlusion, one_hot, overlay_picture
from engine.pendigits import TEST_WRITERS, draw, parse_unipen
from engine.datasets import pen_file
from engine.predict import Predictor
from engine.preprocess import prepare_image


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


@pytest.fixture(scope="module")
def real_drawings():
    """Pen digits of two writers no shipped model trained on, drawn as on the canvas."""
    digits = [d for d in parse_unipen(pen_file()) if d.writer in TEST_WRITERS[:2]]
    return [(draw(d, None, 18.0), d.label) for d in digits[::8]]


def test_attribution_has_the_input_shape_and_lies_on_the_ink(predictor, mnist):
    prediction = predictor.predict(mnist_digit_as_drawing(mnist.test_images[0]))
    explanation = predictor.explain(prediction)
    assert explanation.saliency.shape == (28, 28)
    assert np.all(explanation.saliency[prediction.pixels == 0] == 0)  # no ink, no attribution
    assert explanation.digit == prediction.digit and explanation.versus is None


def test_attributions_add_up_to_the_logit_gained_from_a_blank_input(predictor, mnist):
    for i in range(5):
        pixels = prepare_image(mnist_digit_as_drawing(mnist.test_images[i])).pixels
        label = int(mnist.test_labels[i])
        with torch.no_grad():
            logits = predictor.model(torch.tensor(np.stack([pixels, np.zeros_like(pixels)])).unsqueeze(1))
        gained = float(logits[0, label] - logits[1, label])
        # The path integral is a midpoint sum whose error shrinks as the steps grow (the app's 32 are
        # within ~7 % on average on the shipped model, a few digits 15-18 %), so completeness is checked
        # at 256, where every one of the first 20 MNIST digits drawn this way is within 2 %.
        total = integrated_gradients(predictor.model, pixels, one_hot(label, 10), steps=256)[0].sum()
        assert gained > 0 and total > 0  # drawing the digit is evidence for it
        assert abs(total - gained) < 0.05 * gained


def test_the_contrast_is_the_answer_minus_the_runner_up(predictor, mnist):
    prediction = predictor.predict(mnist_digit_as_drawing(mnist.test_images[3]))
    answer, runner_up = integrated_gradients(predictor.model, prediction.pixels,
                                             np.stack([one_hot(prediction.digit, 10), one_hot(prediction.runner_up, 10)]))
    contrast = predictor.explain(prediction, versus=prediction.runner_up)
    assert contrast.versus == prediction.runner_up
    np.testing.assert_allclose(contrast.saliency, answer - runner_up, atol=1e-4)


def test_covering_a_patch_takes_away_what_the_network_read_there():
    """On a network whose score is a weighted sum of the pixels, erasing a patch takes away exactly the sum of
    its ink times its weights: each pixel's share is checked against a loop over the patches."""
    torch.manual_seed(0)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 3)).eval()
    pixels = np.zeros((28, 28), np.float32)
    pixels[6:22, 12:15] = np.linspace(0.4, 1.0, 16)[:, None]  # a bar, brighter downwards
    weights = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    maps = occlusion(linear, pixels, weights)
    per_pixel = (weights @ linear[1].weight.detach().numpy()).reshape(2, 28, 28) * pixels  # each pixel's part of the score
    falls, counts = np.zeros((2, 28, 28)), np.zeros((28, 28))
    starts = range(-(PATCH // 2), 28 - PATCH // 2, PATCH_STRIDE)
    for top in starts:
        for left in starts:
            rows, cols = slice(max(0, top), top + PATCH), slice(max(0, left), left + PATCH)
            falls[:, rows, cols] += per_pixel[:, rows, cols].sum((1, 2))[:, None, None]
            counts[rows, cols] += 1
    assert counts.min() >= 1  # every pixel is covered by some patch
    np.testing.assert_allclose(maps, falls / counts * pixels, atol=1e-4)
    assert np.all(maps[:, pixels == 0] == 0) and np.abs(maps).max() > 0  # no ink, no share


def test_the_map_made_by_covering_parts_is_the_contrast_asked_for(predictor, mnist):
    prediction = predictor.predict(mnist_digit_as_drawing(mnist.test_images[3]))
    covered = predictor.explain(prediction, prediction.runner_up, "occlusion")
    assert covered.method == "occlusion" and covered.versus == prediction.runner_up
    answer, runner_up = occlusion(predictor.model, prediction.pixels,
                                  np.stack([one_hot(prediction.digit, 10), one_hot(prediction.runner_up, 10)]))
    np.testing.assert_allclose(covered.saliency, answer - runner_up, atol=1e-4)
    assert covered.saliency.max() > 0  # some stroke holds up the answer's lead


@pytest.mark.parametrize("method", ["gradients", "occlusion"])
def test_erasing_the_most_attributed_ink_hurts_twice_as_much_as_erasing_random_ink(predictor, real_drawings, method):
    top, random = [], []
    for drawing, _label in real_drawings:
        prediction = predictor.predict(drawing)
        saliency = predictor.explain(prediction, method=method).saliency
        drops = deletion_drops(predictor.probabilities, prediction.pixels, saliency, prediction.digit)
        top.append(drops[0])
        random.append(drops[1])
    assert len(top) >= 20
    assert np.mean(top) >= 2 * np.mean(random) > 0


def test_the_frame_maps_the_network_input_back_onto_the_picture():
    for width in (18, 2):  # a normal pen, and one so fine that preprocessing thickens the strokes
        picture = Image.new("L", (400, 280), 255)
        ImageDraw.Draw(picture).line([(150, 50), (230, 60), (170, 230)], fill=0, width=width)
        prepared = prepare_image(picture)
        x, y, w, h = prepared.frame
        margin = 300  # the frame may reach past the picture's edges
        ink = np.pad(1 - np.asarray(picture, np.float32) / 255, margin)
        box = (x + margin, y + margin, x + w + margin, y + h + margin)
        resampled = np.asarray(Image.fromarray(ink, mode="F").resize((28, 28), Image.Resampling.BOX, box=box))
        assert np.allclose(_centre_of_mass(resampled), _centre_of_mass(prepared.pixels), atol=0.5)


def _centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(a.shape)
    return float((ys * a).sum() / a.sum()), float((xs * a).sum() / a.sum())


def test_overlay_is_red_toward_the_answer_and_blue_against():
    pixels = np.zeros((28, 28), np.float32)
    saliency = np.zeros((28, 28), np.float32)
    saliency[5, 5], saliency[20, 20] = 1.0, -1.0
    picture = np.asarray(overlay_picture(pixels, saliency, scale=2))
    assert picture.shape == (56, 56, 3)
    red, blue = picture[10, 10], picture[40, 40]
    assert red[0] > red[2] and blue[2] > blue[0]
    assert picture[0, 0].tolist() == [0, 0, 0]
