"""`explain`: which pixels made the network read each image as it did (engine/explain.py)."""

import json
import re
import sys
from pathlib import Path

from cli.options import STDIN, add_model_argument, failure_line, input_name, read_image_argument
from cli.progress import ProgressBar
from engine.datasets import MIXED, DATASET_NAMES, load_dataset
from engine.digit_map import hidden_features, nearest
from engine.explain import METHODS, PATCH, overlay_picture
from engine.idx import DatasetError
from engine.invariance import CHANGES, sweep
from engine.predict import Predictor, as_number

# A test set's image by its number, as the Evaluate tab numbers them: pen#285, mnist#2035.
TEST_SETS = tuple(n for n in DATASET_NAMES if n != MIXED)
TEST_IMAGE = re.compile(rf"^({'|'.join(re.escape(n) for n in TEST_SETS)})#(\d+)$")
ALIKE = 10  # test digits named as those most like an image


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help="show which pixels made the network read each image as it did",
                       description="Read the digit in each image and attribute the answer to the pixels of the "
                                   "network's 28×28 input (integrated gradients from a blank input, or how far the "
                                   "answer's score falls with a patch covered): positive pixels push toward the "
                                   "answer, negative ones away from it. The exit status is non-zero if any file failed.")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="a picture file, - for one piped in on standard input, or a test set's image by its number as "
                        "the Evaluate tab gives it (pen#285, mnist#2035, fashion-mnist#7), read exactly as the "
                        "evaluation read it")
    p.add_argument("--method", choices=tuple(METHODS), default="gradients",
                   help="how the map is made, as the Draw tab's choice under the map of why: gradients (integrated "
                        f"gradients, the default) or occlusion (each {PATCH}×{PATCH} patch erased in turn)")
    p.add_argument("--out", metavar="DIR", help="write NAME-why.png per image: the input, red toward the answer, blue against")
    p.add_argument("--alike", choices=TEST_SETS, metavar="SET",
                   help=f"also name the {ALIKE} images of this test set ({', '.join(TEST_SETS)}) that the network's last "
                        "hidden layer makes most like each image, as the Evaluate tab's map shows them")
    p.add_argument("--changed", choices=(*CHANGES, "all"), action="append", metavar="CHANGE",
                   help="also read each image changed step by step, as the Evaluate tab's Turned and moved shows it, and "
                        f"say where the answer changes: {', '.join(CHANGES)}, or all (may be given more than once)")
    add_model_argument(p)
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    p.add_argument("--json", action="store_true",
                   help='one JSON object per line: {"path", "digit", "class", "confidence", "pixels", "saliency"} '
                        "(28×28 lists: the network input and the signed attribution for the digit; with --changed, "
                        '"changed": each change\'s steps, answers, kept span and summary)')
    p.set_defaults(handler=run)


def read_input(path: str) -> tuple[object, int | None]:
    """The picture in a file, or a test image's own 28×28 input and its label; ValueError if neither."""
    test_image = TEST_IMAGE.match(path)
    if test_image is None or Path(path).exists():
        return read_image_argument(path), None
    name, index = test_image[1], int(test_image[2])
    try:
        data = load_dataset(name, progress=ProgressBar().download, test_only=True)  # pen test writers: drawn on first use
    except DatasetError as exc:
        raise ValueError(str(exc)) from exc
    if index >= len(data.test_labels):
        raise ValueError(f"{path}: the {name} test set has {len(data.test_labels):,} images, numbered from 0")
    return data.test_input(index), int(data.test_labels[index])


class Likeness:
    """What the network's last hidden layer makes of every image of a test set, computed once for all the images explained."""

    def __init__(self, predictor: Predictor, name: str):
        try:
            self.data = load_dataset(name, progress=ProgressBar().download, test_only=True)
        except DatasetError as exc:
            raise ValueError(str(exc)) from exc
        self.name = name
        _, self.features = hidden_features(predictor.model, self.data.test_images)

    def most_alike(self, predictor: Predictor, pixels, path: str) -> list[dict]:
        """The test images most like ``pixels`` (the input read from ``path``), the image itself left out."""
        feature = predictor.last_hidden(pixels)
        names = self.data.class_names
        alike = [{"image": f"{self.name}#{i}", "label": names[int(self.data.test_labels[i])]}
                 for i in nearest(self.features, feature, ALIKE + 1)]
        return [a for a in alike if a["image"] != path][:ALIKE]


def explain_one(predictor: Predictor, path: str, out: Path | None, likeness: Likeness | None = None,
                changes: tuple[str, ...] = (), method: str = "gradients") -> dict:
    try:
        picture, label = read_input(path)
        predictions = predictor.read(picture)
    except ValueError as exc:
        return {"path": path, "error": str(exc)}
    if len(predictions) > 1:
        return {"path": path, "error": f"{len(predictions)} digits side by side ({as_number(predictions)}): explain "
                                       "shows why for one digit at a time; crop the picture to the digit to explain"}
    prediction = predictions[0]
    if prediction.digit is None:
        return {"path": path, "digit": None, "error": prediction.error}
    explanation = predictor.explain(prediction, method=method)
    record = {"path": path, "digit": prediction.digit, "class": prediction.name, "confidence": round(prediction.confidence, 6),
              "runner_up": prediction.runner_up, **({} if label is None else {"label": label}),
              "pixels": prediction.pixels.round(4).tolist(), "saliency": explanation.saliency.round(5).tolist()}
    if likeness is not None:
        record["alike"] = likeness.most_alike(predictor, prediction.pixels, path)
    if changes:
        record["changed"] = {}
        for kind in changes:
            made = sweep(predictor, prediction.pixels, kind)
            record["changed"][kind] = {"values": made.values.tolist(), "answers": made.answers.tolist(),
                                       "kept": list(made.kept_span()), "summary": made.describe(predictor.class_names)}
    if out is not None:
        picture = out / f"{'stdin' if path == STDIN else Path(path).stem}-why.png"
        overlay_picture(prediction.pixels, explanation.saliency).save(picture)
        record["overlay"] = str(picture)
    return record


def run(args) -> int:
    predictor = Predictor.load(args.model, args.device)
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        likeness = Likeness(predictor, args.alike) if args.alike else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    failures = 0
    changes = tuple(CHANGES) if "all" in (args.changed or ()) else tuple(dict.fromkeys(args.changed or ()))
    for path in args.images:
        record = explain_one(predictor, path, out, likeness, changes, args.method)
        failures += "error" in record
        if args.json:
            print(json.dumps(record), flush=True)
        elif record.get("digit") is not None:
            where = f"  → {record['overlay']}" if "overlay" in record else ""
            labelled = f", labelled {record['label']}" if "label" in record else ""
            print(f"{input_name(path)}: {record['class']}  ({record['confidence'] * 100:.1f} %){labelled}{where}")
            if "alike" in record:
                print("  most like it: " + ", ".join(f"{a['image']} ({a['label']})" for a in record["alike"]))
            for kind, changed in record.get("changed", {}).items():
                print(f"  {CHANGES[kind].name.lower()}: {changed['summary']}")
        else:
            print(failure_line(path, record['error']))
    return 1 if failures else 0
