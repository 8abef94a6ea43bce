"""`search`: learning rate and weight decay searched with Optuna on the validation split (engine/search.py)."""

import json

from cli.options import add_config_arguments, add_data_dir_argument, config_from_args
from engine.config import SEARCH_SAMPLERS
from engine.paths import user_data_dir


def add_parser(sub) -> None:
    p = sub.add_parser("search", help="search learning rate and weight decay (Optuna)",
                       description="Run N more trials of a study: each trains with a learning rate and weight decay "
                                   "that the sampler picks and is scored on the validation split (never the test "
                                   "set); hopeless trials are pruned early. The study is kept in a database, so it "
                                   "can be continued, and several machines can work on one study when they share "
                                   "--storage (e.g. postgresql://user:password@host/db).")
    p.add_argument("--trials", type=int, default=10, help="trials to run (default: 10)")
    p.add_argument("--sampler", choices=SEARCH_SAMPLERS, default="tpe", help="tpe (learns from past trials) or random")
    p.add_argument("--storage", metavar="URL",
                   help=f"the study database (default: sqlite:///{user_data_dir() / 'search.db'})")
    p.add_argument("--study", default="digit-studio", help="the study's name in that database (default: digit-studio)")
    p.add_argument("--json", action="store_true", help='one JSON object per finished trial {"trial", "state", '
                   '"params", "val_accuracy", "epochs", "seconds", "folder"}, then {"best": …}')
    add_config_arguments(p)
    add_data_dir_argument(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from engine.search import Search

    if args.trials < 1:
        raise ValueError("--trials must be at least 1")

    def show(result) -> None:
        if args.json:
            print(json.dumps(result.to_json()), flush=True)
            return
        score = f"{result.val_accuracy:.2%}" if result.val_accuracy is not None else "—"
        print(f"trial {result.trial}: {result.outcome}, lr {result.params.get('lr', 0):.2e}, weight decay "
              f"{result.params.get('weight_decay', 0):.2e}: validation {score} ({result.seconds:.1f} s)", flush=True)

    search = Search(config_from_args(args), args.trials, args.sampler, args.storage, args.study, on_trial=show,
                    data_dir=args.data_dir)
    try:
        search.run()
    except KeyboardInterrupt:
        search.stop()
        raise
    best = search.best()
    if args.json:
        print(json.dumps({"best": best}))
    elif best:
        print(f"best so far (of {best['trials_in_study']} trials in the study): trial {best['trial']}, "
              f"lr {best['params']['lr']:.2e}, weight decay {best['params']['weight_decay']:.2e}: "
              f"validation {best['val_accuracy']:.2%}")
        print(f"train with them: train --lr {best['params']['lr']:.3g} --weight-decay {best['params']['weight_decay']:.3g}")
    return 0 if best else 1
