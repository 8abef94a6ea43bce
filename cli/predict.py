"""`predict`: read the digit in image files; with --json, one object per input line."""

import json

from cli.options import add_model_argument, failure_line, input_name, read_image_argument
from engine.predict import Predictor


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="read digits in image files",
                       description="Read the digit in each image (any size; dark ink on light or light on dark). "
                                   "The exit status is non-zero if any file failed.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="a picture file, or - for one piped in on standard input")
    add_model_argument(p)
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    p.add_argument("--json", action="store_true", help='one JSON object per line: {"path", "digit", "class", "confidence", '
                                                       '"probabilities"} ("digit": the class number, "class": its name)')
    p.set_defaults(handler=run)


def predict_one(predictor: Predictor, path: str) -> dict:
    try:
        prediction = predictor.predict(read_image_argument(path))
    except ValueError as exc:
        return {"path": path, "error": str(exc)}
    if prediction.digit is None:
        return {"path": path, "digit": None, "confidence": 0.0,
                "probabilities": [0.0] * len(prediction.probabilities), "error": prediction.error}
    record = {"path": path, "digit": prediction.digit, "class": prediction.name,
              "confidence": round(prediction.confidence, 6),
              "probabilities": [round(float(p), 6) for p in prediction.probabilities]}
    if prediction.unsure:
        record["unsure"] = True
        record["runner_up"] = prediction.runner_up
        record["runner_up_class"] = prediction.class_names[prediction.runner_up]
    return record


def run(args) -> int:
    predictor = Predictor.load(args.model, args.device)
    failures = 0
    for path in args.images:
        record = predict_one(predictor, path)
        failures += "error" in record
        if args.json:
            print(json.dumps(record), flush=True)
        elif record.get("digit") is not None:
            hint = f"  (unsure: maybe {record['runner_up_class']})" if record.get("unsure") else ""
            print(f"{input_name(path)}: {record['class']}  ({record['confidence'] * 100:.1f} %){hint}")
        else:
            print(failure_line(path, record['error']))
    return 1 if failures else 0
