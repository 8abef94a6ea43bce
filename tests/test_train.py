"""Real (short) training runs on MNIST subsets."""

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import subset

from engine.checkpoint import load_checkpoint
from engine.config import TrainConfig
from engine.evaluate import evaluate, predict_logits
from engine.events import (BatchEnd, BatchShown, EpochEnd, Failed, Finished, KernelSnapshot, LayerStats, ModelSnapshot,
                           Started, Watched)
from engine.replay import load_replay
from engine.runs import read_metrics, read_summary
from engine.train import Trainer, reading_copy, watched_indices

FAST = dict(model="digitnet", epochs=2, batch_size=64, val_fraction=0.1, device="cpu")


def run(config, dataset, tmp_path, **kwargs):
    events = []
    trainer = Trainer(config, events.append, dataset=dataset, run_dir=tmp_path / "run", **kwargs)
    return trainer, trainer.run(), events


def test_short_run_learns_and_reports_events(small_mnist, tmp_path):
    trainer, final, events = run(TrainConfig(**FAST), small_mnist, tmp_path, kernel_every=20, watch_every=20,
                                 model_every=40)
    assert isinstance(final, Finished) and not final.stopped and final.epochs_done == 2
    assert final.test_accuracy > 0.90  # 3,600 training images, two epochs
    assert isinstance(events[0], Started) and events[0].train_size == 3600 and events[0].val_size == 400
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2] and epochs[-1].val_accuracy > 0.85
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert len(batches) == 2 * (3600 // 64) and all(b.loss > 0 and b.images_per_sec > 0 for b in batches)
    # The time left counts the whole run, not the epoch: at the end of epoch 1 about as much is left as went by.
    end_of_first = batches[len(batches) // 2 - 1]
    assert batches[-1].seconds_left == 0 and end_of_first.seconds_left > 0.5 * epochs[0].elapsed
    rates = [b.lr for b in batches]  # one cycle: up to the peak in the first sixteenth of an epoch, then down
    assert max(rates) == pytest.approx(TrainConfig().lr, rel=0.01) and rates.index(max(rates)) < 8
    assert rates[-1] < 0.01 * max(rates)
    assert [r["lr"] for r in read_metrics(trainer.run_dir) if r["kind"] == "batch"] == rates  # kept with the run
    snapshots = [e for e in events if isinstance(e, KernelSnapshot)]
    assert snapshots and snapshots[0].kernels[0].shape == (16, 1, 3, 3)
    assert not (snapshots[0].kernels[0] == snapshots[-1].kernels[0]).all()  # kernels moved
    saved = load_checkpoint(final.checkpoint)
    assert saved.metadata["metrics"]["test_accuracy"] == pytest.approx(final.test_accuracy)
    assert saved.metadata["config"]["epochs"] == 2 and len(saved.metadata["history"]) == 2
    assert events[-1] is final
    # The watched validation digits: 4 of each class, answered before the first step, every 20 steps
    # and by the finished model (112 steps in all).
    watched = [e for e in events if isinstance(e, Watched)]
    assert [e.step for e in watched] == [0, 20, 40, 60, 80, 100, 112]
    first, last = watched[0], watched[-1]
    assert first.labels == tuple(np.repeat(np.arange(10), 4)) and first.source.startswith("the validation split")
    val = set(trainer._val_idx.tolist())
    shown = [next(i for i in val if torch.equal(small_mnist.train_images[i], torch.from_numpy(image))) for image in first.images]
    assert len(set(shown)) == 40  # validation images, none twice
    finished = predict_logits(saved.model, torch.from_numpy(last.images)).softmax(1).numpy()
    np.testing.assert_allclose(last.probabilities, finished, atol=1e-5)  # the answers of the model delivered
    right = [int((e.probabilities.argmax(1) == np.array(e.labels)).sum()) for e in (first, last)]
    assert right[1] >= 36 and right[1] > right[0]
    # Copies of the model as it stood (for the Layers tab): on the CPU, for reading, and the model whose
    # answers the watched digits got at that step.
    copies = [e for e in events if isinstance(e, ModelSnapshot)]
    assert [e.step for e in copies] == [40, 80] and copies[0].name == "digitnet" and copies[0].class_names == small_mnist.class_names
    model = copies[0].model
    assert model is not trainer.model and not model.training and not any(p.requires_grad for p in model.parameters())
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    at_40 = next(e for e in watched if e.step == 40)
    np.testing.assert_allclose(predict_logits(model, torch.from_numpy(at_40.images)).softmax(1).numpy(), at_40.probabilities, atol=1e-5)
    assert not torch.equal(model.conv_blocks()[0].conv.weight, copies[1].model.conv_blocks()[0].conv.weight)


@pytest.mark.parametrize("augment", [False, True])
def test_batches_are_shown_as_the_network_is_given_them(small_mnist, tmp_path, augment):
    config = TrainConfig(**dict(FAST, epochs=1, augment=augment))
    trainer, final, events = run(config, small_mnist, tmp_path, batch_every=1)
    shown = [e for e in events if isinstance(e, BatchShown)]
    assert [e.step for e in shown] == list(range(1, 57)) and isinstance(final, Finished)  # 56 batches
    first = shown[19]
    assert first.images.shape == (40, 28, 28) and first.images.dtype == np.uint8 and first.batch_size == 64
    assert first.kinds == ("MNIST",) * 40 and first.counts == (64, 0, 0, 0) and first.augmented == augment
    assert first.epoch == pytest.approx(20 / 56) and not first.last_stage
    # The twentieth batch of the epoch's order, its first 40 images: as stored, or each changed by augmentation.
    order = trainer._epoch_order(torch.Generator().manual_seed(config.seed * 100_003 + 1))
    idx = order[19 * 64: 19 * 64 + 40]
    assert first.labels == tuple(small_mnist.train_labels[idx].tolist())
    assert np.array_equal(first.stored, small_mnist.train_images[idx].numpy())
    same = [np.array_equal(image, stored) for image, stored in zip(first.images, first.stored)]
    assert all(same) if not augment else not any(same)
    # What the network read them as, in that step: near chance at first, most of them once it has learned.
    right = [sum(a == b for a, b in zip(e.answers, e.labels)) for e in shown]
    assert right[0] < 12 and np.mean(right[-10:]) > 30


def test_a_perceptron_sends_its_units_as_pictures_while_it_trains(small_mnist, tmp_path):
    config = TrainConfig(**dict(FAST, model="custom", layers="dense 12", epochs=1, scan_epochs=0))
    trainer, final, events = run(config, small_mnist, tmp_path, kernel_every=20)
    snapshots = [e for e in events if isinstance(e, KernelSnapshot)]
    assert snapshots and all(s.kernels == () and s.units[0] == "fc1" for s in snapshots)
    first, last = snapshots[0].units[1], snapshots[-1].units[1]
    assert first.shape == (12, 28, 28) and not np.allclose(first, last)  # copies as they were, not the live weights
    np.testing.assert_allclose(last.reshape(12, -1), trainer._net.classifier.fc1.weight.detach().numpy(), atol=0.05)


def test_a_reading_copy_leaves_the_training_model_its_hooks_and_gradients():
    from engine.layer_stats import LayerProbe
    from engine.models import build_model

    net = build_model("digitnet").train()
    probe = LayerProbe(net, every=1)  # the layer statistics watch the net itself when there is no weight average
    x = torch.rand(4, 1, 28, 28)
    net(x).sum().backward()
    reading = reading_copy(net)
    net.eval()  # batch norm's running statistics stay as copied
    probe.arm()
    reading(x)
    assert not probe._outputs  # the copy's forward passes are not the run's statistics…
    net(x)
    assert probe._outputs  # …the net's still are
    assert not reading.training and all(p.grad is None and not p.requires_grad for p in reading.parameters())
    assert all(p.grad is not None for p in net.parameters())
    torch.testing.assert_close(reading(x), net(x))


def test_watched_digits_are_taken_class_by_class_unseen_writers_first():
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 2, 0])
    preferred = torch.tensor([False, False, True, False, False, True, False, False])
    picked = watched_indices(labels, 3, preferred, per_class=2)
    assert labels[picked].tolist() == [0, 0, 1, 1, 2]  # a class with fewer gives what it has
    assert picked[0] == 2 and picked[2] == 5  # each class's preferred sample first
    assert sorted(watched_indices(labels, 3, per_class=4).tolist()) == list(range(8))


