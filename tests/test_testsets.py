"""Digits the user brings to Evaluate: a folder of pictures sorted by digit, or a UNIPEN pen file, read
as the app reads its kind of input."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_pen_file
from engine import paths, pendigits
from engine.datasets import DatasetError
from engine.evaluate import evaluate_on
from engine.pendigits import draw_for_testing, parse_unipen
from engine.predict import Predictor
from engine.preprocess import prepare_image, read_image
from engine.testsets import load_test_set
from test_cli import main


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def test_a_folder_of_pictures_is_read_as_open_reads_a_file(your_pictures):
    data = load_test_set(your_pictures)
    files = sorted(your_pictures.glob("[0-9]/[0-9m]*.png"), key=lambda f: (f.parent.name, f.name))
    assert data.name == "class-3b" and len(data.test_labels) == len(files) == 41 and len(data.train_labels) == 0
    assert data.test_labels.tolist() == [int(f.parent.name) for f in files]
    assert data.test_sources == tuple(map(str, files))  # each digit says which file it is
    first = np.round(prepare_image(read_image(files[0])).pixels * 255).astype(np.uint8)
    np.testing.assert_array_equal(data.test_images[0].numpy(), first)  # the one route from a file
    # The file that is not a picture and the blank one are left out, each named with why; the stray
    # text file and the folder that is not a digit are not test digits.
    assert len(data.skipped) == 2
    assert any("broken.png" in s and "not a readable image" in s for s in data.skipped)
    assert any("blank.png" in s and "no ink" in s for s in data.skipped)


def test_a_pen_file_of_other_writers_is_drawn_as_the_held_out_writers_are(tmp_path):
    path = tiny_pen_file(tmp_path / "more-writers.txt.gz", per_writer=5)
    data = load_test_set(path)
    digits = parse_unipen(path)
    assert len(data.test_labels) == len(digits) == 25  # every writer in it, training writers too
    assert data.test_labels.tolist() == [d.label for d in digits]
    assert data.test_sources[0] == f"more-writers.txt.gz, writer {digits[0].writer}, digit 1"
    np.testing.assert_array_equal(data.test_images.numpy(), draw_for_testing(digits).images)


def test_a_pen_file_is_drawn_once_then_read_from_the_cache(tmp_path, monkeypatch):
    path = tiny_pen_file(tmp_path / "more-writers.txt", per_writer=3)
    first = load_test_set(path).test_images.numpy()
    (cached,) = (paths.cache_dir()).glob("pentest-*.npz")
    with monkeypatch.context() as patch:
        patch.setattr(pendigits, "draw_for_testing", lambda *a, **k: pytest.fail("drawn again"))
        np.testing.assert_array_equal(load_test_set(path).test_images.numpy(), first)
    cached.write_bytes(b"damaged")  # drawn again, and the cache mended
    np.testing.assert_array_equal(load_test_set(path).test_images.numpy(), first)
    assert np.load(cached)["images"].shape == first.shape
    assert len(list(paths.cache_dir().glob("pentest-*.npz"))) == 1
    load_test_set(tiny_pen_file(tmp_path / "other-writers.txt", per_writer=2))  # a file of other content
    assert len(list(paths.cache_dir().glob("pentest-*.npz"))) == 2


def test_the_shipped_model_reads_a_writers_pictures_as_it_reads_their_pen_digits(predictor, your_pictures):
    data, result = evaluate_on(predictor, Path(your_pictures))
    assert result.confusion.sum() == 41 and result.accuracy >= 0.95


def _put(path: Path, content: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "nowhere", "no such file or folder"),
    (lambda tmp: _put(tmp / "unsorted" / "a.png").parent, "subfolders named 0 to 9"),
    (lambda tmp: _put(tmp / "bad" / "7" / "a.png", b"x").parent.parent, "none of its 1 pictures could be read"),
    (lambda tmp: _put(tmp / "empty.txt", b".INCLUDE dene.doc\n"), "no digits found"),
    (lambda tmp: _put(tmp / "photo.png", b"\x89PNG"), "not a readable UNIPEN"),
])
def test_what_cannot_be_a_test_set_is_one_clear_message(tmp_path, make, words):
    with pytest.raises(DatasetError, match=words):
        load_test_set(make(tmp_path))


def test_evaluate_files_from_the_command_line(your_pictures):
    out = main("evaluate", "--files", your_pictures, "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["dataset"] == "class-3b" and report["samples"] == 41 and len(report["skipped"]) == 2
    wrong = 41 - sum(report["confusion"][d][d] for d in range(10))
    assert wrong >= 1 and len(report["mistakes"]) == wrong  # the 7 filed under 2 at least
    for mistake in report["mistakes"]:  # each names its file, whose folder is its true digit
        assert Path(mistake["source"]).parent.name == mistake["true"] != mistake["predicted"]
    out = main("evaluate", "--files", your_pictures)
    assert out.returncode == 0 and out.stdout.startswith("class-3b: 41 digits, accuracy")
    assert "2 files left out" in out.stderr and "broken.png" in out.stderr
    out = main("evaluate", "--files", your_pictures / "notes")
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "subfolders named 0 to 9" in out.stderr
    assert main("evaluate", "--files", your_pictures, "--dataset", "pen").returncode == 2  # one or the other


def test_a_pen_file_is_scored_writer_by_writer(predictor, tmp_path):
    path = tiny_pen_file(tmp_path / "five-writers.txt", per_writer=5)
    digits = parse_unipen(path)
    data, result = evaluate_on(predictor, path)
    assert data.test_groups.tolist() == [d.writer for d in digits]
    rows = result.per_writer()
    assert [w for w, _, _ in rows] == sorted({d.writer for d in digits}) and all(n == 5 for _, n, _ in rows)
    for writer, _, accuracy in rows:
        theirs = data.test_groups.numpy() == writer
        assert accuracy == pytest.approx((result.predictions[theirs] == result.labels[theirs]).mean())
    lines = result.to_csv(data.class_names).splitlines()
    assert lines[-6] == "writer,samples,accuracy" and lines[-5] == f"{rows[0][0]},5,{rows[0][2]:.6f}"
    out = main("evaluate", "--files", path, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["per_writer_accuracy"] == {str(w): a for w, _, a in rows}
    out = main("evaluate", "--files", path)
    assert f"writer {rows[-1][0]:>4}: {rows[-1][2] * 100:6.2f} % of 5" in out.stdout


def test_a_picture_of_a_number_in_a_folder_of_digits_is_left_out_and_named(tmp_path):
    from PIL import Image

    from engine.strokes import Stroke, render_strokes

    pen = 0.06
    one, seven = [(0.1, 0.3), (0.16, 0.2), (0.16, 0.8)], [(0.55, 0.2), (0.85, 0.2), (0.7, 0.8)]
    (tmp_path / "7").mkdir()
    Image.fromarray(render_strokes([Stroke(np.array(seven, float), pen)])).save(tmp_path / "7" / "seven.png")
    Image.fromarray(render_strokes([Stroke(np.array(p, float), pen) for p in (one, seven)])).save(tmp_path / "7" / "17.png")
    data = load_test_set(tmp_path)
    assert data.test_sources == (str(tmp_path / "7" / "seven.png"),)  # its label is one digit's: not a number squeezed
    assert data.skipped == (f"{tmp_path / '7' / '17.png'}: 2 digits side by side, not one (crop it to one digit)",)
