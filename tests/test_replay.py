"""Kernels replayed over training: the record, its bound, the file and the GIF."""

import numpy as np
import pytest
from PIL import Image

from engine.replay import KernelRecorder, load_replay, save_gif


def kernels(step: int):
    return [np.full((4, 1, 3, 3), step, np.float32), np.full((8, 4, 3, 3), -step, np.float32)]


def test_record_is_bounded_and_keeps_the_whole_run_evenly(tmp_path):
    recorder = KernelRecorder(every=10, limit=8)
    for step in range(0, 1001):
        if recorder.due(step):
            recorder.record(step, step / 100, kernels(step))
    steps = recorder.replay.steps
    assert len(steps) <= 8 and steps[0] == 0 and steps[-1] == 960
    assert len(set(np.diff(steps))) == 1  # evenly spaced
    recorder.save(tmp_path / "kernels.npz")
    replay = load_replay(tmp_path / "kernels.npz")
    assert replay.steps == steps and replay.epochs == pytest.approx([s / 100 for s in steps])
    assert [k.shape for k in replay.layers[-1]] == [(4, 1, 3, 3), (8, 4, 3, 3)]
    assert replay.layers[-1][1].max() == -960


def test_an_epoch_end_on_a_regular_snapshot_is_kept_once():
    recorder = KernelRecorder(every=5)
    recorder.record(5, 0.5, kernels(5))
    recorder.record(5, 1.0, kernels(6))
    assert recorder.replay.steps == [5] and recorder.replay.layers[0][0].max() == 6


def test_the_last_stage_is_marked_kept_in_the_file_and_dropped_when_resumed_before_it(tmp_path):
    recorder = KernelRecorder(every=10)
    for step in (0, 10, 20):
        recorder.record(step, step / 20, kernels(step))
    recorder.begin_last_stage(20)
    recorder.record(30, 1.0, kernels(30))
    recorder.save(tmp_path / "kernels.npz")
    replay = load_replay(tmp_path / "kernels.npz")
    assert replay.last_stage_from == 20 and [replay.in_last_stage(i) for i in range(4)] == [False, False, False, True]
    resumed = KernelRecorder(every=10)
    resumed.resume(tmp_path / "kernels.npz", 30)  # a finished run resumed: its stage stays marked
    assert resumed.replay.last_stage_from == 20
    resumed.resume(tmp_path / "kernels.npz", 10)  # resumed at an earlier epoch: the stage is to come again
    assert resumed.replay.last_stage_from is None and resumed.replay.steps == [0, 10]


def test_missing_and_damaged_replays_say_so(tmp_path):
    with pytest.raises(ValueError, match="no kernel replay"):
        load_replay(tmp_path / "kernels.npz")
    (tmp_path / "kernels.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="damaged"):
        load_replay(tmp_path / "kernels.npz")
    np.savez(tmp_path / "short.npz", steps=np.arange(3), epochs=np.zeros(3), conv1=np.zeros((2, 4, 1, 3, 3)))
    with pytest.raises(ValueError, match="disagree"):
        load_replay(tmp_path / "short.npz")


def test_gif_has_a_frame_per_snapshot(tmp_path):
    recorder = KernelRecorder(every=1)
    for step in range(5):
        recorder.record(step, step, [np.random.default_rng(step).normal(size=(16, 1, 3, 3)),
                                     np.random.default_rng(step).normal(size=(32, 16, 3, 3))])
    save_gif(recorder.replay, tmp_path / "replay.gif")
    with Image.open(tmp_path / "replay.gif") as gif:
        assert gif.n_frames == 5 and gif.is_animated
