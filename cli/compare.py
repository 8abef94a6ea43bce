"""`compare`: runs that differ in one or two options, one after another (engine/compare.py)."""

import json
import sys

from cli.options import add_config_arguments, add_data_dir_argument, config_from_args
from engine.compare import PRESETS, Comparison, parse_vary, plan, preset_base
from engine.events import Failed, Finished


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="train runs that differ in one or two options and compare them",
                       description="Train one run per combination of the --vary values (or a preset of the seed "
                                   "tutorials' comparisons), one after another, each kept in its own run folder. "
                                   "Validation accuracy is measured four times per epoch.")
    p.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2,…",
                   help="an option and its values, e.g. optimizer=sgd,momentum,adagrad,adam (at most two --vary)")
    p.add_argument("--preset", choices=tuple(PRESETS), help="one of the seeds' comparisons, or this app's own: " +
                   "; ".join(f"{name}: {preset.title}" for name, preset in PRESETS.items()))
    p.add_argument("--quick", action="store_true", help="with --preset: the quick version (a subset of the training images)")
    p.add_argument("--json", action="store_true", help='one JSON object per finished run: {"run", "config", "history", '
                   '"val_accuracy", "test_accuracy", "seconds", …}')
    add_config_arguments(p)
    add_data_dir_argument(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    if bool(args.vary) == bool(args.preset):
        raise ValueError("give either --vary (once or twice) or --preset")
    if len(args.vary) > 2:
        raise ValueError("vary at most two options at once")
    if args.preset:
        preset = PRESETS[args.preset]
        base = config_from_args(args, preset_base(args.preset, args.quick))  # flags given override the preset's
        plans = plan(base, preset.variations, preset.folds)
        print(f"{preset.title}: {preset.lesson}", file=sys.stderr)
    else:
        base = config_from_args(args)
        plans = plan(base, parse_vary(args.vary))
    failures = 0

    def hear(index: int, event) -> None:
        nonlocal failures
        if isinstance(event, (Finished, Failed)):
            result = comparison.results[index]
            failures += isinstance(event, Failed)
            if args.json:
                print(json.dumps(result.to_json()), flush=True)
            else:
                print(summary_line(result), flush=True)

    comparison = Comparison(plans, hear, data_dir=args.data_dir)
    for i, item in enumerate(plans, start=1):
        print(f"run {i}/{len(plans)}: {item.label}", file=sys.stderr)
    try:
        comparison.run()
    except KeyboardInterrupt:
        comparison.stop()
        raise
    return 1 if failures else 0


def summary_line(result) -> str:
    if result.failed:
        return f"{result.run}: failed: {result.failed}"
    to_target = f"{result.seconds_to_target:.1f} s" if result.seconds_to_target is not None else "not reached"
    test = f"{result.test_accuracy:.2%}" if result.test_accuracy is not None else "—"
    val = f"{result.val_accuracy:.2%}" if result.val_accuracy is not None else "—"
    pen = f", unseen pen writers {result.pen_accuracy:.2%}" if result.pen_accuracy is not None else ""
    return (f"{result.run}: validation {val}, test {test}{pen}, train {result.train_accuracy or 0:.2%}, "
            f"{result.seconds or 0:.1f} s, 99 % after {to_target}, {result.images_per_sec or 0:,.0f} images/s, "
            f"{result.parameters:,} parameters")
