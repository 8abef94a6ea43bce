"""`evaluate`: accuracy, per-class accuracy and the confusion matrix of a model on a test set."""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from cli.options import add_data_dir_argument, add_model_argument, print_left_out
from cli.progress import ProgressBar
from engine.ablation import conv_layers, maps_needed
from engine.checkpoint import SaveError, atomic_write_text
from engine.datasets import DATASET_NAMES, MIXED, PEN
from engine.digit_map import ITERATIONS, MAP_LIMIT, digit_map, map_sample
from engine.evaluate import evaluate_on, mismatch_note
from engine.predict import Predictor


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="score a model on a test set")
    add_model_argument(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--dataset", choices=DATASET_NAMES,
                       help=f"test set (default: the one the model was trained on; {PEN}: the held-out pen writers; "
                            f"{MIXED}: MNIST's)")
    which.add_argument("--files", type=Path, metavar="PATH",
                       help="score on digits you bring instead: a folder with one subfolder of pictures per digit "
                            "(0/ … 9/), read as the app opens a picture, or a UNIPEN file of pen trajectories")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="also write the confusion matrix with per-class counts and accuracy as CSV "
                        "(and, for pen digits, each writer's accuracy below it)")
    p.add_argument("--map", type=Path, metavar="FILE",
                   help=f"also lay out up to {MAP_LIMIT:,} of the test digits where the network's last hidden layer "
                        "puts them (t-SNE, as the Evaluate tab's map) and write each one's place, label and answer as CSV")
    p.add_argument("--switch-off", metavar="LAYER",
                   help="also read the test images with each map of this conv layer (conv1, conv2…) switched off in "
                        "turn, as the Layers tab's Switch this map off, and give each map's cost in accuracy")
    add_data_dir_argument(p)
    p.set_defaults(handler=run)


def format_confusion(confusion, names) -> str:
    width = max(6, max(len(str(n)) for n in names) + 1)
    lines = ["true \\ predicted".ljust(width * 2) + "".join(str(n)[:width - 1].rjust(width) for n in names)]
    for name, row in zip(names, confusion):
        lines.append(str(name).ljust(width * 2) + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)


def misread(data, result) -> list[dict]:
    """The user's digits read wrong, each with where it came from."""
    names = data.class_names
    return [{"source": data.test_sources[i], "true": names[result.labels[i]], "predicted": names[result.predictions[i]],
             "confidence": round(float(result.probabilities[i].max()), 6)} for i in result.misclassified()]


def switched_off(predictor: Predictor, data, layer: str) -> dict:
    """Each map of ``layer`` switched off in turn: the test set's accuracy without it, and the class that loses most."""
    needed = maps_needed(predictor.model, layer, data.test_images.float() / 255, torch.as_tensor(data.test_labels),
                         len(data.class_names))
    maps = []
    for channel in np.argsort(needed.without, kind="stable"):  # the costliest first
        worst, drop = needed.hardest_hit(int(channel))
        maps.append({"map": int(channel) + 1, "accuracy": float(needed.without[channel]),
                     "class_that_loses_most": data.class_names[worst], "its_loss": drop})
    return {"layer": layer, "accuracy": needed.accuracy, "maps": maps}


def run(args) -> int:
    predictor = Predictor.load(args.model, args.device)
    if args.switch_off and args.switch_off not in conv_layers(predictor.model):  # said before the test set is read
        print(f"error: {predictor.model.name} has no conv layer {args.switch_off!r}; its maps are in "
              f"{', '.join(conv_layers(predictor.model)) or 'none: it has no conv layers'}", file=sys.stderr)
        return 2
    data, result = evaluate_on(predictor, args.files or args.dataset, args.data_dir, ProgressBar().download)
    without = switched_off(predictor, data, args.switch_off) if args.switch_off else None
    note = mismatch_note(predictor.metadata, data)
    if note:
        print(f"note: {note}", file=sys.stderr)
    print_left_out(data.skipped)
    mistakes = misread(data, result) if data.test_sources else []
    writes = []
    if args.csv:
        writes.append((args.csv, lambda: result.to_csv(data.class_names)))
    if args.map:
        bar = ProgressBar()
        digits = digit_map(predictor.model, data.test_images, map_sample(result),
                           frame=lambda step, _points: bar.download("placing the digits on the map", step, ITERATIONS, "steps"))
        writes.append((args.map, lambda: digits.to_csv(result, data.class_names, data.test_sources)))
    for path, text in writes:
        try:
            atomic_write_text(path, text())
        except SaveError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps({
            "model": str(args.model or "default"), "dataset": data.name, "samples": int(result.confusion.sum()),
            "accuracy": result.accuracy, "loss": result.loss,
            "per_class_accuracy": {n: float(a) for n, a in zip(data.class_names, result.per_class_accuracy)},
            "confusion": result.confusion.tolist(), **({"note": note} if note else {}),
            **({"skipped": list(data.skipped)} if data.skipped else {}),
            **({"mistakes": mistakes} if data.test_sources else {}),
            **({"per_writer_accuracy": {str(w): a for w, _, a in result.per_writer()}} if result.writers is not None else {}),
            "calibration_error": result.calibration_error(),
            "not_sure": dict(zip(("mistakes_flagged", "mistakes", "right_questioned"), result.not_sure())),
            **({"switched_off": without} if without else {}),
        }))
        return 0
    what, unit = (f"{data.name}:", "digits") if args.files else (f"{data.name} test set:", "images")
    print(f"{what} {result.confusion.sum():,} {unit}, accuracy {result.accuracy * 100:.2f} %, loss {result.loss:.4f}")
    print(f"how sure vs how often right: {result.confidence_line()}")
    print("\nper-class accuracy:")
    for n, a in zip(data.class_names, result.per_class_accuracy):
        print(f"  {n:>12}: {a * 100:6.2f} %")
    if result.writers is not None:  # writers are what a model meets: how far apart they are read
        print("\nper-writer accuracy:")
        for w, n, a in result.per_writer():
            print(f"  writer {w:>4}: {a * 100:6.2f} % of {n}")
    print("\nconfusion matrix:")
    print(format_confusion(result.confusion, data.class_names))
    if mistakes:
        print("\nread wrong:")
        for m in mistakes:
            print(f"  {m['source']}: {m['true']} read as {m['predicted']} ({m['confidence'] * 100:.0f} %)")
    if without:
        print(f"\neach of {without['layer']}'s {len(without['maps'])} maps switched off (every map on: "
              f"{without['accuracy'] * 100:.2f} %), the costliest first:")
        for m in without["maps"]:
            print(f"  map {m['map']:>3}: {m['accuracy'] * 100:6.2f} % ({(m['accuracy'] - without['accuracy']) * 100:+.2f} "
                  f"points; {m['class_that_loses_most']} {-m['its_loss'] * 100:+.1f})")
    return 0
