
import pytest
import torch

from engine.checkpoint import (CheckpointError, describe, load_checkpoint, make_metadata, model_title,
                               save_checkpoint)
from engine.evaluate import evaluate
from engine.models import build_model
from engine.paths import default_model_path


def _save(path, name="seed003", **metrics):
    torch.manual_seed(1)
    model = build_model(name)
    save_checkpoint(path, model, make_metadata(name, {"epochs": 1}, "mnist", [str(d) for d in range(10)], metrics))
    return model


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    model = _save(tmp_path / "m.pt", test_accuracy=0.9)
    loaded = load_checkpoint(tmp_path / "m.pt")
    x = torch.rand(4, 1, 28, 28)
    assert torch.allclose(model.eval()(x), loaded.model(x))
    meta = loaded.metadata
    assert meta["model"]["name"] == "seed003" and meta["dataset"] == "mnist" and meta["class_names"][3] == "3"
    assert meta["metrics"]["test_accuracy"] == 0.9 and meta["config"] == {"epochs": 1}
    assert {"torch", "python", "digit_studio"} <= set(meta["versions"]) and meta["created"]
    assert loaded.training_state is None and not loaded.model.training


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="file not found"):
        load_checkpoint(tmp_path / "none.pt")


@pytest.mark.parametrize("content", [b"", b"hello, not a model", bytes(range(256)) * 10])
def test_garbage_is_reported_as_corrupt(tmp_path, content):
    (tmp_path / "g.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match="g.pt: (corrupt or )?not a checkpoint"):
        load_checkpoint(tmp_path / "g.pt")


def test_truncated_checkpoint(tmp_path):
    _save(tmp_path / "t.pt")
    data = (tmp_path / "t.pt").read_bytes()
    (tmp_path / "t.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or not a checkpoint"):
        load_checkpoint(tmp_path / "t.pt")


def test_foreign_pytorch_file(tmp_path):
    torch.save(build_model("seed003").state_dict(), tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a Digit Studio checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


class Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_code_is_refused_without_running_it(tmp_path, capsys):
    torch.save({"format": "digit-studio-checkpoint", "payload": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(tmp_path / "evil.pt")
    assert "must never run" not in capsys.readouterr().out


@pytest.mark.parametrize("claimed,message", [
    ("digitnet", "do not fit the digitnet architecture"),  # seed003 weights claiming to be digitnet
    ("resnet152", "unknown architecture 'resnet152'"),
])
def test_architecture_mismatch(tmp_path, claimed, message):
    _save(tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["metadata"]["model"]["name"] = claimed
    torch.save(payload, tmp_path / "lie.pt")
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "lie.pt")


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    model = _save(tmp_path / "m.pt")
    before = (tmp_path / "m.pt").read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        open(f, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "m.pt", model, {})
    assert (tmp_path / "m.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_shipped_model_is_small_and_accurate(mnist):
    assert default_model_path().stat().st_size <= 2 * 1024 * 1024
    checkpoint = load_checkpoint(default_model_path())
    assert checkpoint.metadata["dataset"] == "mnist+pen" and checkpoint.metadata["calibration"]["temperature"] > 0
    assert checkpoint.test_accuracy >= 0.995 and checkpoint.metadata["metrics"]["pen_test_accuracy"] >= 0.985
    sample = slice(0, 10000, 5)  # the metadata's figure is not taken on trust: 2,000 test digits, evaluated
    assert evaluate(checkpoint.model, mnist.test_images[sample], mnist.test_labels[sample]).accuracy >= 0.99
    assert checkpoint.training_state is None  # shipped without optimiser state


def test_an_activation_switched_network_is_kept_and_a_damaged_one_refused(tmp_path):
    torch.manual_seed(1)
    model = build_model("lenet5", activation="relu").eval()
    metadata = make_metadata("lenet5", {"activation": "relu"}, "mnist", [str(d) for d in range(10)],
                             model_kwargs={"activation": "relu"})
    save_checkpoint(tmp_path / "relu.pt", model, metadata)
    loaded = load_checkpoint(tmp_path / "relu.pt")
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(loaded.model(x), model(x))
    assert isinstance(loaded.model.conv_blocks()[0].act, torch.nn.ReLU)
    assert describe(loaded.metadata).startswith("lenet5 (relu) on mnist")  # as the status bar names it
    assert model_title({"model": {"name": "digitnet", "kwargs": {"activation": "tanh", "batch_norm": False}}}) == \
        "digitnet (tanh, no batch norm)"
    assert model_title({}, "seed000") == "seed000"
    payload = torch.load(tmp_path / "relu.pt", weights_only=True)
    payload["metadata"]["model"]["kwargs"]["activation"] = "swish"
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="damaged: architecture options .*unknown activation 'swish'"):
        load_checkpoint(tmp_path / "bad.pt")
