"""`cv`: k-fold cross-validation of a training configuration (seed 000's protocol)."""

import statistics

from cli.options import add_config_arguments, add_data_dir_argument, config_from_args
from cli.train import TrainPrinter
from engine.crossval import cross_validate


def add_parser(sub) -> None:
    p = sub.add_parser("cv", help="k-fold cross-validation", description="Train once per fold on the other "
                       "folds and report each fold's validation accuracy and their mean ± std.")
    p.add_argument("--folds", type=int, default=5, help="number of folds (default: 5)")
    add_config_arguments(p)
    add_data_dir_argument(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    config = config_from_args(args)
    printer = TrainPrinter()
    scores = cross_validate(config, args.folds, lambda _fold, _folds, event: printer(event), data_dir=args.data_dir,
                            on_score=lambda k, acc: print(f"fold {k}/{args.folds}: validation accuracy {acc * 100:.2f} %", flush=True))
    mean = statistics.mean(scores)
    std = statistics.stdev(scores) if len(scores) > 1 else 0.0
    print(f"{args.folds}-fold accuracy: {mean * 100:.2f} % ± {std * 100:.2f} %")
    return 0
