"""Do the probabilities mean what they say? Calibration error on the held-out pen writers.

    python -m bench.calibration                     # the shipped model; writes docs/reliability.png
    python -m bench.calibration MODEL.pt --png /tmp/reliability.png

Prints the expected calibration error (15 equal-width bins) of the raw softmax and of the
calibrated probabilities (logits divided by the temperature stored in the checkpoint, fitted on the
validation writers, never the test writers), draws a reliability diagram, and scores the "unsure"
rule: which share of the mistakes it flags, and which share of the right answers it questions.
Then the same digits as small scans (the views of ``bench.pen_writers``): whether the probabilities
still mean what they say where the model reads worse, and how often it is right when it is sure.
"""

import argparse

from PIL import Image, ImageDraw

from bench.pen_writers import LOW_RES, writer_set
from engine.calibrate import expected_calibration_error, reliability
from engine.device import configure_cpu
from engine.paths import default_model_path, project_root
from engine.pendigits import TEST_WRITERS
from engine.predict import UNSURE_BELOW, UNSURE_MARGIN, Predictor, questioned


def draw_diagram(panels: list[tuple[str, list]], path) -> None:
    """Side-by-side reliability diagrams: bars of accuracy per confidence bin against the diagonal."""
    size, pad = 360, 44
    image = Image.new("RGB", (len(panels) * (size + pad) + pad, size + 2 * pad + 16), "white")
    draw = ImageDraw.Draw(image)
    for i, (title, table) in enumerate(panels):
        x0, y0 = pad + i * (size + pad), pad
        draw.rectangle((x0, y0, x0 + size, y0 + size), outline="#888888")
        draw.line((x0, y0 + size, x0 + size, y0), fill="#bbbbbb", width=1)
        total = sum(n for _, _, n in table)
        for confidence, accuracy, n in table:
            centre = x0 + confidence * size
            half = max(2, size / 15 / 2 - 1)
            draw.rectangle((centre - half, y0 + size * (1 - accuracy), centre + half, y0 + size),
                           fill=(37, 99, 235) if n / total > 0.01 else (147, 197, 253))
        draw.text((x0, y0 - 30), title, fill="black")
        draw.text((x0, y0 + size + 4), "0", fill="#555555")
        draw.text((x0 + size - 4, y0 + size + 4), "1", fill="#555555")
        draw.text((x0 + size // 2 - 30, y0 + size + 4), "confidence", fill="#555555")
    draw.text((pad, size + pad + 26), "bars: accuracy per confidence bin (pale: under 1 % of the digits); "
              "diagonal: perfect calibration", fill="#555555")
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=str(default_model_path()))
    parser.add_argument("--png", default=str(project_root() / "docs" / "reliability.png"))
    args = parser.parse_args()
    configure_cpu()
    predictor = Predictor.load(args.model)
    data = writer_set(TEST_WRITERS)
    labels = data["labels"]
    calibrated = predictor.probabilities(data["drawn"])
    temperature = predictor.temperature
    predictor.temperature = 1.0
    raw = predictor.probabilities(data["drawn"])
    predictor.temperature = temperature
    print(f"{args.model}: temperature {temperature:.3f}; {len(labels)} digits of test writers {list(TEST_WRITERS)}")
    panels = []
    for name, probs in (("raw softmax", raw), (f"calibrated (T = {temperature:.2f})", calibrated)):
        ece = expected_calibration_error(probs, labels)
        print(f"  {name:>26}: expected calibration error {ece * 100:.2f} %, mean confidence "
              f"{probs.max(1).mean() * 100:.2f} %, accuracy {(probs.argmax(1) == labels).mean() * 100:.2f} %")
        panels.append((f"{name}: ECE {ece * 100:.2f} %", reliability(probs, labels)))
    draw_diagram(panels, args.png)
    print(f"  reliability diagram: {args.png}")
    wrong = calibrated.argmax(1) != labels
    print(f"  'unsure' rule on calibrated probabilities ({wrong.sum()} mistakes, {(~wrong).sum()} right):")
    for below, margin in sorted({(UNSURE_BELOW, UNSURE_MARGIN), (0.8, 0.5), (0.9, 0.5), (0.7, 0.4), (0.95, 0.6)}):
        flagged = questioned(calibrated, below, margin)
        mark = "  ← in use" if (below, margin) == (UNSURE_BELOW, UNSURE_MARGIN) else ""
        print(f"    top < {below:.2f} or margin < {margin:.2f}: flags {flagged[wrong].mean() * 100:5.1f} % of mistakes, "
              f"questions {flagged[~wrong].mean() * 100:4.1f} % of right answers{mark}")
    print("  the same digits drawn and as small scans, calibrated, with the rule in use:")
    for name in ["drawn", *LOW_RES]:
        probs = predictor.probabilities(data[name])
        right = probs.argmax(1) == labels
        flagged = questioned(probs)
        print(f"    {name:>26}: accuracy {right.mean() * 100:5.2f} %, ECE {expected_calibration_error(probs, labels) * 100:4.2f} %, "
              f"flags {flagged[~right].mean() * 100:5.1f} % of {(~right).sum()} mistakes, questions "
              f"{flagged[right].mean() * 100:4.1f} % of right answers; right {right[~flagged].mean() * 100:5.2f} % when sure")


if __name__ == "__main__":
    main()
