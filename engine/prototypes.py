"""What the network takes each digit to be: for each class, an input made to maximise its score.

Activation maximisation (Simonyan et al., 2014) from a blank input, by gradient ascent on the class's
logit with three regularisers that keep the picture one a person can read: a small cost on ink and
on pixel-to-pixel jumps, the input shifted by up to two pixels at random each step (what survives
a shift is a stroke, not a trick of one position), and a slight blur every ten steps. For a network
trained on pen digits the 1 comes out with a flag and the 7 crossed: what it learned, shown.
"""

import numpy as np
import torch
import torch.nn.functional as F

STEPS = 300
INK_COST, EDGE_COST = 0.02, 0.05  # per pixel of ink, per unit of jump between neighbouring pixels
BLUR_EVERY = 10
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])


def class_prototypes(model: torch.nn.Module, classes: int = 10, steps: int = STEPS, seed: int = 0,
                     stop=lambda: False) -> np.ndarray:
    """classes×28×28 inputs in [0, 1], each made to maximise its class's logit; ``stop()`` ends early."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    blur = (_BINOMIAL[:, None] * _BINOMIAL[None, :] / _BINOMIAL.sum() ** 2)[None, None].to(device)
    x = torch.zeros(classes, 1, 28, 28, device=device, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=0.05)
    try:
        for step in range(steps):
            if stop():
                break
            dy, dx = (int(v) for v in rng.integers(-2, 3, 2))
            shifted = torch.roll(x.clamp(0, 1), shifts=(dy, dx), dims=(2, 3))
            scores = model(shifted).diagonal()  # input i's score for class i
            jumps = (shifted[:, :, 1:] - shifted[:, :, :-1]).abs().sum() + (shifted[..., 1:] - shifted[..., :-1]).abs().sum()
            loss = -scores.sum() + INK_COST * shifted.sum() + EDGE_COST * jumps
            # The gradient of the input alone: the model's own .grad stay untouched (the app reads with it meanwhile).
            (x.grad,) = torch.autograd.grad(loss, [x])
            optimizer.step()
            with torch.no_grad():
                x.clamp_(0, 1)
                if step % BLUR_EVERY == 0:
                    x.copy_(F.conv2d(x, blur, padding=2))
    finally:
        model.train(was_training)
    return x.detach()[:, 0].cpu().numpy()