@pytest.mark.parametrize("model,optimizer,lr,schedule,n_train", [
    ("seed003", "momentum", 0.05, "onecycle", 4000), ("seed000", "sgd", 0.05, "onecycle", 4000),
    ("seed001", "adagrad", 0.02, "onecycle", 4000),
    ("lenet5", "adam", 3e-3, "constant", 12000),  # sigmoids start slowly: it needs more steps
])
def test_seed_models_and_optimizers_learn(mnist, tmp_path, model, optimizer, lr, schedule, n_train):
    config = TrainConfig(model=model, optimizer=optimizer, lr=lr, schedule=schedule, epochs=1, batch_size=64,
                         augment=False, val_fraction=0.0, device="cpu", ema=False)
    _, final, _ = run(config, subset(mnist, n_train, 1000), tmp_path)
    assert isinstance(final, Finished) and final.test_accuracy > 0.6  # chance is 0.1


def test_same_seed_same_result(small_mnist, tmp_path):
    config = TrainConfig(**{**FAST, "epochs": 1})
    a, _, _ = run(config, small_mnist, tmp_path / "a")
    b, _, _ = run(config, small_mnist, tmp_path / "b")
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)


def test_a_run_stopped_before_its_first_step_leaves_no_folder_in_the_runs_list(small_mnist):
    from engine.runs import list_runs

    untrained = Trainer(TrainConfig(**FAST), dataset=small_mnist)  # in the runs folder, as the app starts one
    untrained.stop()  # as a Stop while its data is still loading
    final = untrained.run()
    assert final.checkpoint is None and not untrained.run_dir.exists()
    trained = Trainer(TrainConfig(**FAST, train_subset=200), dataset=small_mnist)
    assert trained.run().checkpoint and [run.folder for run in list_runs()] == [trained.run_dir]


