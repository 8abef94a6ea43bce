"""Inference: a ``Predictor`` holds one model on one device and reads digits from pictures."""

from dataclasses import dataclass, field

import numpy as np
import torch

from engine.calibrate import temperature_of
from engine.checkpoint import load_checkpoint
from engine.datasets import DIGITS, are_digits
from engine.device import resolve_device
from engine.explain import METHODS, Explanation, one_hot
from engine.paths import default_model_path
from engine.preprocess import PreparedImage, prepare_digits, prepare_image

# The model is "unsure" when its top (calibrated) probability is low or the runner-up is close behind.
# On the pen digits of the six test writers (bench/calibration.py) these flag 59 % of the shipped
# model's mistakes and question 0.3 % of its right answers.
UNSURE_BELOW = 0.9
UNSURE_MARGIN = 0.5
UNSURE_RULE = (f"The app says \"Not sure\" when the top probability is under {UNSURE_BELOW:.0%} or the runner-up "
               f"is within {UNSURE_MARGIN:.0%} of it")


def questioned(probabilities: np.ndarray, below: float = UNSURE_BELOW, margin: float = UNSURE_MARGIN) -> np.ndarray:
    """Which answers the app calls "Not sure" (one answer's probabilities, or N rows of them)."""
    ordered = -np.sort(-np.asarray(probabilities), axis=-1)
    return (ordered[..., 0] < below) | (ordered[..., 0] - ordered[..., 1] < margin)


@dataclass(frozen=True)
class Prediction:
    digit: int | None  # None when nothing was drawn
    confidence: float
    probabilities: np.ndarray = field(repr=False)  # (classes,), zeros when nothing was drawn
    pixels: np.ndarray | None = field(repr=False)  # the 28×28 input the network saw
    error: str | None = None
    frame: tuple | None = field(default=None, repr=False)  # the input's place on the picture (PreparedImage)
    class_names: tuple[str, ...] = field(default=DIGITS, repr=False)  # the model's: "7", or "Sneaker"

    @property
    def name(self) -> str | None:
        """The answer as the model's classes name it."""
        return None if self.digit is None else self.class_names[self.digit]

    @property
    def ranked(self) -> list[int]:
        return [int(i) for i in np.argsort(-self.probabilities)]

    @property
    def runner_up(self) -> int:
        return self.ranked[1]

    @property
    def unsure(self) -> bool:
        if self.digit is None:
            return False
        return bool(questioned(self.probabilities))


def as_number(predictions: list[Prediction]) -> str:
    """The digits read, left to right, as one string ("72"); "?" for a piece that could not be read."""
    return "".join(p.name if p.digit is not None else "?" for p in predictions)


@dataclass(frozen=True)
class LayerView:
    """One layer at work on one input."""
    name: str
    values: np.ndarray  # a conv block: C×H×W maps after its activation; a dense layer: (units,)
    inputs: np.ndarray = field(repr=False)  # what it read: C_in×H×W maps, or a dense layer's values

    @property
    def is_conv(self) -> bool:
        return self.values.ndim == 3


class Predictor:
    def __init__(self, model: torch.nn.Module, device="cpu", metadata: dict | None = None):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.metadata = metadata or {}
        self.class_names = tuple(self.metadata.get("class_names", DIGITS))
        # Calibrated probabilities: logits divided by the temperature fitted on held-out writers.
        self.temperature = temperature_of(self.metadata)

    @classmethod
    def load(cls, path=None, device="cpu") -> "Predictor":
        """Load a checkpoint (the shipped default model when ``path`` is None)."""
        device = resolve_device(device)
        checkpoint = load_checkpoint(path or default_model_path(), device)
        return cls(checkpoint.model, device, checkpoint.metadata)

    def warm_up(self) -> None:
        """Run a small drawing through the whole path once: PyTorch picks its kernels and Pillow and
        NumPy load their code on first use (~0.2 s), which should not land on the user's first stroke."""
        stroke = np.full((64, 64), 255, np.uint8)
        stroke[12:52, 30:35] = 0
        self.layers(self.predict(stroke).pixels)

    def _input(self, pixels: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))
        return x.reshape(-1, 1, 28, 28).to(self.device)

    @torch.inference_mode()
    def logits(self, pixels: np.ndarray) -> np.ndarray:
        """The network's raw class scores for one 28×28 input (or N): ``probabilities`` is the softmax
        of these divided by the temperature."""
        scores = self.model(self._input(pixels)).float().cpu().numpy()
        return scores[0] if np.ndim(pixels) == 2 else scores

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities for one 28×28 input (or N×28×28 inputs)."""
        return self.calibrated(self.logits(pixels))

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        """The probabilities of the network's scores: their softmax once divided by the temperature."""
        return torch.from_numpy(logits / np.float32(self.temperature)).softmax(-1).numpy()

    @torch.inference_mode()
    def layers(self, pixels: np.ndarray) -> list[LayerView]:
        """Every conv block's maps (with the maps it read) and every hidden dense layer's
        activations, in order, for one 28×28 input; the output probabilities are ``probabilities``."""
        _, traced = self.model.trace(self._input(pixels))
        return [LayerView(t.name, t.outputs[0].float().cpu().numpy(), t.inputs[0].float().cpu().numpy()) for t in traced]

    def last_hidden(self, pixels: np.ndarray) -> np.ndarray:
        """What the network's last hidden layer makes of one 28×28 input: how engine/digit_map.py measures
        which digits are alike."""
        return self.layers(pixels)[-1].values.reshape(-1)

    def explain(self, prediction: Prediction, versus: int | None = None, method: str = "gradients") -> Explanation:
        """Which pixels of the input made the network answer ``prediction.digit`` (engine/explain.py);
        with ``versus``, rather than that class (e.g. the runner-up); by ``method``, a key of METHODS."""
        classes = len(prediction.probabilities)
        weights = one_hot(prediction.digit, classes)
        if versus is not None:
            weights = weights - one_hot(versus, classes)
        (saliency,) = METHODS[method](self.model, prediction.pixels, weights)
        return Explanation(prediction.digit, versus, saliency, method)

    def kernels(self) -> list[np.ndarray]:
        """Every conv layer's weights (out × in × k × k), in order."""
        return [b.conv.weight.detach().float().cpu().numpy() for b in self.model.conv_blocks()]

    def read(self, image) -> list[Prediction]:
        """Every digit of a picture, left to right: one for a digit, several for a number written with
        paper between its digits ("42"). A model of other classes reads the picture whole."""
        if isinstance(image, PreparedImage) or not are_digits(self.class_names):
            return [self.predict(image)]
        return [self.predict(prepared) for prepared in prepare_digits(image)]

    def predict(self, image) -> Prediction:
        """Read the digit in a picture (PIL image or array of any size and polarity), or in an input
        already prepared (a test set's 28×28 image, read exactly as evaluation read it)."""
        prepared = image if isinstance(image, PreparedImage) else prepare_image(image)
        if prepared.empty:
            return Prediction(None, 0.0, np.zeros(len(self.class_names), np.float32), None, prepared.message,
                              class_names=self.class_names)
        probs = self.probabilities(prepared.pixels)
        digit = int(probs.argmax())
        return Prediction(digit, float(probs[digit]), probs, prepared.pixels, frame=prepared.frame,
                          class_names=self.class_names)
