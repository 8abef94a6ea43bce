"""What the Train tab's live pictures cost a run: the Train button's recipe timed with nothing shown live,
with what the app always shows (kernels and the Predictions page every 20 batches, layer statistics every
25), and with a copy of the model every 20 batches as well (the Layers tab open while it trains).

    python -m bench.live_views [--batches 300] [--rounds 4]

The three are run in turn, round after round, and each one's median is printed with its cost against
nothing live: this machine's speed drifts from minute to minute, which interleaving averages out. The
first 120 batches are not timed: layer statistics come five times as often over a run's first 100, so
a run's start costs more than the rest of it.
"""

import argparse
import statistics

from bench.common import machine
from bench.throughput import engine_rate
from engine.config import TrainConfig
from engine.datasets import load_dataset
from engine.device import configure_cpu
from gui.train_tab import KERNEL_EVERY, MODEL_EVERY, STATS_EVERY, WATCH_EVERY

SHOWN = dict(kernel_every=KERNEL_EVERY, stats_every=STATS_EVERY, watch_every=WATCH_EVERY)
WAYS = {"nothing live": {}, "the Train tab's live pictures": SHOWN,
        "and the Layers tab following the run": {**SHOWN, "model_every": MODEL_EVERY}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=300, help="timed batches per run (default: 300)")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    configure_cpu()
    dataset = load_dataset("mnist")
    config = TrainConfig(dataset="mnist", device="cpu", checkpoint_every=0)  # the default recipe, MNIST's images
    print(machine())
    rates = {way: [] for way in WAYS}
    for _ in range(args.rounds):
        for way, options in WAYS.items():
            rates[way].append(engine_rate(config, dataset, args.batches, warmup=120, **options))
    base = statistics.median(rates["nothing live"])
    for way, measured in rates.items():
        rate = statistics.median(measured)
        print(f"{way:40s} {rate:8,.0f} images/s (median of {len(measured)})   {100 * (base / rate - 1):+5.1f} % time")


if __name__ == "__main__":
    main()
