"""Layer statistics while training: what each layer outputs and how its gradients look.

Every few steps the trainer arms a ``LayerProbe``: during that one step, forward hooks keep a
histogram of each layer's output (after its activation; the logits for the last layer), and after
the backward pass it takes a histogram of each layer's weight gradients and their norm. Seed 002
shows why this matters: with weights drawn at std 0.01 the activations of deep layers collapse
toward zero, with Xavier or He they stay spread; and a run about to diverge shows its gradient norms
climbing, layer by layer, before the loss turns into NaN.
"""

import numpy as np
import torch
from torch import nn

from engine.events import LayerStats
from engine.models import ACTIVATION_TYPES, ConvBlock, ZooNet

BINS = 40


def watched_layers(model: ZooNet) -> list[tuple[str, nn.Module, torch.Tensor]]:
    """(name, module whose output is the layer's activation, the layer's weight), in order: every
    conv block and every linear layer (the last one's output is the logits)."""
    layers = [(name, block, block.conv.weight) for name, block in model.features.named_children()
              if isinstance(block, ConvBlock)]
    children = list(model.classifier.named_children())
    for i, (name, module) in enumerate(children):
        if isinstance(module, nn.Linear):
            after = next((m for _, m in children[i + 1:] if isinstance(m, (*ACTIVATION_TYPES, nn.Linear))), None)
            output = after if isinstance(after, ACTIVATION_TYPES) else module
            layers.append((name, output, module.weight))
    return layers


def histogram(values: torch.Tensor, symmetric: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of ``values`` over their range (a symmetric one around 0 if asked)."""
    values = values.detach().float().flatten()
    finite = values[torch.isfinite(values)]
    if not len(finite):
        return np.zeros(BINS, np.int64), np.linspace(-1, 1, BINS + 1)
    low, high = (float(v) for v in finite.aminmax())
    if symmetric:
        high = max(abs(low), abs(high))
        low = -high
    if high <= low:
        low, high = low - 0.5, high + 0.5
    counts = torch.histc(finite, BINS, low, high)
    return counts.cpu().numpy().astype(np.int64), np.linspace(low, high, BINS + 1)


class LayerProbe:
    def __init__(self, model: ZooNet, every: int):
        self.every = every
        self.layers = watched_layers(model)
        self._armed = False
        self._outputs: dict[str, torch.Tensor] = {}
        self._hooks = [module.register_forward_hook(self._hook(name)) for name, module, _ in self.layers]

    def _hook(self, name: str):
        def keep(_module, _inputs, output):
            if self._armed:
                self._outputs[name] = output.detach()
        return keep

    def due(self, step: int) -> bool:
        """Watch every ``every`` steps, and five times as often over the first ``4 × every``: a run
        with too high a learning rate blows up in its first few dozen steps."""
        early = step <= 4 * self.every
        return step % (max(1, self.every // 5) if early else self.every) == 0

    def arm(self) -> None:
        """Watch the next forward pass."""
        self._armed = True
        self._outputs.clear()

    @property
    def armed(self) -> bool:
        return self._armed

    def collect(self, step: int) -> LayerStats:
        """After the armed step's backward pass: its statistics (reads values back from the device)."""
        self._armed = False
        names, activations, gradients, norms = [], [], [], []
        for name, _module, weight in self.layers:
            names.append(name)
            activations.append(histogram(self._outputs[name]) if name in self._outputs else histogram(torch.zeros(1)))
            grad = weight.grad if weight.grad is not None else torch.zeros_like(weight)
            gradients.append(histogram(grad, symmetric=True))
            norms.append(float(grad.detach().float().norm()))
        self._outputs.clear()
        return LayerStats(step, tuple(names), tuple(activations), tuple(gradients), tuple(norms))

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()
