"""The real pen digits: the UNIPEN parser, writer-grouped splits, and training on MNIST + pen."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT
from engine.datasets import MIXED, PEN, Dataset, DatasetError, grouped_kfold, grouped_split, load_dataset, pen_file
from engine.pendigits import (SCAN_SIDES, SCAN_VARIANTS, TEST_WRITERS, TRAIN_VARIANTS, WARP, PenFormatError, _as_scan, _binarised,
                              _warped, draw, parse_unipen, render_digits)

GOOD = """.INCLUDE dene.doc
.LEXICON "0" "1"
.SEGMENT DIGIT    0 ? "1"
.COMMENT 1 7  3
.PEN_DOWN
 100  400
 100  100
.PEN_UP
.DT 100
.SEGMENT DIGIT    1 ? "7"
.COMMENT 7 9  4
.PEN_DOWN
 50  400
 250  400
 120  100
.PEN_UP
.PEN_DOWN
 90  250
 200  250
.PEN_UP
"""


def write(path, text, compress=False):
    data = text.encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_parser_reads_digits_strokes_writers_and_labels(tmp_path, compress):
    digits = parse_unipen(write(tmp_path / "pen.txt", GOOD, compress))
    assert [(d.label, d.writer, len(d.strokes)) for d in digits] == [(1, 7, 1), (7, 9, 2)]
    np.testing.assert_array_equal(digits[1].strokes[0], [[50, 400], [250, 400], [120, 100]])


def test_the_bundled_file_has_thirty_writers():
    digits = parse_unipen(pen_file())
    assert len(digits) == 7494 and {d.writer for d in digits} == set(range(1, 31))
    assert np.bincount([d.label for d in digits]).min() > 700


@pytest.mark.parametrize("mangle, line, words", [
    (lambda t: t.replace(" 100  100", " 100  x"), 7, "two whole numbers"),
    (lambda t: t.replace('"7"', "seven"), 10, "digit in quotes"),
    (lambda t: t.replace(".COMMENT 7 9  4", ".COMMENT 3 9  4"), 11, ".COMMENT 7 WRITER"),
    (lambda t: t.replace(".COMMENT 1 7  3\n", ""), 3, "no .COMMENT"),
    (lambda t: t.replace(".PEN_UP\n.DT 100", ".DT 100"), 9, "not ended with .PEN_UP"),
    (lambda t: t.replace(".PEN_DOWN\n 90  250", " 90  250"), 17, "outside a .PEN_DOWN"),
    (lambda t: t + ".PEN_UP\n", 21, ".PEN_UP without"),
])
def test_malformed_files_name_file_and_line(tmp_path, mangle, line, words):
    with pytest.raises(PenFormatError, match=rf"pen\.txt, line {line}: .*{words}"):
        parse_unipen(write(tmp_path / "pen.txt", mangle(GOOD)))


def test_not_a_pen_file_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no digits found"):
        parse_unipen(write(tmp_path / "pen.txt", ".HELLO\n"))
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DatasetError, match="broken.gz: not a readable UNIPEN"):
        parse_unipen(tmp_path / "broken.gz")
    with pytest.raises(DatasetError, match="file not found"):
        parse_unipen(tmp_path / "missing.gz")


def test_rendered_digits_look_like_mnist_inputs(tmp_path):
    digits = parse_unipen(write(tmp_path / "pen.txt", GOOD))
    images = render_digits(digits, variants=3, seed=0, jitter=True)
    assert images.shape == (6, 28, 28) and images.dtype == np.uint8
    for image in images:  # ink white on black, centred like MNIST, inside the 20 px box
        rows = np.flatnonzero(image.max(1) > 50)
        assert image.max() > 200 and image[0].max() == 0 and rows[-1] - rows[0] <= 21
    assert not np.array_equal(images[0], images[1])  # variants differ (pen, jitter)


def test_the_warp_reshapes_a_digit_smoothly_and_a_little():
    t = np.linspace(0, 1, 400)[:, None]
    stroke = np.hstack([t * 100, np.sin(t * 6) * 50])  # one long stroke across a 100-unit box
    low, high = stroke.min(0), stroke.max(0)
    shifts = np.stack([_warped([stroke], low, high, np.random.default_rng(seed))[0] - stroke for seed in range(50)])
    typical = np.sqrt((shifts ** 2).mean())
    assert 0.5 * WARP * 100 < typical < 1.5 * WARP * 100  # it moves strokes by about WARP of the digit's size
    assert np.abs(np.diff(shifts, axis=1)).max() < 0.01 * 100  # neighbours move alike: still one continuous line
    ends = shifts[:, [0, -1]]
    assert np.abs(ends[:, 0] - ends[:, 1]).mean() > 0.5 * WARP * 100  # far parts move apart: the shape changes


def test_scan_variants_are_small_scans_half_binarised_never_blank(tmp_path):
    digits = parse_unipen(write(tmp_path / "pen.txt", GOOD))
    rng = np.random.default_rng(0)
    scans = [_as_scan(draw(digits[i % 2], rng, pen), rng) for i, pen in enumerate(np.linspace(3, 34, 60))]
    sides = set(range(SCAN_SIDES[0], SCAN_SIDES[1] + 1))
    binary = np.array([set(np.unique(s)) <= {0.0, 1.0} for s in scans])
    enlarged = np.array([len(s) not in sides for s in scans])
    assert all(len(s) in sides or len(s) // 4 in sides for s in scans) and len({len(s) for s in scans}) > 3
    assert 0.25 < binary.mean() < 0.75 and enlarged.any()
    assert all(s.max() > 0 for s in scans)
    # A cut that leaves faint strokes as a dot keeps the grey scan; strong strokes are cut.
    faint = np.zeros((8, 8), np.float32)
    faint[1:7, 3], faint[1, 1:6], faint[4, 3] = 0.4, 0.4, 0.9
    assert _binarised(faint, 0.6) is faint
    assert np.array_equal(_binarised(faint * 2, 0.6), faint > 0.3)
    images = render_digits(digits, variants=3, seed=0, jitter=True, scans=1)
    assert (images.max((1, 2)) > 50).all() and not np.array_equal(images[1], images[2])


def test_a_scan_that_kept_only_a_speck_trains_as_the_drawing(tmp_path, monkeypatch):
    """Prepared, a speck is empty; left so it would be a blank image labelled as a digit."""
    digits = parse_unipen(write(tmp_path / "pen.txt", GOOD))
    drawn = render_digits(digits, variants=1, seed=0, jitter=False)
    speck = np.pad(np.ones((1, 1), np.float32), 7)
    monkeypatch.setattr("engine.pendigits._as_scan", lambda drawing, rng: speck)
    assert drawn.max() > 200 and np.array_equal(render_digits(digits, variants=1, seed=0, jitter=False, scans=1), drawn)


def groups_of(writers_per_group=30, per_writer=5, loose=40):
    return torch.cat([torch.full((loose,), -1), torch.arange(1, writers_per_group + 1).repeat_interleave(per_writer)])


def test_no_writer_is_on_both_sides_of_a_split():
    groups = groups_of()
    train, val = grouped_split(groups, 0.2, seed=1)
    assert len(set(train.tolist()) | set(val.tolist())) == len(groups) and not set(train.tolist()) & set(val.tolist())
    train_writers, val_writers = set(groups[train].tolist()) - {-1}, set(groups[val].tolist()) - {-1}
    assert len(val_writers) == 6 and not train_writers & val_writers
    assert (groups[val] == -1).sum() == 8  # loose samples split by sample
    folds = grouped_kfold(groups, 4, seed=0)
    seen = set()
    for train, val in folds:
        held = set(groups[val].tolist()) - {-1}
        assert held and not held & (set(groups[train].tolist()) - {-1})
        seen |= held
    assert seen == set(range(1, 31))


def test_pen_dataset_holds_out_the_test_writers(tiny_mnist_dir):
    pen = load_dataset(PEN, tiny_mnist_dir)
    assert len(pen.test_labels) == 12 and len(pen.train_labels) == 4 * 12 * (TRAIN_VARIANTS + SCAN_VARIANTS)
    assert set(pen.train_groups.tolist()) == {1, 2, 3, 4}


def test_each_training_image_is_named_by_its_kind(tiny_mnist_dir):
    from engine.datasets import image_kinds

    names, kinds = image_kinds(load_dataset(MIXED, tiny_mnist_dir))
    assert names == ("MNIST", "pen drawing", "pen, as a scan", "small scan") and kinds.dtype == torch.uint8
    assert (kinds[:1024] == 0).all()  # MNIST's rows first, then each pen digit's drawings, its scans last
    assert kinds[1024:].tolist() == ([1] * TRAIN_VARIANTS + [2] * SCAN_VARIANTS) * 48
    names, kinds = image_kinds(load_dataset("mnist", tiny_mnist_dir))
    assert names[0] == "MNIST" and (kinds == 0).all()


def test_train_on_mnist_plus_pen_from_the_command_line(tiny_mnist_dir, tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "train", "--dataset", "mnist+pen", "--pen-share", "0.3",
         "--data-dir", str(tiny_mnist_dir), "--epochs", "2", "--batch-size", "32", "--val-fraction", "0.25",
         "--model", "seed000", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "drawing the pen digits (first use only)" in out.stderr and "48 of 48 digits" in out.stderr
    assert "unseen pen writers" in out.stderr and "pen digits of the test writers:" in out.stdout
    from engine.checkpoint import load_checkpoint

    meta = load_checkpoint(tmp_path / "run" / "model.pt").metadata
    assert meta["dataset"] == "mnist+pen" and meta["config"]["pen_share"] == 0.3
    assert 0 <= meta["metrics"]["pen_test_accuracy"] <= 1
    assert meta["history"][-1]["val_pen_accuracy"] is not None  # one of the four writers was held out
    assert meta["calibration"]["fitted_on"] == "validation split" and meta["calibration"]["samples"] > 0
    assert 0.05 <= meta["calibration"]["temperature"] <= 20
    evaluated = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "evaluate", "--model", str(tmp_path / "run" / "model.pt"),
         "--dataset", "pen", "--data-dir", str(tiny_mnist_dir), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["samples"] == 12 and list(report["per_writer_accuracy"]) == [str(TEST_WRITERS[0])]


def test_each_epoch_mixes_in_the_asked_share_of_pen_digits(small_mnist):
    from engine.config import TrainConfig
    from engine.train import Trainer

    pen_images = small_mnist.train_images[:300]
    data = Dataset(MIXED, small_mnist.class_names, torch.cat([small_mnist.train_images, pen_images]),
                   torch.cat([small_mnist.train_labels, small_mnist.train_labels[:300]]), small_mnist.test_images,
                   small_mnist.test_labels, train_groups=torch.cat([torch.full((4000,), -1), torch.arange(300) // 30]))
    # No last stage: its scans (of the bundled writers, a minute and a half to draw) are not what is tested.
    trainer = Trainer(TrainConfig(dataset=MIXED, pen_share=0.25, val_fraction=0.1, scan_epochs=0), dataset=data)
    trainer._setup()
    order = trainer._epoch_order(torch.Generator().manual_seed(0))
    is_pen = order >= 4000
    assert abs(is_pen.float().mean().item() - 0.25) < 0.01  # 300·0.9 pen digits, each seen ~5× to make up a quarter
    assert set(order[~is_pen].tolist()) == set(trainer._main_idx.tolist())  # all of MNIST, once
    assert not set(order[is_pen].tolist()) & set(trainer._val_idx.tolist())
    warm = trainer._epoch_order(torch.Generator().manual_seed(0), warming_up=True)
    assert len(warm) == len(order) and (warm < 4000).all()  # MNIST alone, as many images
    assert set(warm.tolist()) == set(trainer._main_idx.tolist())


def test_drawing_the_pen_digits_again_replaces_an_earlier_versions_cache(tmp_path):
    from conftest import tiny_pen_file
    from engine.pendigits import load_pen_split

    source = tiny_pen_file(tmp_path / "pen.gz", per_writer=3)
    load_pen_split(source, "train", tmp_path / "cache")
    (current,) = (tmp_path / "cache").glob("*.npz")
    digest = current.name.split("-")[1]
    earlier = tmp_path / "cache" / f"pendigits-{digest}-r0-v6.npz"  # both splits, as an earlier version kept them
    other_source = tmp_path / "cache" / "pendigits-0123456789ab-r0-v6.npz"
    current.rename(earlier)  # as left by a version that drew the digits differently
    other_source.write_bytes(b"another pen file's drawings")
    load_pen_split(source, "train", tmp_path / "cache")
    assert current.is_file() and not earlier.exists()
    assert other_source.is_file()  # another file's drawings are not this one's to delete
    test = load_pen_split(source, "test", tmp_path / "cache")
    assert current.is_file() and len(list((tmp_path / "cache").glob("*.npz"))) == 3  # a cache of its own
    assert set(test.writers.tolist()) == {TEST_WRITERS[0]}


def test_a_damaged_or_unwritable_cache_costs_a_redraw_and_nothing_else(tmp_path):
    from conftest import tiny_pen_file
    from engine.pendigits import load_pen_split

    source = tiny_pen_file(tmp_path / "pen.gz", per_writer=3)
    train = load_pen_split(source, "train", tmp_path / "cache")
    (cache,) = (tmp_path / "cache").glob("*.npz")
    cache.write_bytes(b"not a numpy archive")
    again = load_pen_split(source, "train", tmp_path / "cache")
    np.testing.assert_array_equal(again.images, train.images)
    assert np.load(cache)["images"].shape == train.images.shape  # rewritten whole
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    unwritable = load_pen_split(source, "train", blocked)
    np.testing.assert_array_equal(unwritable.images, train.images)


def test_reading_only_the_test_writers_draws_no_training_writer(tmp_path, monkeypatch):
    from conftest import tiny_pen_file
    from engine import datasets, pendigits

    folder = tmp_path / "data" / "pendigits"
    tiny_pen_file(folder / pendigits.FILE_NAME, per_writer=3)
    drawn = []
    real = pendigits.render_digits
    monkeypatch.setattr(pendigits, "render_digits", lambda digits, *a, **k: drawn.extend(digits) or real(digits, *a, **k))
    monkeypatch.setattr(datasets, "_pen_loaded", {})
    test_only = load_dataset(PEN, tmp_path / "data", test_only=True)
    assert {d.writer for d in drawn} == {TEST_WRITERS[0]} and len(test_only.train_labels) == 0
    whole = load_dataset(PEN, tmp_path / "data")
    assert {d.writer for d in drawn} == {1, 2, 3, 4, TEST_WRITERS[0]}
    assert len(drawn) == 5 * 3  # the test writer's drawings were kept, not drawn again
    assert whole.test_images.data_ptr() == test_only.test_images.data_ptr()


def test_small_scans_to_finish_on_are_the_training_writers_drawn_small_and_cached(tmp_path, monkeypatch):
    from conftest import tiny_pen_file
    from engine import pendigits

    source = tiny_pen_file(tmp_path / "pen.gz", per_writer=3)
    scans = pendigits.load_pen_split(source, "scans", tmp_path / "cache")
    digits = [d for d in parse_unipen(source) if d.writer not in TEST_WRITERS]
    assert len(digits) * pendigits.FINISH_SCAN_VARIANTS / 2 < len(scans.labels) <= len(digits) * pendigits.FINISH_SCAN_VARIANTS
    assert set(scans.writers.tolist()) == {d.writer for d in digits}  # no test writer
    assert {(d.writer, d.label) for d in digits} >= set(zip(scans.writers.tolist(), scans.labels.tolist()))
    assert (scans.images.max((1, 2)) > 50).all()
    # Seen small and cut, a digit keeps a few blocks: its prepared picture is blockier than the drawing's.
    drawn = pendigits.render_digits(digits, 1, seed=0, jitter=False)
    levels = lambda images: np.mean([len(np.unique(i)) for i in images])  # noqa: E731
    assert levels(scans.images) < levels(drawn)
    monkeypatch.setattr(pendigits, "draw_small_scans", lambda *a, **k: pytest.fail("drawn again"))
    again = pendigits.load_pen_split(source, "scans", tmp_path / "cache")
    assert np.array_equal(again.images, scans.images) and len(list((tmp_path / "cache").glob("*scans*"))) == 1


def _mixed_run(small_mnist, tmp_path, monkeypatch, scans, stop_at=None, batch_every=0, **config):
    """A one-epoch mnist+pen run on 300 pen digits of writers 0–9, writers 8 and 9 held out for validation,
    finishing on the given scans (or what the given loader returns), stopped at the first event of type
    ``stop_at``; the trainer and its events."""
    from engine.config import TrainConfig
    from engine.train import Trainer

    loader = scans if callable(scans) else lambda data_dir=None, progress=None: scans
    monkeypatch.setattr("engine.train.load_small_scans", loader)
    writers = torch.arange(300) // 30
    data = Dataset(MIXED, small_mnist.class_names, torch.cat([small_mnist.train_images, small_mnist.train_images[:300]]),
                   torch.cat([small_mnist.train_labels, small_mnist.train_labels[:300]]), small_mnist.test_images,
                   small_mnist.test_labels, train_groups=torch.cat([torch.full((4000,), -1), writers]))
    held = 4000 + torch.nonzero(writers >= 8).flatten()
    split = (torch.cat([torch.arange(3600), 4000 + torch.nonzero(writers < 8).flatten()]), torch.cat([torch.arange(3600, 4000), held]))
    events = []

    def hear(event):
        events.append(event)
        if stop_at and isinstance(event, stop_at):
            trainer.stop()
    config = dict(dataset=MIXED, epochs=1, batch_size=32, pen_share=0.2, scan_epochs=1.0) | config
    trainer = Trainer(TrainConfig(**config), hear, dataset=data, split=split, run_dir=tmp_path / "run",
                      evaluate_test=False, batch_every=batch_every)
    trainer.run()
    return trainer, events


def test_a_mixed_run_finishes_on_scans_of_its_training_writers_alone(small_mnist, tmp_path, monkeypatch):
    from engine.events import Finished, Finishing
    from engine.pendigits import PenSplit
    from engine.replay import load_replay
    from engine.train import Trainer

    # 40 scans of training writers, 1,000 of the two validation writers: a half batch is 16 scans.
    writers = np.concatenate([np.arange(40) % 8, 8 + np.arange(1000) % 2])
    scans = PenSplit(small_mnist.train_images[:1040].numpy(), small_mnist.train_labels[:1040].numpy(), writers)
    trainer, events = _mixed_run(small_mnist, tmp_path, monkeypatch, scans)
    finishing = [e for e in events if isinstance(e, Finishing)]
    assert finishing and finishing[-1].step == finishing[-1].steps == round(40 / 16)  # the validation writers' left out
    assert isinstance(events[-1], Finished) and not events[-1].stopped
    assert trainer.final_metadata["config"]["scan_epochs"] == 1.0
    # Resumed after it ended, a run does not finish on the scans again.
    resumed = []
    Trainer(trainer.config, resumed.append, dataset=trainer.dataset, split=trainer.split, run_dir=tmp_path / "run",
            resume_from=tmp_path / "run" / "last.pt", evaluate_test=False).run()
    assert isinstance(resumed[-1], Finished) and not any(isinstance(e, Finishing) for e in resumed)
    # …and its kernel replay still ends where the stage left the kernels.
    assert load_replay(tmp_path / "run" / "kernels.npz").steps[-1] == trainer.batches_per_epoch + finishing[-1].steps


def test_a_mixed_runs_batches_say_what_each_image_is(small_mnist, tmp_path, monkeypatch):
    from engine.events import BatchShown
    from engine.pendigits import PenSplit

    scans = PenSplit(small_mnist.train_images[:40].numpy(), small_mnist.train_labels[:40].numpy(), np.arange(40) % 8)
    trainer, events = _mixed_run(small_mnist, tmp_path, monkeypatch, scans, batch_every=1, epochs=2, pen_warmup_epochs=1)
    shown = [e for e in events if isinstance(e, BatchShown)]
    warming = [e for e in shown if e.warming_up]
    epoch = [e for e in shown if not e.last_stage and not e.warming_up]
    stage = [e for e in shown if e.last_stage]
    assert len(warming) == len(epoch) == trainer.batches_per_epoch and len(stage) == round(40 / 16)
    assert all(e.counts == (32, 0, 0, 0) and e.epoch <= 1 for e in warming)  # MNIST alone, then the pen digits join
    assert shown[0].kind_names == ("MNIST", "pen drawing", "pen, as a scan", "small scan")
    assert all(sum(e.counts) == e.batch_size == 32 and e.counts[3] == 0 for e in epoch)
    counts = np.sum([e.counts for e in epoch], axis=0)
    assert abs((counts[1] + counts[2]) / counts.sum() - 0.2) < 0.02  # the pen share asked for
    assert 0.2 < counts[2] / (counts[1] + counts[2]) < 0.45  # two drawings of each pen digit's six are scans
    # The last stage: half small scans of the training writers, as they are; the other half the run's own images.
    last = stage[-1]
    assert last.counts[3] == 16 and last.kinds == ("small scan",) * 16 + last.kinds[16:] and "small scan" not in last.kinds[16:]
    assert all(any(np.array_equal(image, scan) for scan in scans.images) for image in last.images[:16])
    assert np.array_equal(last.stored[:16], last.images[:16])  # as stored: the scans are not augmented
    assert not np.array_equal(last.stored[16:], last.images[16:])  # the run's own images are
    assert last.augmented and len(last.images) == 32


def test_the_last_stage_is_never_longer_than_the_run_before_it(small_mnist, tmp_path, monkeypatch):
    from engine.events import Finishing
    from engine.pendigits import PenSplit

    scans = PenSplit(small_mnist.train_images[:4000].numpy(), small_mnist.train_labels[:4000].numpy(), np.arange(4000) % 8)
    trainer, events = _mixed_run(small_mnist, tmp_path, monkeypatch, scans, scan_epochs=3.0, train_subset=600)
    finishing = [e for e in events if isinstance(e, Finishing)]
    assert finishing[-1].step == finishing[-1].steps == trainer.batches_per_epoch < 3 * 4000 / 16


@pytest.mark.parametrize("case", ["only validation writers", "scan_epochs 0"])
def test_no_last_stage_without_scans_of_training_writers_or_when_asked(small_mnist, tmp_path, monkeypatch, case):
    from engine.events import Finished, Finishing
    from engine.pendigits import PenSplit

    writers = 8 + np.arange(100) % 2
    scans = PenSplit(small_mnist.train_images[:100].numpy(), small_mnist.train_labels[:100].numpy(),
                     writers if case == "only validation writers" else writers - 8)
    _, events = _mixed_run(small_mnist, tmp_path, monkeypatch, scans, scan_epochs=1.0 if case != "scan_epochs 0" else 0.0)
    assert isinstance(events[-1], Finished) and not any(isinstance(e, Finishing) for e in events)


def test_stopped_in_its_last_stage_a_run_still_saves_its_model(small_mnist, tmp_path, monkeypatch):
    from engine.checkpoint import load_checkpoint
    from engine.events import Finished, Finishing
    from engine.pendigits import PenSplit

    scans = PenSplit(small_mnist.train_images[:800].numpy(), small_mnist.train_labels[:800].numpy(), np.arange(800) % 8)
    trainer, events = _mixed_run(small_mnist, tmp_path, monkeypatch, scans, stop_at=Finishing, scan_epochs=2.0)
    assert trainer.started
    finishing = [e for e in events if isinstance(e, Finishing)]
    assert finishing[-1].step < finishing[-1].steps == 100  # stopped a few steps in
    assert isinstance(events[-1], Finished) and events[-1].stopped and events[-1].checkpoint
    assert load_checkpoint(events[-1].checkpoint).metadata["metrics"]["stopped"] is True


def test_stop_while_the_scans_are_drawn_the_first_time_ends_the_run_at_once(small_mnist, tmp_path, monkeypatch):
    from engine.events import BatchEnd, Downloading, Finished

    def drawing_slowly(data_dir=None, progress=None):
        for done in range(1, 30):  # each report comes after a few seconds of drawing
            progress("drawing small scans of the pen digits (first use only)", done, 30, "digits")
        pytest.fail("the scans were still drawn after Stop")
    trainer, events = _mixed_run(small_mnist, tmp_path, monkeypatch, drawing_slowly, stop_at=Downloading)
    # The scans are drawn before the first epoch, so nothing was trained and nothing is saved.
    assert not trainer.started  # what the CLI's Ctrl+C message goes by
    assert sum(isinstance(e, Downloading) for e in events) == 1 and not any(isinstance(e, BatchEnd) for e in events)
    assert isinstance(events[-1], Finished) and events[-1].stopped and events[-1].checkpoint is None
    assert not (tmp_path / "run" / "model.pt").exists()


def test_the_eta_counts_the_last_stage_and_the_replay_ends_after_it(small_mnist, tmp_path, monkeypatch):
    from engine.events import BatchEnd, Finishing
    from engine.pendigits import PenSplit
    from engine.replay import load_replay

    scans = PenSplit(small_mnist.train_images[:800].numpy(), small_mnist.train_labels[:800].numpy(), np.arange(800) % 8)
    trainer, events = _mixed_run(small_mnist, tmp_path, monkeypatch, scans, scan_epochs=1.0)
    stage = [e for e in events if isinstance(e, Finishing)][-1].steps
    assert stage == 800 / 16
    for event in [e for e in events if isinstance(e, BatchEnd)]:
        # seconds left × images per second = the images of the steps left, the stage's included
        steps_left = event.seconds_left * event.images_per_sec / 32
        assert steps_left == pytest.approx(trainer.batches_per_epoch - event.step + stage, abs=1e-6)
    replay = load_replay(tmp_path / "run" / "kernels.npz")
    assert replay.steps[-1] == trainer.batches_per_epoch + stage and replay.epochs[-1] == 1
    assert replay.last_stage_from == trainer.batches_per_epoch and replay.in_last_stage(len(replay) - 1)
    assert np.allclose(replay.layers[-1][0], trainer.kernels()[0], atol=1e-3)  # the kernels as the stage left them


@pytest.mark.parametrize("part", ["train", "scans", "test"])
def test_the_bundled_pen_digits_drawings_ship_and_are_what_the_code_draws(part):
    """So no one waits a minute or two for them; after a change to the drawing (RENDER_VERSION), run
    packaging/draw_pen_digits.py."""
    from engine.pendigits import draw_part, file_digest, parse_unipen, split_file_name

    source = pen_file()
    shipped = source.parent / split_file_name(file_digest(source), part)[0]
    assert shipped.is_file(), f"{shipped.name} is missing: run python packaging/draw_pen_digits.py"
    digits = [d for d in parse_unipen(source) if (d.writer in TEST_WRITERS) == (part == "test")]
    fresh = draw_part(digits[:15], part)  # the first digits are drawn the same whatever follows them
    with np.load(shipped) as kept:
        np.testing.assert_array_equal(kept["images"][:len(fresh.labels)], fresh.images)
        np.testing.assert_array_equal(kept["labels"][:len(fresh.labels)], fresh.labels)
        assert kept["labels"].tolist().count(digits[0].label) > 100  # the whole part, not the first few
