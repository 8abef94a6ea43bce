"""The learning-rate range test (L. Smith, 2015; fastai's ``lr_find``): train the config's fresh network on its
own batches for a hundred-odd steps while the learning rate grows exponentially from tiny to huge, and watch
the loss. It barely moves while the rate is too small, falls fastest where the rate is useful, and runs
away once it is too large. A third of the rate where it was lowest is a good peak rate for one-cycle:
of a tenth, a third and all of it, the third trained best over four optimisers (bench/lr_finder.py).

``RangeTest`` is a ``Trainer`` (same data, split, pen mix, augmentation, network, optimiser and device, and
the same handling of every failure) that takes no run folder and saves nothing."""

import math

import numpy as np
import torch

from engine.augment import augment_batch
from engine.config import TrainConfig
from engine.evaluate import to_model_input
from engine.events import LrFound, RangeStep
from engine.train import Trainer, _StoppedLoading, make_optimizer

START_LR, END_LR = 1e-6, 10.0
STEPS = 120  # 17 rates a decade: 15,000 images at the default batch size, 5 s on 2 cores
SMOOTHING = 0.9  # of the loss (an average over ~10 steps, under a decade of rates: a smoother one lags)
SETTLING = 10  # steps before the smoothed loss's slope means anything
SUGGESTED_SHARE = 1 / 3  # of the rate where the loss was lowest (bench/README.md)
MEANINGFUL_FALL = 0.1  # of the first loss: less is a batch's noise (a deep sigmoid network's 2.38 → 2.32)
RAN_AWAY = 4.0  # the loss has diverged once it is this many times its lowest


def smoothed(losses: list[float], beta: float = SMOOTHING) -> np.ndarray:
    """The exponential moving average of ``losses``, corrected for its start at zero."""
    out, average = [], 0.0
    for i, loss in enumerate(losses, 1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** i))
    return np.array(out)


def suggest(rates: np.ndarray, losses: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """(suggested, lowest, steepest) for a smoothed loss curve: a third of the rate at its lowest point, that
    rate, and where it fell fastest before it (per decade of rate); Nones when it never fell by a tenth."""
    if len(losses) < 3 or losses.min() > (1 - MEANINGFUL_FALL) * losses[0]:
        return None, None, None
    low = int(losses.argmin())
    settled = min(SETTLING, low // 2)  # the average's first steps follow single batches' noise
    steepest = None
    if low - settled >= 2:
        slopes = np.gradient(losses[settled:low + 1], np.log10(rates[settled:low + 1]))
        steepest = float(rates[settled + int(slopes.argmin())])
    return float(rates[low]) * SUGGESTED_SHARE, float(rates[low]), steepest


class RangeTest(Trainer):
    """``run()`` sends a ``RangeStep`` per step read and returns (and sends) ``LrFound``, or ``Failed``."""

    def __init__(self, config: TrainConfig, on_event=None, *, steps: int = STEPS, start: float = START_LR,
                 end: float = END_LR, dataset=None, data_dir=None, sync_every: int | None = None):
        if not 0 < start < end or steps < 3:
            raise ValueError(f"a range test needs 0 < start < end and 3 steps or more (got {start:g}, {end:g}, {steps})")
        super().__init__(config, on_event, dataset=dataset, data_dir=data_dir, evaluate_test=False, sync_every=sync_every)
        self.steps, self.start, self.end = steps, start, end

    def _run(self):
        try:
            self._prepare()
        except _StoppedLoading:
            return LrFound((), (), None, None, None, False, stopped=True)
        cfg, device = self.config, self.device
        self._average = None  # no weight average: the raw network's loss is what answers to the rate
        optimizer = make_optimizer(cfg.optimizer, self._net.parameters(), self.start, cfg.weight_decay)
        growth = (self.end / self.start) ** (1 / (self.steps - 1))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: growth ** step)
        order_gen = torch.Generator().manual_seed(cfg.seed)
        aug_gen = torch.Generator(device=device).manual_seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        order = self._epoch_order(order_gen)
        # Read the loss back every step on the CPU (free there), every 10 on a GPU so the host never stalls it.
        sync_every = self.sync_every or (1 if device.type == "cpu" else 10)
        self._net.train()
        pending, rates, raw, stopped, diverged = [], [], [], False, False
        for step in range(self.steps):
            self._wait_if_paused()
            if self._stop.is_set():
                stopped = True
                break
            start = step * cfg.batch_size % max(1, len(order) - cfg.batch_size + 1)
            idx = order[start:start + cfg.batch_size]
            x, y = to_model_input(self._images[idx]), self._labels[idx]
            if cfg.augment:
                x = augment_batch(x, aug_gen, self._augment_spec)
            rates.append(self.start * growth ** step)
            _, loss = self._learn(x, y, optimizer, scheduler)
            pending.append(loss.detach())
            if len(pending) == sync_every or step == self.steps - 1:
                raw += torch.stack(pending).float().cpu().tolist()
                pending = []
                losses = smoothed(raw)
                self._emit(RangeStep(len(raw), self.steps, rates[len(raw) - 1], float(losses[-1])))
                if not math.isfinite(losses[-1]) or losses[-1] > RAN_AWAY * np.nanmin(losses):
                    diverged = True
                    break
        losses = smoothed(raw)
        rates = np.array(rates[:len(raw)])
        finite = np.isfinite(losses)
        suggested, lowest, steepest = suggest(rates[finite], losses[finite])
        return LrFound(tuple(rates.tolist()), tuple(losses.tolist()), suggested, lowest, steepest, diverged, stopped)