def test_a_new_run_in_a_folder_that_held_one_keeps_only_its_own_record(small_mnist, tmp_path):
    config = TrainConfig(**{**FAST, "epochs": 1, "train_subset": 200})
    first = Trainer(config, dataset=small_mnist, run_dir=tmp_path / "run")
    first.run()
    before = {path.name: path.read_bytes() for path in (tmp_path / "run").iterdir()}
    assert {"run.json", "metrics.jsonl", "model.pt", "last.pt", "kernels.npz"} <= set(before)
    stopped = Trainer(TrainConfig(**{**FAST, "epochs": 3}), dataset=small_mnist, run_dir=tmp_path / "run")
    stopped.stop()  # as Ctrl+C before its first step
    stopped.run()
    assert {path.name: path.read_bytes() for path in (tmp_path / "run").iterdir()} == before  # the first run's, untouched
    Trainer(config, dataset=small_mnist, run_dir=tmp_path / "run").run()
    rows = read_metrics(tmp_path / "run")
    assert [r["epoch"] for r in rows if r["kind"] == "epoch"] == [1]  # not the first run's curves and then its own
    steps = [r["step"] for r in rows if r["kind"] == "batch"]
    assert steps == sorted(set(steps))


def test_stop_then_resume_matches_an_uninterrupted_run(small_mnist, tmp_path):
    config = TrainConfig(**{**FAST, "epochs": 3, "augment": False})
    straight, _, _ = run(config, small_mnist, tmp_path / "straight")

    stopper = {}

    def stop_in_epoch_two(event):
        if isinstance(event, BatchEnd) and event.epoch == 2 and event.batch == 10:
            stopper["trainer"].stop()

    trainer = Trainer(config, stop_in_epoch_two, dataset=small_mnist, run_dir=tmp_path / "split")
    stopper["trainer"] = trainer
    stopped = trainer.run()
    assert isinstance(stopped, Finished) and stopped.stopped and stopped.epochs_done == 1
    assert load_checkpoint(stopped.checkpoint).metadata["metrics"]["stopped"] is True
    last = tmp_path / "split" / "last.pt"
    assert load_checkpoint(last).training_state["epoch"] == 1

    started = read_summary(tmp_path / "split").record["started"]
    assert read_summary(tmp_path / "split").resumable
    resumed = Trainer(config, dataset=small_mnist, run_dir=tmp_path / "split", resume_from=last)
    final = resumed.run()
    assert read_summary(tmp_path / "split").record["started"] == started  # one run, begun once
    assert isinstance(final, Finished) and final.epochs_done == 3 and not final.stopped
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    rows = read_metrics(tmp_path / "split")
    assert [r["epoch"] for r in rows if r["kind"] == "epoch"] == [1, 2, 3]  # one curve…
    steps = [r["step"] for r in rows if r["kind"] == "batch"]
    assert steps == list(range(1, 3 * 56 + 1))  # …whose batches after the checkpoint are not there twice
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.allclose(p, q, atol=1e-5)
    # The kernel replay carries on across the resume as if the run had never stopped.
    whole, pieced = load_replay(tmp_path / "straight" / "run" / "kernels.npz"), load_replay(tmp_path / "split" / "kernels.npz")
    assert whole.steps == pieced.steps == [0, 56, 112, 168] and whole.epochs == [0, 1, 2, 3]
    for a, b in zip(whole.layers, pieced.layers):
        assert all(np.allclose(x, y, atol=1e-3) for x, y in zip(a, b))


