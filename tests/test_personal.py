"""The personal dataset and fine-tuning on the user's own handwriting."""

import re

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.personal import PersonalDataError, PersonalSamples, held_out_split, personalise
from engine.predict import Predictor
from engine.strokes import Stroke, render_strokes


def _stroke(rng, points, size=280):
    """One jittered stroke with a random pen width, dark on light."""
    img = Image.new("L", (size, size), 255)
    jittered = [(size * (x + rng.normal(0, 0.02)), size * (y + rng.normal(0, 0.02))) for x, y in points]
    ImageDraw.Draw(img).line(jittered, fill=0, width=int(rng.uniform(12, 20)), joint="curve")
    return np.asarray(img)


def long_flag_one(rng):
    """A 1 whose up-stroke is as long as the digit is wide: one person's quirk, which even the model
    trained on pen digits reads as 7 (a plain European 1 it reads correctly)."""
    return _stroke(rng, [(0.05, 0.3), (0.6, 0.1), (0.6, 0.9)])


def plain_seven(rng):
    return _stroke(rng, [(0.2, 0.15), (0.8, 0.15), (0.45, 0.9)])


@pytest.fixture
def store(tmp_path):
    return PersonalSamples(tmp_path / "personal")


def test_samples_are_saved_and_survive_a_restart(store, tmp_path):
    rng = np.random.default_rng(0)
    a = store.add(long_flag_one(rng), 1)
    store.add(plain_seven(rng), 7)
    again = PersonalSamples(tmp_path / "personal")
    assert [(s.id, s.label) for s in again.samples()] == [(a.id, 1), (again.samples()[1].id, 7)]
    assert again.counts()[1] == 1 and again.counts()[7] == 1
    images, labels, _ = again.tensors()
    assert images.shape == (2, 28, 28) and images.dtype == torch.uint8 and labels.tolist() == [1, 7]
    assert again.image(again.samples()[0]).shape == (280, 280)


def test_a_sample_teaches_the_digit_as_it_was_read_without_a_speck_far_from_it(store):
    from engine.preprocess import prepare_image

    seven = plain_seven(np.random.default_rng(2))
    specked = seven.copy()
    specked[200:206, 262:268] = 0  # a speck of ink by the canvas's edge
    store.add(specked, 7)
    taught = store.tensors().images[0].numpy()
    read = Predictor.load().read(specked)
    assert len(read) == 1 and np.array_equal(taught, np.round(read[0].pixels * 255).astype(np.uint8))
    assert np.array_equal(taught, np.round(prepare_image(seven).pixels * 255).astype(np.uint8))


def test_relabel_remove_and_clear(store, tmp_path):
    rng = np.random.default_rng(1)
    first = store.add(plain_seven(rng), 1)  # wrong labels, corrected below
    second = store.add(plain_seven(rng), 7)
    third = store.add(plain_seven(rng), 2)
    store.relabel([first.id, third.id], 7)
    assert [s.label for s in PersonalSamples(tmp_path / "personal").samples()] == [7, 7, 7]
    store.remove([second.id, third.id])
    assert not second.path.exists() and not third.path.exists()
    assert [s.id for s in PersonalSamples(tmp_path / "personal").samples()] == [first.id]
    store.clear()
    assert len(PersonalSamples(tmp_path / "personal")) == 0 and not first.path.exists()


def test_two_programs_sharing_the_samples_never_write_over_each_others(tmp_path):
    """Two windows of the app, or the personalise command while the app is open, each keep a copy
    of the samples: a change by one must not put back its older copy over the other's samples."""
    rng = np.random.default_rng(6)
    app, command = PersonalSamples(tmp_path / "personal"), PersonalSamples(tmp_path / "personal")
    mine = app.add(plain_seven(rng), 7)
    imported = command.add(long_flag_one(rng), 1)  # its copy was read before the app kept anything
    assert {s.id for s in PersonalSamples(tmp_path / "personal").samples()} == {mine.id, imported.id}
    assert [s.id for s in command.samples()] == [mine.id, imported.id]
    assert app.reload() and [s.id for s in app.samples()] == [mine.id, imported.id] and not app.reload()
    third = command.add(plain_seven(rng), 7)
    app.relabel([mine.id], 1)  # changes one sample, keeps the third it has not seen yet
    assert [(s.id, s.label) for s in PersonalSamples(tmp_path / "personal").samples()] == [
        (mine.id, 1), (imported.id, 1), (third.id, 7)]
    fourth = command.add(plain_seven(rng), 7)
    app.clear()  # the samples it showed go; the one kept since by the other program stays, drawing and all
    assert [s.id for s in app.samples()] == [fourth.id] and fourth.path.is_file() and not mine.path.exists()
    command.remove([fourth.id])
    assert app.reload() and len(app) == 0


