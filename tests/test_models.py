import pytest
import torch

from engine.models import ZOO, ConvBlock, build_model, format_summary, summarize


@pytest.mark.parametrize("name", list(ZOO))
def test_every_model_maps_digits_to_ten_logits_and_summarises(name):
    model = build_model(name).eval()
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    rows = summarize(model)
    assert rows[-1].output_shape == (10,)
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
    text = format_summary(model)
    assert f"Total params: {sum(p.numel() for p in model.parameters()):,}" in text and "Output shape" in text


@pytest.mark.parametrize("name", [*ZOO, "conv 6 5x5 stride 2 pad 2 bn, avgpool 3, conv 4 2x2 stride 2, dense 20 bn, dropout 0.1",
                                  "maxpool 2, dense 16"])
def test_the_summary_worked_out_from_the_settings_is_what_a_forward_pass_makes(name):
    model = (build_model(name) if name in ZOO else build_model("custom", layers=name)).eval()
    made = []  # every leaf layer's output shape, as an input run through the network makes it
    hooks = [module.register_forward_hook(lambda mod, _i, out, n=n: made.append((n, type(mod).__name__, tuple(out.shape[1:]))))
             for n, module in model.named_modules() if next(module.children(), None) is None]
    model(torch.zeros(1, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    rows = summarize(model)
    assert [(r.name, r.kind, r.output_shape) for r in rows] == made
    with torch.device("meta"):  # no weights in memory: the same summary
        empty = build_model(name) if name in ZOO else build_model("custom", layers=name)
    assert summarize(empty) == rows


@pytest.mark.parametrize("name", list(ZOO))
def test_trace_gives_every_layer_in_order_in_the_same_pass(name):
    model = build_model(name).eval()
    blocks = model.conv_blocks()
    assert len(blocks) >= 1 and all(isinstance(b, ConvBlock) for b in blocks)
    x = torch.rand(1, 1, 28, 28)
    logits, traced = model.trace(x)
    assert torch.allclose(logits, model(x))
    convs, dense = traced[:len(blocks)], traced[len(blocks):]
    assert [t.outputs.shape[1] for t in convs] == [b.conv.out_channels for b in blocks]
    assert torch.equal(convs[0].inputs, x)
    for before, after, block in zip(convs, convs[1:], blocks[1:]):  # each block reads what came before it
        assert after.inputs.shape[1] == block.conv.in_channels == before.outputs.shape[1]
    linears = [m for m in model.classifier if isinstance(m, torch.nn.Linear)]
    assert [t.outputs.shape[1] for t in dense] == [m.out_features for m in linears[:-1]]  # hidden ones
    assert [t.inputs.shape[1] for t in dense] == [m.in_features for m in linears[:-1]]  # what each read
    assert blocks[0].conv.in_channels == 1


def test_seed_models_match_their_tutorials():
    # Keras' summary in seed 001 prints 93,322 parameters; seed 003's net has 4 and 8 5×5 filters.
    assert sum(p.numel() for p in build_model("seed001").parameters()) == 93_322
    convs = [b.conv for b in build_model("seed003").conv_blocks()]
    assert [(c.out_channels, c.kernel_size, c.padding) for c in convs] == [(4, (5, 5), (2, 2)), (8, (5, 5), (2, 2))]
    assert isinstance(build_model("lenet5").conv_blocks()[0].act, torch.nn.Sigmoid)


def test_init_schemes_change_weights_reproducibly():
    torch.manual_seed(0)
    he = build_model("seed003", "he").conv_blocks()[0].conv.weight
    torch.manual_seed(0)
    xavier = build_model("seed003", "xavier").conv_blocks()[0].conv.weight
    assert not torch.allclose(he, xavier)
    assert he.std() > xavier.std()  # He's gain √2 vs Xavier's fan-average


def test_unknown_model_and_init():
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        build_model("resnet")
    with pytest.raises(ValueError, match="unknown init"):
        build_model("seed000", "orthogonal")


@pytest.mark.parametrize("name", ["lenet5", "digitnet"])
def test_one_activation_for_every_layer_keeps_the_weights(name):
    own = build_model(name)
    for activation, kind in (("relu", torch.nn.ReLU), ("tanh", torch.nn.Tanh), ("sigmoid", torch.nn.Sigmoid)):
        switched = build_model(name, activation=activation)
        acts = [m for m in switched.modules() if isinstance(m, (torch.nn.ReLU, torch.nn.Tanh, torch.nn.Sigmoid))]
        assert len(acts) == len([m for m in own.modules() if type(m) in (torch.nn.ReLU, torch.nn.Sigmoid)]) > 0
        assert all(isinstance(m, kind) for m in acts), activation
        assert {k: v.shape for k, v in switched.state_dict().items()} == {k: v.shape for k, v in own.state_dict().items()}
        assert [layer.activation for layer in switched.layers() if layer.kind in ("conv", "dense")] == \
            [activation] * sum(layer.kind in ("conv", "dense") for layer in own.layers())
    switched = build_model(name, activation="tanh").eval()
    switched.load_state_dict(own.state_dict())
    x = torch.rand(2, 1, 28, 28)
    assert not torch.allclose(switched(x), own.eval()(x))  # the same weights, read through another curve
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        build_model(name, activation="elu")


def test_the_activation_option_reaches_the_network_and_is_left_out_when_its_own():
    from engine.config import TrainConfig

    assert "activation" not in TrainConfig().model_kwargs
    config = TrainConfig(model="lenet5", activation="relu").validate()
    assert config.model_kwargs == {"activation": "relu"}
    assert isinstance(build_model(config.model, **config.model_kwargs).conv_blocks()[0].act, torch.nn.ReLU)
    with pytest.raises(ValueError, match="activation: 'elu' is not one of model, relu, sigmoid, tanh"):
        TrainConfig(activation="elu").validate()
