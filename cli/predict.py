"""`predict`: read the digit in image files; with --json, one object per input line."""

import json

from cli.options import add_model_argument, failure_line, input_name, read_image_argument
from engine.predict import Prediction, Predictor, as_number


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="read digits in image files",
                       description="Read the digit in each image (any size; dark ink on light or light on dark), or "
                                   "each digit of a number written with paper between its digits. "
                                   "The exit status is non-zero if any file failed.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="a picture file, or - for one piped in on standard input")
    add_model_argument(p)
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    p.add_argument("--json", action="store_true", help='one JSON object per line: {"path", "digit", "class", "confidence", '
                                                       '"probabilities"} ("digit": the class number, "class": its name); '
                                                       'for a number, {"path", "number", "digits": [one such object per '
                                                       'digit]}')
    p.set_defaults(handler=run)


def digit_record(prediction: Prediction) -> dict:
    """One digit's answer: its class number and name, confidence, probabilities, and any doubt."""
    if prediction.digit is None:
        return {"digit": None, "confidence": 0.0, "probabilities": [0.0] * len(prediction.probabilities),
                "error": prediction.error}
    record = {"digit": prediction.digit, "class": prediction.name, "confidence": round(prediction.confidence, 6),
              "probabilities": [round(float(p), 6) for p in prediction.probabilities]}
    if prediction.unsure:
        record["unsure"] = True
        record["runner_up"] = prediction.runner_up
        record["runner_up_class"] = prediction.class_names[prediction.runner_up]
    return record


def predict_one(predictor: Predictor, path: str) -> dict:
    """A picture's answer; a number (digits side by side) gives ``number`` and one record per digit."""
    try:
        predictions = predictor.read(read_image_argument(path))
    except ValueError as exc:
        return {"path": path, "error": str(exc)}
    if len(predictions) == 1:
        return {"path": path, **digit_record(predictions[0])}
    return {"path": path, "number": as_number(predictions),
            "digits": [digit_record(p) for p in predictions]}


def answer_text(record: dict) -> str:
    """"7  (99.1 %)", with any doubt: "7  (51.0 %)  (unsure: maybe 1)"."""
    hint = f"  (unsure: maybe {record['runner_up_class']})" if record.get("unsure") else ""
    return f"{record['class']}  ({record['confidence'] * 100:.1f} %){hint}"


def number_text(record: dict) -> str:
    """"72  (7 99.9 %, 2 51.0 % unsure: maybe 3)": the number, then each digit's figures."""
    figures = [f"{d['class']} {d['confidence'] * 100:.1f} %" + (f" unsure: maybe {d['runner_up_class']}" if d.get("unsure") else "")
               if d["digit"] is not None else f"? ({d['error']})" for d in record["digits"]]
    return f"{record['number']}  ({', '.join(figures)})"


def run(args) -> int:
    predictor = Predictor.load(args.model, args.device)
    failures = 0
    for path in args.images:
        record = predict_one(predictor, path)
        failures += "error" in record or any("error" in digit for digit in record.get("digits", ()))
        if args.json:
            print(json.dumps(record), flush=True)
        elif "number" in record:
            print(f"{input_name(path)}: {number_text(record)}")
        elif record.get("digit") is not None:
            print(f"{input_name(path)}: {answer_text(record)}")
        else:
            print(failure_line(path, record['error']))
    return 1 if failures else 0