def test_pause_blocks_training_until_resumed(small_mnist, tmp_path):
    config = TrainConfig(**{**FAST, "epochs": 1})
    seen = []
    trainer = Trainer(config, seen.append, dataset=small_mnist, run_dir=tmp_path / "r")
    paused = threading.Event()

    def on_event(event):
        seen.append(event)
        if isinstance(event, BatchEnd) and event.batch == 5:
            trainer.pause()
            paused.set()

    trainer.on_event = on_event
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert paused.wait(30)
    count = len(seen)
    worker.join(0.5)
    assert worker.is_alive() and trainer.paused and len(seen) == count  # nothing happened while paused
    trainer.resume()
    worker.join(60)
    assert isinstance(seen[-1], Finished) and not seen[-1].stopped


def test_diverging_run_stops_with_a_clear_message(small_mnist, tmp_path):
    # Nesterov momentum at lr 10 blows seed 001's weights up to NaN within two epochs.
    config = TrainConfig(model="seed001", optimizer="momentum", lr=10.0, schedule="constant", epochs=3,
                         batch_size=64, augment=False, ema=False, device="cpu")
    _, final, events = run(config, small_mnist, tmp_path)
    assert isinstance(final, Failed) and final.kind == "diverged"
    assert "diverged" in final.message and "lower learning rate" in final.message
    assert not any(isinstance(e, Finished) for e in events)


def test_layer_statistics_every_few_steps(small_mnist, tmp_path):
    config = TrainConfig(**{**FAST, "epochs": 1})
    trainer, final, events = run(config, small_mnist, tmp_path, stats_every=10)
    stats = [e for e in events if isinstance(e, LayerStats)]
    assert [s.step for s in stats] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 50]
    first = stats[0]
    assert first.names == ("conv1", "conv2", "conv3", "conv4", "conv5", "fc1", "fc2")
    counts, edges = first.activations[0]
    assert counts.sum() == 64 * 16 * 28 * 28 and edges[0] >= 0  # a whole batch of conv1 maps, after ReLU
    assert first.activations[-1][0].sum() == 64 * 10  # the logits
    grad_counts, grad_edges = first.gradients[0]
    assert grad_counts.sum() == 16 * 9 and grad_edges[0] == pytest.approx(-grad_edges[-1])
    assert all(n > 0 and np.isfinite(n) for n in first.gradient_norms)
    assert not trainer._net._forward_hooks and not trainer._net.conv_blocks()[0]._forward_hooks  # hooks removed


def test_checkpoint_every_epoch(small_mnist, tmp_path):
    config = TrainConfig(**{**FAST, "checkpoint_every": 1})
    _, final, events = run(config, small_mnist, tmp_path)
    epoch_ends = [e for e in events if isinstance(e, EpochEnd)]
    assert epoch_ends[0].checkpoint == str(tmp_path / "run" / "last.pt")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["kernels.npz", "last.pt", "metrics.jsonl",
                                                               "model.pt", "run.json"]  # no temp files


