"""Is the map of why faithful? Erase the most-attributed tenth of the ink and see the answer fall.

    python -m bench.explain [--model PATH] [--mnist 2000]

For each real digit (the pen digits of the six test writers, drawn on the canvas with the default
pen, and MNIST test digits), the answer's attribution (engine/explain.py) ranks the ink pixels; the
top 10 % are erased (set to 0) and, separately, 8 random draws of 10 % of the ink. Printed: the
mean fall in the answer's probability for each, their ratio (goal ≥ 2), the share of digits where
the top tenth hurts more than a random one, and the time per map.
"""

import argparse
import time

import numpy as np

from bench.pen_writers import DEFAULT_PEN_PX
from engine.datasets import load_dataset, pen_file
from engine.device import configure_cpu
from engine.explain import deletion_drops
from engine.pendigits import TEST_WRITERS, draw, parse_unipen
from engine.predict import Prediction, Predictor
from engine.preprocess import prepare_image


def faithfulness(predictor: Predictor, inputs: np.ndarray) -> dict:
    top, random, seconds = [], [], []
    for pixels in inputs:
        probabilities = predictor.probabilities(pixels)
        digit = int(probabilities.argmax())
        prediction = Prediction(digit, float(probabilities[digit]), probabilities, pixels)
        start = time.perf_counter()
        saliency = predictor.explain(prediction).saliency
        seconds.append(time.perf_counter() - start)
        drops = deletion_drops(predictor.probabilities, pixels, saliency, digit)
        top.append(drops[0])
        random.append(drops[1])
    top, random = np.array(top), np.array(random)
    return {"digits": len(top), "top_drop": top.mean(), "random_drop": random.mean(),
            "ratio": top.mean() / random.mean(), "top_hurts_more": (top > random).mean(),
            "ms_p50": 1000 * np.median(seconds), "ms_p95": 1000 * np.percentile(seconds, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the shipped model)")
    parser.add_argument("--mnist", type=int, default=2000, help="how many MNIST test digits")
    args = parser.parse_args()
    configure_cpu()
    predictor = Predictor.load(args.model)
    pen = [d for d in parse_unipen(pen_file()) if d.writer in TEST_WRITERS]
    sets = {
        "pen digits, 6 test writers": np.stack([prepare_image(draw(d, None, DEFAULT_PEN_PX)).pixels for d in pen]),
        f"MNIST test (first {args.mnist})": load_dataset("mnist").test_images[:args.mnist].float().div(255).numpy(),
    }
    for name, inputs in sets.items():
        r = faithfulness(predictor, inputs)
        print(f"{name}: {r['digits']} digits · erasing the top 10 % of ink lowers the answer by "
              f"{r['top_drop']:.3f}, a random 10 % by {r['random_drop']:.3f}: ratio {r['ratio']:.1f}× · "
              f"top hurts more on {r['top_hurts_more']:.0%} · map {r['ms_p50']:.1f} ms p50, {r['ms_p95']:.1f} ms p95")


if __name__ == "__main__":
    main()
