"""`personalise`: fine-tune a model on the personal samples, as the app's Personalise button does."""

import json
from pathlib import Path

from cli.options import add_data_dir_argument, add_model_argument, print_left_out
from cli.progress import ProgressBar
from engine.checkpoint import save_checkpoint
from engine.personal import (
    PersonalDataError, PersonalSamples, personalise, personalised_metadata, personalised_path, rehearsal_dataset,
)
from engine.predict import Predictor


def add_parser(sub) -> None:
    p = sub.add_parser("personalise", help="fine-tune a model on your handwriting samples (the app's Personalise)")
    add_model_argument(p)
    p.add_argument("--samples", metavar="DIR",
                   help="folder of personal samples (default: the app's, in the user data folder)")
    p.add_argument("--import-csv", metavar="CSV", help="first add the samples of a CSV (label,pixel0..pixel783)")
    p.add_argument("--import-digits", metavar="PATH", help="first add the digits of a folder with one subfolder of "
                                                           "pictures per digit (0/ … 9/), or of a UNIPEN pen file")
    p.add_argument("--out", metavar="PATH", help="where to save the personalised model "
                                                 "(default: the user data folder's models/, where the app lists it)")
    p.add_argument("--steps", type=int, default=150, help="fine-tuning steps (default: 150)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_data_dir_argument(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    store = PersonalSamples(Path(args.samples) if args.samples else None)
    if args.import_csv:
        added = store.import_csv(args.import_csv)
        if not args.json:
            print(f"imported {added} samples from {args.import_csv}")
    if args.import_digits:
        added, skipped = store.import_digits(args.import_digits)
        print_left_out(skipped)
        if not args.json:
            print(f"imported {added} samples from {args.import_digits}")
    if len(store) == 0:
        raise PersonalDataError(f"there are no personal samples in {store.folder}: label a few drawings in the app "
                                "or pass --import-csv or --import-digits")
    base = Predictor.load(args.model, "cpu")
    bar = ProgressBar()
    rehearsal = rehearsal_dataset(base.metadata, args.data_dir, bar.download)
    images, labels, skipped = store.tensors()
    print_left_out(skipped)
    result = personalise(base.model, (images, labels), rehearsal, steps=args.steps,
                         progress=lambda step, steps: bar.update("personalising", step, steps, f"step {step} of {steps}"))
    path = Path(args.out) if args.out else personalised_path()
    save_checkpoint(path, result.model, personalised_metadata(base.metadata, result))
    if args.json:
        print(json.dumps({
            "model": str(path), "samples": result.train_samples, "held_out": result.held_out_samples,
            "held_out_before": result.held_out_before, "held_out_after": result.held_out_after,
            "mnist_probe_before": result.mnist_before, "mnist_probe_after": result.mnist_after,
            "seconds": result.seconds,
        }))
        return 0
    print(f"personalised on {result.train_samples} samples in {result.seconds:.0f} s: {result.summary()}")
    print(f"saved {path}  (use it with --model, or open it in the app)")
    return 0
