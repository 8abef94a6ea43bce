"""The training configuration: one frozen dataclass that the CLI flags and the GUI form mirror."""

from dataclasses import asdict, dataclass, field, fields, replace

from engine.datasets import DATASET_NAMES
from engine.models import ACTIVATIONS, CUSTOM, DEFAULT_MODEL, INITS, ZOO, architecture
from engine.network_text import EXAMPLE, GRAMMAR, NetworkTextError, check, parse

OPTIMIZERS = ("sgd", "momentum", "adagrad", "adam", "adamw")
SCHEDULES = ("onecycle", "constant")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")
BATCH_NORM = ("model", "on", "off")
# What `search` tunes (log-uniform ranges) and how; here rather than in engine/search.py, which loads Optuna.
SEARCH_SPACE = {"lr": (1e-4, 1e-1), "weight_decay": (1e-6, 1e-1)}
SEARCH_SAMPLERS = ("tpe", "random")


def _opt(default, help_text, choices=None, minimum=None, maximum=None):
    meta = {"help": help_text, "choices": choices, "min": minimum, "max": maximum}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    model: str = _opt(DEFAULT_MODEL, f"network from the model zoo, or {CUSTOM}: one written as its layers",
                      choices=(*ZOO, CUSTOM))
    layers: str = _opt("", f"a {CUSTOM} network's layers, one a line or separated by commas (e.g. '{EXAMPLE}'): "
                           f"{GRAMMAR}")
    dataset: str = _opt("mnist+pen", "dataset to train on: mnist+pen adds real writers' pen digits", choices=DATASET_NAMES)
    pen_share: float = _opt(0.4, "share of each epoch's images that are pen digits (mnist+pen)", minimum=0.05, maximum=0.9)
    pen_warmup_epochs: int = _opt(1, "epochs of MNIST alone before the pen digits join (mnist+pen)", minimum=0, maximum=1000)
    scan_epochs: float = _opt(3.0, "passes over small binarised scans of the pen writers after the last epoch, half of "
                              "each batch (mnist+pen): tiny binarised pictures read better", minimum=0.0, maximum=100.0)
    optimizer: str = _opt("adamw", "optimiser", choices=OPTIMIZERS)
    lr: float = _opt(3e-3, "peak learning rate", minimum=1e-6, maximum=10.0)
    schedule: str = _opt("onecycle", "learning-rate schedule", choices=SCHEDULES)
    batch_size: int = _opt(128, "images per batch", minimum=1, maximum=8192)
    epochs: int = _opt(8, "passes over the training set", minimum=1, maximum=1000)
    weight_decay: float = _opt(5e-4, "L2 weight decay (decoupled for adamw)", minimum=0.0, maximum=1.0)
    init: str = _opt("default", "weight initialisation ('default' keeps the model's own)", choices=INITS)
    batch_norm: str = _opt("model", "batch normalisation after each conv ('model' keeps the model's own)",
                           choices=BATCH_NORM)
    activation: str = _opt("model", "every conv and hidden dense layer's activation ('model' keeps the model's "
                           "own: ReLU, or LeNet-5's sigmoid)", choices=("model", *ACTIVATIONS))
    dropout: float = _opt(-1.0, "dropout rate before the last layer (-1 keeps the model's own)", minimum=-1.0, maximum=0.9)
    augment: bool = _opt(True, "random affine, elastic and stroke-thickness augmentation")
    low_resolution: float = _opt(0.25, "with augment: share of images also seen at 6-16 px, as a scan gives them",
                                 minimum=0.0, maximum=1.0)
    train_subset: int = _opt(0, "train on this many training images, drawn at random (0: all)", minimum=0,
                             maximum=10_000_000)
    val_fraction: float = _opt(1 / 12, "share of the training set held out for validation", minimum=0.0, maximum=0.5)
    seed: int = _opt(0, "random seed (split, initialisation, batches)", minimum=0, maximum=2**31 - 1)
    device: str = _opt("auto", "where to train: auto picks CUDA when present", choices=DEVICES)
    precision: str = _opt("auto", "arithmetic: auto uses bf16 autocast on CUDA and fp32 on the CPU", choices=PRECISIONS)
    ema: bool = _opt(True, "evaluate and save a moving average of the weights (smoother, more accurate)")
    compile: bool = _opt(False, "torch.compile the model (pays off on long GPU runs)")
    checkpoint_every: int = _opt(1, "save a checkpoint every N epochs (0: only at the end)", minimum=0, maximum=1000)

    def validate(self) -> "TrainConfig":
        """Raise ValueError with a readable message for any out-of-range or unknown value."""
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if meta["choices"] and value not in meta["choices"]:
                raise ValueError(f"{f.name}: {value!r} is not one of {', '.join(meta['choices'])}")
            if meta["min"] is not None and not meta["min"] <= value <= meta["max"]:
                raise ValueError(f"{f.name}: {value} is outside {meta['min']}..{meta['max']}")
        if self.model == CUSTOM:
            try:
                check(parse(self.layers))
            except NetworkTextError as exc:
                raise NetworkTextError(f"layers: {exc}") from None
        elif self.layers.strip():
            raise ValueError(f"layers: they write a {CUSTOM} network; choose model {CUSTOM} to train it")
        return self

    @property
    def model_kwargs(self) -> dict:
        """The architecture switches as build_model takes them (only those that differ from the model's own)."""
        return architecture(self.model, None if self.batch_norm == "model" else self.batch_norm == "on",
                            None if self.dropout < 0 else self.dropout, self.layers,
                            None if self.activation == "model" else self.activation)

    def with_options(self, options: dict) -> "TrainConfig":
        """These options changed, as a comparison varies them: layers written make the network a custom one,
        and a zoo model chosen over a custom one leaves its written layers behind."""
        implied = {}
        if options.get("layers") and "model" not in options:
            implied["model"] = CUSTOM
        elif options.get("model", CUSTOM) != CUSTOM and "layers" not in options:
            implied["layers"] = ""
        return replace(self, **options, **implied)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def parse_value(cls, name: str, text: str):
        """A field's value from text ("lr", "0.01" → 0.01); ValueError names the field when it is unknown."""
        kinds = {f.name: type(getattr(cls(), f.name)) for f in fields(cls)}
        if name not in kinds:
            raise ValueError(f"unknown option {name!r}; choose from {', '.join(kinds)}")
        kind = kinds[name]
        if kind is bool:
            return text.lower() in ("1", "true", "yes", "on")
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{name}: {text!r} is not a {kind.__name__}") from None

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Build from a (possibly older) saved dict, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in data.items() if k in known})
