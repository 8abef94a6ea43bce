"""A number's digits told apart, and single digits of every awkward kind left whole."""

import numpy as np
import pytest

from engine.predict import Predictor, as_number
from engine.preprocess import INK_LEVEL, ink_map, prepare_digits
from engine.segment import digit_spans
from engine.strokes import Stroke, render_strokes

PEN = 0.06  # the canvas's default pen, as a share of its side


def drawn(*strokes) -> np.ndarray:
    return render_strokes([Stroke(np.array(points, float), PEN) for points in strokes])


def spans(picture: np.ndarray) -> list[tuple[int, int]]:
    return digit_spans(ink_map(picture.astype(np.float32) / 255) > INK_LEVEL)


SINGLE_DIGITS = {
    "a 5 whose flag stands apart, to the right": drawn([(0.35, 0.2), (0.32, 0.48), (0.6, 0.5), (0.62, 0.75), (0.3, 0.8)],
                                                       [(0.5, 0.18), (0.75, 0.17)]),
    "a 4 whose upright misses its bar": drawn([(0.4, 0.15), (0.3, 0.55), (0.55, 0.55)], [(0.62, 0.3), (0.62, 0.85)]),
    "a 7 crossed by a stroke of its own": drawn([(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)], [(0.4, 0.5), (0.65, 0.5)]),
    "a 0 drawn in two arcs": drawn([(0.5, 0.15), (0.3, 0.5), (0.5, 0.85)], [(0.52, 0.15), (0.7, 0.5), (0.52, 0.85)]),
}


@pytest.mark.parametrize("name", SINGLE_DIGITS)
def test_a_single_digit_of_separate_strokes_stays_whole(name):
    assert spans(SINGLE_DIGITS[name]) == [(0, 280)]


def test_a_speck_far_from_the_digit_is_left_out():
    one = [(0.45, 0.25), (0.55, 0.15), (0.55, 0.85)]
    (start, end), = spans(drawn(one, [(0.8, 0.6), (0.8, 0.6)]))  # a speck of dirt beside a 1
    assert start == 0 and 0.58 * 280 < end < 0.77 * 280  # the 1's span stops short of the speck
    predictor = Predictor.load()
    with_speck, alone = predictor.read(drawn(one, [(0.8, 0.6), (0.8, 0.6)])), predictor.read(drawn(one))
    assert len(with_speck) == 1 and np.array_equal(with_speck[0].pixels, alone[0].pixels)


def test_the_first_stroke_of_the_next_digit_does_not_change_the_answer_for_the_digit_before():
    """Read as it is drawn: a short stroke begun to the right of a 7 is no part of the 7, and no digit yet."""
    predictor, seven = Predictor.load(), [(0.1, 0.2), (0.4, 0.2), (0.25, 0.8)]
    alone = predictor.read(drawn(seven))
    for length in (0.0, 0.05, 0.1, 0.15):  # a 1's stroke, down from its top, as it grows
        read = predictor.read(drawn(seven, [(0.65, 0.2), (0.65, 0.2 + length)]))
        assert len(read) == 1 and np.array_equal(read[0].pixels, alone[0].pixels)
    read = predictor.read(drawn(seven, [(0.65, 0.2), (0.65, 0.45)]))  # now over a third as tall as the 7: a digit of its own
    assert len(read) == 2 and np.array_equal(read[0].pixels, alone[0].pixels)


def test_a_digit_written_much_smaller_than_its_neighbour_is_a_digit_of_its_own():
    angles = np.linspace(0, 2 * np.pi, 24)
    small_zero = list(zip(0.65 + 0.06 * np.sin(angles), 0.68 - 0.12 * np.cos(angles)))  # under half the 7's height
    read = Predictor.load().read(drawn([(0.1, 0.2), (0.4, 0.2), (0.25, 0.8)], small_zero))
    assert as_number(read) == "70"


def test_a_number_is_cut_between_its_digits_and_small_pieces_go_with_the_nearest():
    one, seven = [(0.1, 0.3), (0.16, 0.2), (0.16, 0.8)], [(0.55, 0.2), (0.85, 0.2), (0.7, 0.8)]
    cut = spans(drawn(one, seven))
    assert len(cut) == 2 and cut[0][0] == 0 and cut[1][1] == 280 and 0.16 * 280 < cut[0][1] < 0.55 * 280
    with_point = spans(drawn(one, [(0.3, 0.78), (0.3, 0.78)], seven))  # "1.7": the point is no digit
    assert len(with_point) == 2 and with_point[0][1] > 0.3 * 280  # it went with the 1, the nearer
    assert spans(np.full((50, 80), 255, np.uint8)) == [(0, 80)]  # nothing drawn: one span, no digit


def test_numbers_of_mnist_digits_are_read_digit_by_digit(mnist):
    predictor, rng = Predictor.load(), np.random.default_rng(0)
    read = []
    for _ in range(40):
        picks = rng.integers(0, 2000, size=rng.integers(2, 5))
        picture = np.concatenate([255 - mnist.test_images[i].numpy() for i in picks], axis=1)  # dark on light
        truth = "".join(str(int(mnist.test_labels[i])) for i in picks)
        digits = predictor.read(picture)
        read.append(as_number(digits) == truth)
        if len(digits) == len(picks):
            frames = [d.frame for d in digits]
            assert all(a[0] < b[0] for a, b in zip(frames, frames[1:]))  # each on its own digit, left to right
    assert np.mean(read) >= 0.9
    assert len(prepare_digits(255 - mnist.test_images[0].numpy())) == 1


def test_a_model_of_other_classes_reads_a_picture_whole(tmp_path):
    from engine.checkpoint import save_checkpoint
    from engine.datasets import REGISTRY

    shipped = Predictor.load()
    save_checkpoint(tmp_path / "fashion.pt", shipped.model, shipped.metadata | {"class_names": list(REGISTRY["fashion-mnist"].class_names)})
    trousers = drawn([(0.3, 0.15), (0.3, 0.85)], [(0.7, 0.15), (0.7, 0.85)])  # two legs with paper between them
    assert len(Predictor.load(tmp_path / "fashion.pt").read(trousers)) == 1 and len(shipped.read(trousers)) == 2
