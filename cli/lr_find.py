"""`lr-find`: the learning-rate range test on a training config (engine/lr_finder.py), as the Train tab's Find…."""

import json
import math

from cli.options import add_config_arguments, add_data_dir_argument, config_from_args
from cli.progress import ProgressBar
from engine.events import Downloading, Failed, RangeStep
from engine.lr_finder import END_LR, START_LR, STEPS, RangeTest


def add_parser(sub) -> None:
    p = sub.add_parser("lr-find", help="find a learning rate (the range test)",
                       description="Train the network these options build for a few seconds while the learning rate "
                                   "grows exponentially, and print the loss against it: it falls fastest where the "
                                   "rate is useful and runs away once it is too large. A third of the rate where it "
                                   "was lowest is suggested as the peak rate (--lr). Nothing is saved.")
    p.add_argument("--steps", type=int, default=STEPS, help=f"steps, one batch each (default: {STEPS})")
    p.add_argument("--start", type=float, default=START_LR, help=f"the first learning rate (default: {START_LR:g})")
    p.add_argument("--end", type=float, default=END_LR, help=f"the last learning rate (default: {END_LR:g})")
    p.add_argument("--json", action="store_true", help='one JSON object: {"rates", "losses", "suggested", "lowest", '
                   '"steepest", "diverged"}')
    add_config_arguments(p)
    add_data_dir_argument(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    config = config_from_args(args)
    bar = ProgressBar()

    def hear(event) -> None:
        if isinstance(event, RangeStep):
            bar.update("range test", event.step, event.steps, f"lr {event.lr:.2g} loss {event.loss:.3f}")
        elif isinstance(event, Downloading):
            bar.download(event.label, event.done, event.total, event.unit)

    tester = RangeTest(config, hear, steps=args.steps, start=args.start, end=args.end, data_dir=args.data_dir)
    try:
        found = tester.run()
    except KeyboardInterrupt:
        tester.stop()
        raise
    if isinstance(found, Failed):
        raise RuntimeError(found.message)
    if args.json:
        print(json.dumps({"rates": found.rates, "losses": found.losses, "suggested": found.suggested,
                          "lowest": found.lowest, "steepest": found.steepest, "diverged": found.diverged}))
        return 0 if found.suggested else 1
    bar.line(f"{config.model}, {config.optimizer}, batch {config.batch_size}, on {config.dataset}: smoothed training loss")
    decade = None
    for lr, loss in zip(found.rates, found.losses):  # a row per half decade
        if decade != (mark := math.floor(2 * math.log10(lr))):
            decade = mark
            print(f"  lr {lr:9.2e}  loss {loss:.3f}")
    if found.suggested is None:
        print("the loss did not fall by a tenth at any of these rates: nothing to suggest (this network may not learn "
              f"with these options, or not this soon: try --steps {4 * args.steps}, batch norm, another initialisation "
              "or optimiser)")
        return 1
    ran = ", then ran away" if found.diverged else ""
    if not found.diverged and found.lowest == found.rates[-1]:
        ran = ", the last rate tried: it was still falling (a larger --end shows where it turns)"
    print(f"lowest loss at lr {found.lowest:.2g}{ran}; fell fastest near {found.steepest:.2g}" if found.steepest
          else f"lowest loss at lr {found.lowest:.2g}{ran}")
    print(f"suggested peak rate: {found.suggested:.2g} (a third of the lowest); train with: train --lr {found.suggested:.2g}")
    return 0