def test_missing_cuda_is_a_clear_failure(small_mnist, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _, final, _ = run(TrainConfig(**{**FAST, "device": "cuda"}), small_mnist, tmp_path)
    assert isinstance(final, Failed) and final.kind == "device" and "no CUDA GPU" in final.message


def test_bad_config_is_rejected_with_the_field_name():
    with pytest.raises(ValueError, match="optimizer: 'rmsprop' is not one of"):
        TrainConfig(optimizer="rmsprop").validate()
    with pytest.raises(ValueError, match="lr: 0.0 is outside"):
        TrainConfig(lr=0.0).validate()


def test_evaluation_counts(small_mnist):
    from engine.models import build_model

    result = evaluate(build_model("seed000"), small_mnist.test_images[:100], small_mnist.test_labels[:100])
    assert result.confusion.sum() == 100 and result.confusion.shape == (10, 10)
    assert result.accuracy == pytest.approx(result.confusion.trace() / 100)
    assert len(result.misclassified()) == 100 - result.confusion.trace()


def test_evaluation_reports_each_batch_and_stops_where_its_progress_raises(small_mnist):
    from engine.models import build_model

    model, images, labels = build_model("seed000"), small_mnist.test_images[:600], small_mnist.test_labels[:600]
    heard = []
    evaluate(model, images, labels, progress=lambda *report: heard.append(report))
    assert heard == [("reading the test images", done, 600, "images") for done in (256, 512, 600)]

    def stop_at_once(*_report):
        raise KeyboardInterrupt  # as the app's stop does, from within the work

    model.train()
    with pytest.raises(KeyboardInterrupt):
        evaluate(model, images, labels, progress=stop_at_once)
    assert model.training  # back in the mode it was in


def test_deferred_loss_readback_as_on_a_gpu(small_mnist, tmp_path):
    """On CUDA the loss is read back every 20 batches; the same path, run here on the CPU."""
    _, final, events = run(TrainConfig(**{**FAST, "epochs": 1}), small_mnist, tmp_path, sync_every=7)
    batches = [e for e in events if isinstance(e, BatchEnd)]
    per_epoch = 3600 // 64
    assert [b.batch for b in batches] == list(range(7, per_epoch + 1, 7)) + ([per_epoch] if per_epoch % 7 else [])
    assert isinstance(final, Finished) and final.test_accuracy > 0.8


def test_deferred_readback_still_catches_divergence(small_mnist, tmp_path):
    config = TrainConfig(model="seed001", optimizer="momentum", lr=10.0, schedule="constant", epochs=3,
                         batch_size=64, augment=False, ema=False, device="cpu")
    _, final, _ = run(config, small_mnist, tmp_path, sync_every=20)
    assert isinstance(final, Failed) and final.kind == "diverged"


def test_bf16_autocast_path_trains(small_mnist, tmp_path):
    """The mixed-precision path used on CUDA (bf16 autocast), exercised on the CPU."""
    _, final, _ = run(TrainConfig(**{**FAST, "epochs": 1, "precision": "bf16"}), small_mnist, tmp_path)
    assert isinstance(final, Finished) and final.test_accuracy > 0.8


def test_resuming_from_a_checkpoint_without_training_state_fails_clearly(small_mnist, tmp_path):
    _, first, _ = run(TrainConfig(**{**FAST, "epochs": 1}), small_mnist, tmp_path / "a")
    _, final, _ = run(TrainConfig(**{**FAST, "epochs": 2}), small_mnist, tmp_path / "b", resume_from=first.checkpoint)
    assert isinstance(final, Failed) and final.kind == "checkpoint" and "without training state" in final.message
    last = Path(first.checkpoint).parent / "last.pt"
    last.write_bytes(last.read_bytes()[:5000])  # cut short, as a full disk or a killed copy leaves it
    _, final, _ = run(TrainConfig(**{**FAST, "epochs": 2}), small_mnist, tmp_path / "c", resume_from=last)
    assert isinstance(final, Failed) and final.kind == "checkpoint"
    assert final.message.startswith("last.pt: corrupt") and f"the run in {last.parent} cannot be continued" in final.message
    assert "in its model.pt" in final.message
