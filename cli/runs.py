"""`runs`: the kept runs (engine/runs.py), newest first."""

import json

from engine import paths
from engine.runs import list_runs


def add_parser(sub) -> None:
    p = sub.add_parser("runs", help="list the kept training runs",
                       description=f"List the runs kept in the runs folder ({paths.runs_dir()}), newest first; "
                                   "damaged or half-written ones are listed as unreadable.")
    p.add_argument("--json", action="store_true", help='one JSON object per run: {"run", "folder", "readable", "label", '
                   '"what" (the label, or the options that differ from the defaults), "started", "status", "model", '
                   '"dataset", "test_accuracy", "val_accuracy", "seconds"}')
    p.set_defaults(handler=run)


def run(args) -> int:
    runs = list_runs()
    for summary in runs:
        row = summary.row()
        if args.json:
            print(json.dumps(row))
        elif not row["readable"]:
            print(f"{row['run']}: unreadable: {row['problem']}")
        else:
            test = f"test {row['test_accuracy']:.2%}" if row["test_accuracy"] is not None else "no test score"
            print(f"{row['run']} [{row['what']}]: {row['model']} on {row['dataset']}, {row['status']}, {test}, "
                  f"{row['seconds'] or 0:.0f} s")
            if summary.resumable:
                print(f"  continue it with: train --resume {summary.folder / 'last.pt'}")
    if not runs and not args.json:
        print(f"no runs yet in {paths.runs_dir()}")
    return 0