def test_a_change_waits_for_another_programs_and_says_so_if_it_never_ends(store, tmp_path, monkeypatch):
    from filelock import FileLock

    import engine.personal as personal

    monkeypatch.setattr(personal, "LOCK_TIMEOUT", 0.2)
    kept = store.add(plain_seven(np.random.default_rng(7)), 7)
    with FileLock(tmp_path / "personal" / personal.LOCK):  # another program in the middle of its change
        with pytest.raises(PersonalDataError, match="another program has held .*samples.csv for over 0.2 s; nothing was changed"):
            store.add(plain_seven(np.random.default_rng(8)), 7)
        assert not store.reload()
    assert [p.name for p in (tmp_path / "personal").glob("*.png")] == [kept.path.name]  # no drawing left unnamed
    assert [s.id for s in PersonalSamples(tmp_path / "personal").samples()] == [kept.id]


def test_empty_drawings_and_bad_labels_are_refused(store):
    with pytest.raises(PersonalDataError, match="Nothing drawn"):
        store.add(np.full((280, 280), 255, np.uint8), 3)
    tap = render_strokes([Stroke(np.array([[0.5, 0.5]]), 0.065)])
    with pytest.raises(PersonalDataError, match="Only a dot"):
        store.add(tap, 3)
    with pytest.raises(PersonalDataError, match="0-9"):
        store.add(plain_seven(np.random.default_rng(0)), 12)
    assert len(store) == 0


def test_export_then_import_round_trip(store, tmp_path):
    rng = np.random.default_rng(2)
    for label in (1, 7, 1):
        store.add(long_flag_one(rng) if label == 1 else plain_seven(rng), label)
    assert store.export_csv(tmp_path / "mine.csv") == (3, ())
    lines = (tmp_path / "mine.csv").read_text().splitlines()
    assert lines[0].startswith("label,pixel0,pixel1") and len(lines[1].split(",")) == 785
    other = PersonalSamples(tmp_path / "other")
    assert other.import_csv(tmp_path / "mine.csv") == 3
    original, imported = store.tensors(), other.tensors()
    assert imported[1].tolist() == [1, 7, 1]
    assert np.abs(original[0].float().numpy() - imported[0].float().numpy()).mean() < 8  # re-preprocessed 28×28


def test_a_folder_of_pictures_sorted_by_digit_becomes_samples(store, your_pictures):
    from engine.testsets import load_test_set

    added, skipped = store.import_digits(your_pictures)
    expected = load_test_set(your_pictures)  # read as Evaluate reads the folder
    assert added == len(store) == 41 and len(skipped) == 2 and any("broken.png" in s for s in skipped)
    assert store.counts().tolist() == np.bincount(expected.test_labels.numpy(), minlength=10).tolist()
    images, labels, skipped = store.tensors()
    assert labels.tolist() == expected.test_labels.tolist() and skipped == ()
    assert np.abs(images.float().numpy() - expected.test_images.float().numpy()).mean() < 8  # re-preprocessed 28×28
    assert len(PersonalSamples(store.folder)) == 41  # the index on disk holds them


def test_malformed_csv_adds_nothing_and_names_the_row(store, tmp_path):
    (tmp_path / "bad.csv").write_text("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n" + "3," + ",".join(["0"] * 700) + "\n")
    with pytest.raises(PersonalDataError, match="bad.csv, row 2: expected a label and 784 pixels"):
        store.import_csv(tmp_path / "bad.csv")
    assert len(store) == 0


def test_held_out_split_keeps_every_digit_it_was_shown():
    one_per_digit = torch.arange(10)
    assert held_out_split(one_per_digit)[0].tolist() == list(range(10))  # none held out: each is its digit's only one
    labels = torch.tensor([1] * 11 + [7] * 4 + [3])
    train, held = held_out_split(labels)
    assert held.tolist() == [4, 9]  # the fifth and tenth 1
    assert sorted(train.tolist() + held.tolist()) == list(range(16))
    interleaved = torch.tensor([1, 7] * 5)
    assert held_out_split(interleaved)[1].tolist() == [8, 9]  # each digit's fifth, wherever it falls


