"""Immutable events the trainer emits; the CLI prints them and the GUI turns them into signals."""

from dataclasses import dataclass, field


def format_duration(seconds: float) -> str:
    """A time span as the app and the command line show elapsed time and ETAs: m:ss, or h:mm:ss."""
    hours, rest = divmod(int(max(0, seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class Downloading:
    """The dataset is being downloaded (unit "bytes") or otherwise prepared before training starts."""
    label: str
    done: int
    total: int | None
    unit: str = "bytes"

    @property
    def what(self) -> str:
        """What is under way, in words: "downloading MNIST", or the label of other preparation."""
        return f"downloading {self.label}" if self.unit == "bytes" else self.label


@dataclass(frozen=True)
class Notice:
    """Something the user should know that does not stop the run (e.g. saving in another folder)."""
    message: str


@dataclass(frozen=True)
class Started:
    device_name: str
    train_size: int
    val_size: int
    batches_per_epoch: int
    epochs: int
    start_epoch: int  # > 0 when resuming


@dataclass(frozen=True)
class BatchEnd:
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    step: int  # global step, 1-based
    loss: float  # mean loss over the batches since the last BatchEnd
    accuracy: float  # running training accuracy this epoch
    images_per_sec: float
    seconds_left: float  # until the whole run ends, at this epoch's pace (the app and the CLI show it as ETA)
    lr: float = 0.0  # the learning rate the schedule gives the next step (first parameter group)


@dataclass(frozen=True)
class KernelSnapshot:
    """Copies of the first two conv layers' weights, sent every few batches for live display; for a network
    without conv layers, its first dense layer's units as pictures instead (``engine.filters.unit_pictures``)."""
    step: int
    kernels: tuple = field(repr=False)  # numpy arrays (out, in, k, k), conv1 then conv2
    units: tuple | None = field(default=None, repr=False)  # (layer name, units × side × side) of a perceptron


@dataclass(frozen=True)
class ModelSnapshot:
    """A copy of the model as it stands (the weight average, as it is evaluated), on the CPU, every
    ``model_every`` steps: the Layers tab follows a drawing through it while the run trains."""
    step: int
    model: object = field(repr=False)  # a torch module in eval mode
    name: str = ""  # the model's name in the zoo
    class_names: tuple = ()


@dataclass(frozen=True)
class Watched:
    """A few fixed validation images and the model's answers to them as it is now, every ``watch_every``
    steps from before the first: the Train tab shows the answers change as the network learns."""
    step: int
    epoch: float  # fractional, as in Evaluation
    images: object = field(repr=False)  # uint8 N×28×28, grouped by class
    labels: tuple = ()
    probabilities: object = field(repr=False, default=None)  # float N×classes
    source: str = ""  # whose the images are, in words: "writers it does not train on"
    class_names: tuple = ()


@dataclass(frozen=True)
class BatchShown:
    """The first images of a training batch exactly as the network is given them (augmented), every
    ``batch_every`` steps, with what it read each as in that step, before learning from it: the Train tab
    shows what the network learns from."""
    step: int
    epoch: float  # fractional, as in Evaluation
    images: object = field(repr=False)  # uint8 N×28×28, white ink on black
    stored: object = field(repr=False)  # the same images as stored, before augmentation
    labels: tuple = ()
    answers: tuple = ()
    kinds: tuple = ()  # what each image is, one of kind_names
    kind_names: tuple = ()  # every kind of training image, in words: "MNIST", "pen drawing", …
    counts: tuple = ()  # images of each kind in the whole batch
    batch_size: int = 0
    augmented: bool = False
    last_stage: bool = False  # the stage on small scans after the epochs
    warming_up: bool = False  # an epoch of the main set alone before the pen digits join (pen_warmup_epochs)
    class_names: tuple = ()
    reduced: tuple = ()  # for each image, whether augmentation made it a small scan (or blocks)


@dataclass(frozen=True)
class RangeStep:
    """The learning-rate range test has taken a step at ``lr`` (engine/lr_finder.py); ``loss`` is smoothed."""
    step: int  # 1-based
    steps: int
    lr: float
    loss: float


@dataclass(frozen=True)
class LrFound:
    """The range test's end: the smoothed loss at each learning rate tried, and what it suggests."""
    rates: tuple
    losses: tuple
    suggested: float | None  # a third of the rate where the loss was lowest; None when no rate lowered it by a tenth
    lowest: float | None  # the rate where the loss was lowest
    steepest: float | None  # where it fell fastest
    diverged: bool  # the loss ran away before the last rate (the test ends there)
    stopped: bool = False  # stopped by the user


@dataclass(frozen=True)
class Evaluation:
    """The validation split scored part-way through an epoch (``evals_per_epoch``), for curves that
    compare runs several times per epoch."""
    step: int
    epoch: float  # fractional: 1.5 is halfway through the second epoch
    train_loss: float  # mean training loss since the previous evaluation
    val_loss: float
    val_accuracy: float
    elapsed: float  # seconds of training so far


@dataclass(frozen=True)
class LayerStats:
    """One training step seen layer by layer (engine/layer_stats.py), every few steps when asked for."""
    step: int
    names: tuple  # the layers, in order
    activations: tuple = field(repr=False)  # per layer: (counts, bin edges) of its outputs
    gradients: tuple = field(repr=False)  # per layer: (counts, bin edges) of its weight gradients
    gradient_norms: tuple = ()  # per layer: the L2 norm of its weight gradient


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    images_per_sec: float
    elapsed: float  # seconds of training so far
    checkpoint: str | None = None
    val_pen_accuracy: float | None = None  # on the held-out pen writers alone (mnist+pen)


@dataclass(frozen=True)
class Finishing:
    """The last stage of a mnist+pen run, after its epochs: fine-tuning on small binarised scans."""
    step: int  # 1-based
    steps: int
    loss: float  # mean loss over the steps since the last report
    seconds_left: float


@dataclass(frozen=True)
class Finished:
    checkpoint: str | None
    test_accuracy: float | None
    stopped: bool  # True when the user stopped the run before its last epoch
    epochs_done: int
    elapsed: float
    pen_test_accuracy: float | None = None  # on the test writers' pen digits (mnist+pen)


@dataclass(frozen=True)
class Failed:
    kind: str  # "diverged", "out_of_memory", "dataset", "checkpoint", "device", "save", "error"
    message: str
    checkpoint: str | None = None  # the last good checkpoint, if any
