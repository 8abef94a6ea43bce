"""Is the map of why faithful? Erase the most-attributed tenth of the ink and see the answer fall.

    python -m bench.explain [--model PATH] [--mnist 2000]

For each real digit (the pen digits of the six test writers, drawn on the canvas with the default
pen, and MNIST test digits), the answer's attribution (engine/explain.py) ranks the ink pixels; the
top 10 % are erased (set to 0) and, separately, 8 random draws of 10 % of the ink. Printed: the
mean fall in the answer's probability for each, their ratio (goal ≥ 2), the share of digits where
the top tenth hurts more than a random one, and the time per map; for each way the Draw tab makes the map
(integrated gradients, and covering parts: each 4×4 patch erased in turn). Then completeness: how far the
attributions' sum is from the logit the answer gains over a blank input, for the first 20 MNIST test
digits at 32 (the app's), 64, 128 and 256 steps, and how alike the 32- and 256-step maps are.
"""

import argparse
import time

import numpy as np
import torch

from bench.pen_writers import test_writer_inputs
from engine.datasets import load_dataset
from engine.device import configure_cpu
from engine.explain import METHODS, STEPS, deletion_drops, integrated_gradients, one_hot
from engine.predict import Prediction, Predictor


def faithfulness(predictor: Predictor, inputs: np.ndarray, method: str = "gradients") -> dict:
    top, random, seconds = [], [], []
    for pixels in inputs:
        probabilities = predictor.probabilities(pixels)
        digit = int(probabilities.argmax())
        prediction = Prediction(digit, float(probabilities[digit]), probabilities, pixels)
        start = time.perf_counter()
        saliency = predictor.explain(prediction, method=method).saliency
        seconds.append(time.perf_counter() - start)
        drops = deletion_drops(predictor.probabilities, pixels, saliency, digit)
        top.append(drops[0])
        random.append(drops[1])
    top, random = np.array(top), np.array(random)
    return {"digits": len(top), "top_drop": top.mean(), "random_drop": random.mean(),
            "ratio": top.mean() / random.mean(), "top_hurts_more": (top > random).mean(),
            "ms_p50": 1000 * np.median(seconds), "ms_p95": 1000 * np.percentile(seconds, 95)}


def completeness(predictor: Predictor, inputs: np.ndarray, steps=(STEPS, 64, 128, 256)) -> dict:
    """Relative error of the attributions' sum per step count, and the correlation of the fewest
    steps' map with the most steps' map, over the inputs (each read as its own answer)."""
    errors = {s: [] for s in steps}
    correlations = []
    for pixels in inputs:
        with torch.no_grad():
            logits = predictor.model(torch.tensor(np.stack([pixels, np.zeros_like(pixels)])).unsqueeze(1))
        digit = int(logits[0].argmax())
        gained = float(logits[0, digit] - logits[1, digit])
        maps = {s: integrated_gradients(predictor.model, pixels, one_hot(digit, logits.shape[1]), steps=s)[0]
                for s in steps}
        for s in steps:
            errors[s].append(abs(maps[s].sum() - gained) / abs(gained))
        correlations.append(np.corrcoef(maps[steps[0]].ravel(), maps[steps[-1]].ravel())[0, 1])
    return {"errors": {s: (float(np.mean(e)), float(np.max(e))) for s, e in errors.items()},
            "correlation": (float(np.median(correlations)), float(np.min(correlations)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the shipped model)")
    parser.add_argument("--mnist", type=int, default=2000, help="how many MNIST test digits")
    args = parser.parse_args()
    configure_cpu()
    predictor = Predictor.load(args.model)
    sets = {
        "pen digits, 6 test writers": test_writer_inputs(),
        f"MNIST test (first {args.mnist})": load_dataset("mnist").test_images[:args.mnist].float().div(255).numpy(),
    }
    for (name, inputs), method in ((item, method) for item in sets.items() for method in METHODS):
        r = faithfulness(predictor, inputs, method)
        print(f"{name}, {method}: {r['digits']} digits · erasing the top 10 % of ink lowers the answer by "
              f"{r['top_drop']:.3f}, a random 10 % by {r['random_drop']:.3f}: ratio {r['ratio']:.1f}× · "
              f"top hurts more on {r['top_hurts_more']:.0%} · map {r['ms_p50']:.1f} ms p50, {r['ms_p95']:.1f} ms p95")
    c = completeness(predictor, load_dataset("mnist").test_images[:20].float().div(255).numpy())
    errors = ", ".join(f"{s} steps {100 * mean:.1f} / {100 * worst:.1f} %" for s, (mean, worst) in c["errors"].items())
    print(f"completeness over 20 MNIST test digits (mean / worst error of the sum): {errors} · "
          f"{STEPS}- and 256-step maps correlate at {c['correlation'][0]:.3f} median, {c['correlation'][1]:.3f} lowest")


if __name__ == "__main__":
    main()
