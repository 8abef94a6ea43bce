"""How little change fools the network? The Turned and moved page's "Nudged to fool it" on real digits.

    python -m bench.adversarial [--model PATH] [--digits 300]

For pen digits of the six test writers (drawn on the canvas with the default pen) and MNIST test digits,
the page's sweep (engine.invariance, 0–20 % of full ink per pixel, ten steps of projected gradient
descent): the smallest budget at which the answer changes, its median and quartiles, the share of digits
fooled within 2, 5, 10 and 20 %, how sure the network is of the new answer there and at 20 %, and the time
per sweep. Against it, the page's *Random noise, as large as the nudge* (±budget on every pixel, one fixed
pattern of signs): how often noise of each size changes the answer.
"""

import argparse
import time

import numpy as np

from bench.pen_writers import test_writer_inputs
from engine.datasets import load_dataset
from engine.device import configure_cpu
from engine.invariance import NOISE, NUDGED, sweep
from engine.predict import Predictor

WITHIN = (2, 5, 10, 20)  # % of full ink


def fooled_at(predictor: Predictor, inputs: np.ndarray) -> dict:
    budgets, sure_there, sure_at_end, noise_fooled, seconds = [], [], [], [], []
    for pixels in inputs:
        start = time.perf_counter()
        made = sweep(predictor, pixels, NUDGED)
        seconds.append(time.perf_counter() - start)
        answer = made.answers[made.unchanged_index]
        first = made.first_other()
        budgets.append(first[0] if first else np.inf)
        if first:
            sure_there.append(made.probabilities[list(made.values).index(first[0])].max())
        sure_at_end.append(made.probabilities[-1].max() if made.answers[-1] != answer else np.nan)
        noise_fooled.append(sweep(predictor, pixels, NOISE).answers != answer)
    budgets = np.array(budgets)
    noise = dict(zip(made.values, np.mean(noise_fooled, axis=0)))  # budget -> share of answers changed
    return {"digits": len(budgets), "budgets": budgets, "sure_there": float(np.mean(sure_there)),
            "sure_at_end": float(np.nanmean(sure_at_end)), "noise_fooled": noise, "ms": 1000 * float(np.median(seconds))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the shipped model)")
    parser.add_argument("--digits", type=int, default=300, help="of each set, evenly spread over it")
    args = parser.parse_args()
    configure_cpu()
    predictor = Predictor.load(args.model)
    pen, mnist = test_writer_inputs(), load_dataset("mnist").test_images.float().div(255).numpy()
    sets = {f"pen digits of the 6 test writers ({args.digits})": pen, f"MNIST test ({args.digits})": mnist}
    sets = {name: inputs[np.linspace(0, len(inputs) - 1, args.digits).astype(int)] for name, inputs in sets.items()}
    for name, inputs in sets.items():
        r = fooled_at(predictor, inputs)
        b = r["budgets"]
        finite = b[np.isfinite(b)]
        shares = " · ".join(f"≤ {w} %: {np.mean(b <= w):.0%} (random noise {r['noise_fooled'][w]:.0%})" for w in WITHIN)
        print(f"{name}: answer changed at a median {np.median(b):g} % of full ink (quartiles {np.percentile(b, 25):g}–"
              f"{np.percentile(b, 75):g} %; {len(finite)} of {r['digits']} within 20 %) · {shares} · new answer's "
              f"probability {r['sure_there']:.2f} where it first changes, {r['sure_at_end']:.2f} at 20 % · "
              f"{r['ms']:.0f} ms a sweep")


if __name__ == "__main__":
    main()