def test_fine_tuning_learns_a_style_the_base_model_gets_wrong(mnist):
    rng = np.random.default_rng(3)
    base = Predictor.load()
    test_ones = [long_flag_one(rng) for _ in range(20)]
    assert sum(base.predict(d).digit == 1 for d in test_ones) <= 4  # the base model reads them as 7

    store_images, store_labels = [], []
    from engine.preprocess import prepare_image

    for k in range(25):
        drawing, label = (long_flag_one(rng), 1) if k % 5 else (plain_seven(rng), 7)
        store_images.append(np.round(prepare_image(drawing).pixels * 255).astype(np.uint8))
        store_labels.append(label)
    personal = (torch.from_numpy(np.stack(store_images)), torch.tensor(store_labels))
    ticks = []
    result = personalise(base.model, personal, mnist, steps=120, progress=lambda s, n: ticks.append((s, n)))
    assert ticks[-1] == (120, 120)
    assert result.held_out_samples == 5 and result.held_out_after >= result.held_out_before
    tuned = Predictor(result.model, "cpu", base.metadata)
    assert sum(tuned.predict(d).digit == 1 for d in test_ones) >= 16
    assert sum(tuned.predict(plain_seven(rng)).digit == 7 for _ in range(20)) >= 18  # 7s are still 7s
    assert result.mnist_after > 0.97
    assert base.predict(test_ones[0]).digit == 7  # the original model is untouched


def test_personalise_without_samples_explains(mnist):
    with pytest.raises(PersonalDataError, match="no personal samples"):
        personalise(Predictor.load().model, (torch.zeros((0, 28, 28), dtype=torch.uint8), torch.zeros(0, dtype=torch.int64)), mnist)
    one = (mnist.test_images[:1], mnist.test_labels[:1])
    with pytest.raises(PersonalDataError, match="steps must be at least 1"):
        personalise(Predictor.load().model, one, mnist, steps=0)


def test_a_model_of_other_classes_cannot_be_personalised():
    from engine.personal import rehearsal_dataset

    with pytest.raises(PersonalDataError, match="reads fashion-mnist, not digits"):
        rehearsal_dataset({"dataset": "fashion-mnist", "class_names": ["T-shirt/top", "Trouser"]})


def test_a_damaged_index_keeps_the_good_samples(store, tmp_path):
    rng = np.random.default_rng(4)
    kept = store.add(plain_seven(rng), 7)
    index = tmp_path / "personal" / "samples.csv"
    index.write_bytes(index.read_bytes() + b"\xff\xfe garbage,,\nmissing,12\n,3,\n")
    again = PersonalSamples(tmp_path / "personal")
    assert [(s.id, s.label) for s in again.samples()] == [(kept.id, 7)]
    index.write_bytes(b"\x00\x01\x02 not a csv at all")
    assert len(PersonalSamples(tmp_path / "personal")) == 0 and kept.path.is_file()


def test_a_sample_whose_file_is_damaged_is_left_out_and_named_with_what_to_do(store, tmp_path):
    rng = np.random.default_rng(5)
    kept = store.add(plain_seven(rng), 7)
    damaged = store.add(plain_seven(rng), 1)
    damaged.path.write_bytes(b"not a picture any more")
    images, labels, skipped = store.tensors()  # the others are read: one bad file stops nothing
    assert labels.tolist() == [7] and len(images) == 1
    assert len(skipped) == 1 and re.fullmatch(rf"your sample of a 1 \({damaged.id}\.png\) cannot be read: .*My samples…",
                                               skipped[0])
    assert store.export_csv(tmp_path / "mine.csv") == (1, skipped)
    damaged.path.unlink()
    with pytest.raises(PersonalDataError, match="missing or damaged"):
        store.image(damaged)
    kept.path.write_bytes(b"")
    with pytest.raises(PersonalDataError, match=r"none of your 2 samples can be read, the first: your sample of a 7"):
        store.tensors()
    store.remove([damaged.id, kept.id])
    assert len(store.tensors().labels) == 0 and store.tensors().skipped == ()
