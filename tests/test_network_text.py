"""Networks written as text: parsed, checked line by line, built, written back, saved and loaded."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from engine.checkpoint import CheckpointError, load_checkpoint, make_metadata, save_checkpoint
from engine.compare import PRESETS, parse_vary, plan, preset_base
from engine.config import TrainConfig
from engine.models import CUSTOM, ZOO, build_model, summarize
from engine.network_text import NetworkTextError, multiply_adds, parameters, parse, shapes, to_text


@pytest.mark.parametrize("name", list(ZOO))
@pytest.mark.parametrize("batch_norm", [None, True, False])
def test_every_zoo_network_written_as_text_builds_the_same_network(name, batch_norm):
    torch.manual_seed(0)
    zoo = build_model(name, batch_norm=batch_norm).eval()
    written = build_model(CUSTOM, layers=to_text(zoo.layers())).eval()
    assert {k: v.shape for k, v in written.state_dict().items()} == {k: v.shape for k, v in zoo.state_dict().items()}
    written.load_state_dict(zoo.state_dict())  # same names too, so a zoo model's weights fit its text
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(written(x), zoo(x))
    assert parameters(zoo.layers()) == sum(p.numel() for p in zoo.parameters())
    with FlopCounterMode(display=False) as counter:
        zoo(torch.zeros(1, 1, 28, 28))
    assert multiply_adds(zoo.layers()) == counter.get_total_flops() // 2


def test_the_text_is_what_a_learner_would_write():
    assert to_text(build_model("lenet5").layers()).splitlines() == [
        "conv 6 5x5 pad 2 sigmoid", "avgpool 2", "conv 16 5x5 sigmoid", "avgpool 2", "dense 120 sigmoid", "dense 84 sigmoid"]
    # Commas, semicolons, comments, spacing, case and "=" are all read; the output layer is added.
    net = build_model(CUSTOM, layers="CONV 8 3×3 pad=1 BN; maxpool 2  # halves it\n\n  dense 32, dropout 0.25")
    assert net.layers() == parse("conv 8 3x3 pad 1 bn\nmaxpool 2\ndense 32\ndropout 0.25")
    assert [name for name, _ in net.classifier.named_children()] == ["flatten", "fc1", "act", "dropout", "fc2"]
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    # No dense layer at all: the maps go straight to the output layer, a dropout after the last pool before it.
    net = build_model(CUSTOM, layers="conv 8 3x3, avgpool 2, dropout 0.3")
    assert [name for name, _ in net.classifier.named_children()] == ["flatten", "dropout", "fc1"]
    assert net.what_each_reads() == {"fc1": "conv1's maps, average-pooled 2×2"}


def test_shapes_parameters_and_work_agree_with_the_built_network():
    layers = parse("conv 6 5x5 stride 2 pad 2, conv 10 3x3 bn sigmoid, avgpool 3, dense 20 bn tanh, dense 12")
    net = build_model(CUSTOM, layers=to_text(layers)).eval()
    with FlopCounterMode(display=False) as counter:  # torch's own count: two operations a multiply-add
        net(torch.zeros(1, 1, 28, 28))
    assert multiply_adds(layers) == counter.get_total_flops() // 2
    assert [str(s) for s in shapes(layers)] == ["6×14×14", "10×12×12", "10×4×4", "20", "12"]
    made = {r.name: r.output_shape for r in summarize(net)}
    assert made["features.conv1.act"] == (6, 14, 14) and made["features.pool1"] == (10, 4, 4)
    assert made["classifier.fc1"] == (20,) and made["classifier.fc3"] == (10,)
    assert parameters(layers) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("text, message", [
    ("", "no layers written"),
    ("conv 8 3x3\nrelu", "line 2 (relu): 'relu' is not a layer"),
    ("conv 8", "layer 1 (conv 8): conv needs its kernel"),
    ("conv eight 3x3", "filters should be a whole number"),
    ("conv 8 3x5", "kernels here are square"),
    ("conv 8 3x3 pad 3", "padding of 3 is as wide as the 3×3 kernel"),
    ("conv 8 3x3 stride", "stride needs a number"),
    ("conv 8 3x3 elu", "'elu' is not an option of conv (it takes pad, stride, bn, relu, sigmoid or tanh)"),
    ("conv 8 3x3 relu sigmoid", "one activation per layer"),
    ("conv 2000 3x3", "filters should be 1 to 1024"),
    ("conv 8 3x3, dropout 1.5", "dropout takes the share"),
    ("conv 8 3x3, dropout 0.3, conv 8 3x3", "layer 2 (dropout 0.3): dropout here works on dense units"),
    ("conv 8 3x3, dense 10, conv 8 3x3", "layer 3 (conv 8 3x3): comes after a dense layer"),  # on one line: by place
    ("conv 8 3x3\n\n# a comment\nmaxpool 2, maxpool 2, conv 8 7x7", "line 4 (conv 8 7x7): the maps are 6×6 here"),
    ("conv 8 9x9\nmaxpool 4\nconv 8 7x7", "line 3 (conv 8 7x7): the maps are 5×5 here, smaller than the 7×7 kernel"),
    ("conv 8 3x3\nmaxpool 2\nmaxpool 2\nmaxpool 2\nmaxpool 2\nmaxpool 2", "line 6 (maxpool 2): the maps are 1×1"),
    ("conv 1024 3x3 pad 1, dense 1024", "parameters; this app builds networks of at most"),
    (", ".join(["conv 4 1x1"] * 33), "33 layers"),
])
def test_a_network_that_cannot_be_built_says_where_and_why(text, message):
    with pytest.raises(NetworkTextError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_model(CUSTOM, layers=text)


def test_a_network_without_conv_layers_is_a_perceptron_whose_units_are_pictures(tmp_path):
    from engine.filters import patches_for, unit_pictures
    from engine.replay import KernelRecorder

    net = build_model(CUSTOM, layers="dense 32, dropout 0.1, dense 16")
    assert net.conv_blocks() == [] and net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    name, pictures = unit_pictures(net)
    assert name == "fc1" and pictures.shape == (32, 28, 28)
    torch.testing.assert_close(torch.from_numpy(pictures).reshape(32, -1), net.classifier.fc1.weight.detach())
    assert unit_pictures(build_model(CUSTOM, layers="maxpool 2, dense 8"))[1].shape == (8, 14, 14)  # pooled pixels
    assert unit_pictures(build_model("seed000")) is None  # its kernels say what it looks for
    assert patches_for(net, "mnist") == []  # no filters: no patches, and no pass over the test set
    recorder = KernelRecorder()
    recorder.record(0, 0.0, ())  # what a run of it records: no kernels
    recorder.save(tmp_path / "kernels.npz")
    assert not (tmp_path / "kernels.npz").exists()  # no replay, rather than one that cannot be read


def test_the_config_checks_the_layers_and_keeps_them_to_custom_networks():
    config = TrainConfig(model=CUSTOM, layers="conv 8 3x3, dense 16")
    assert config.validate().model_kwargs == {"layers": "conv 8 3x3, dense 16"}
    assert TrainConfig().model_kwargs == {}  # a zoo network's checkpoint is as before
    with pytest.raises(ValueError, match="layers: no layers written"):
        TrainConfig(model=CUSTOM).validate()
    with pytest.raises(ValueError, match="choose model custom"):
        TrainConfig(layers="conv 8 3x3").validate()  # never ignored without a word
    # A comparison of a written network against a zoo one: the zoo run leaves the text behind.
    runs = plan(config, parse_vary(["model=custom,seed000"]))
    assert [(r.config.model, r.config.layers) for r in runs] == [(CUSTOM, "conv 8 3x3, dense 16"), ("seed000", "")]
    # The preset that sets a perceptron against convolutions: two written networks, labelled by their lines.
    runs = plan(preset_base("convolutions"), PRESETS["convolutions"].variations)
    assert [r.label for r in runs] == ["layers=dense 128", "layers=conv 8 5x5 pad 2, maxpool 2, conv 16 5x5 pad 2, maxpool 2, dense 64"]
    assert [len(build_model(CUSTOM, **r.config.model_kwargs).conv_blocks()) for r in runs] == [0, 2]
    # Networks themselves can be compared, their lines split by | where other values are by commas.
    runs = plan(TrainConfig(), parse_vary(["layers=conv 8 3x3, dense 16 | conv 8 5x5, maxpool 2"]))
    assert [(r.config.model, r.config.layers) for r in runs] == [(CUSTOM, "conv 8 3x3, dense 16"),
                                                                 (CUSTOM, "conv 8 5x5, maxpool 2")]
    # One network is one value, not a run per layer, and it can be varied against another option.
    runs = plan(TrainConfig(), parse_vary(["layers=conv 8 3x3, dense 16", "init=xavier,he"]))
    assert [(r.config.layers, r.config.init) for r in runs] == [("conv 8 3x3, dense 16", "xavier"),
                                                                ("conv 8 3x3, dense 16", "he")]


def test_a_written_network_is_saved_and_loaded_safely(tmp_path):
    config = TrainConfig(model=CUSTOM, layers="conv 6 5x5 stride 2 bn, avgpool 2, dense 24 sigmoid, dropout 0.1")
    net = build_model(CUSTOM, **config.model_kwargs).eval()
    metadata = make_metadata(CUSTOM, config.to_dict(), "mnist", [str(d) for d in range(10)],
                             model_kwargs=config.model_kwargs)
    path = tmp_path / "mine.pt"
    save_checkpoint(path, net, metadata)
    loaded = load_checkpoint(path)  # weights_only: the layers travel as a plain string
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(loaded.model(x), net(x))
    assert loaded.model.layers() == net.layers() and loaded.model_name == CUSTOM

    def tampered(layers) -> CheckpointError:
        changed = dict(metadata, model={"name": CUSTOM, "kwargs": {"layers": layers}})
        save_checkpoint(tmp_path / "bad.pt", net, changed)
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(tmp_path / "bad.pt")
        return caught.value

    assert "unknown architecture options" in str(tampered(7))
    assert "layer 1 (conv 6 29x29)" in str(tampered("conv 6 29x29"))
    assert "do not fit the custom architecture" in str(tampered("conv 6 5x5 stride 2 bn, avgpool 2, dense 25"))


def test_replaced_configs_carry_layers_only_with_custom():
    config = TrainConfig(model=CUSTOM, layers="conv 8 3x3")
    assert config.with_options({"lr": 0.01}).layers == "conv 8 3x3"
    assert config.with_options({"model": "digitnet"}).validate().layers == ""
    written = TrainConfig().with_options({"layers": "conv 4 3x3"}).validate()  # varied from a zoo network's options
    assert (written.model, written.layers) == (CUSTOM, "conv 4 3x3")
