"""Training throughput of the engine vs the seed tutorials' per-sample pipeline, and drawing latency.

    python -m bench.throughput [--model digitnet] [--batches 150]

Both pipelines train the same model on the same MNIST images with the same optimiser; only the
data path differs: the engine gathers whole batches by index from uint8 tensors already on the
device (augmentation off here, to compare like with like), the seed style goes through a
per-sample ``Dataset`` and ``DataLoader(batch_size=64, shuffle=True)``.
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from bench.common import machine, seed_loader
from engine.config import TrainConfig
from engine.datasets import load_dataset
from engine.device import configure_cpu, resolve_device
from engine.events import BatchEnd
from engine.models import build_model
from engine.predict import Predictor
from engine.train import Trainer


def engine_rate(config: TrainConfig, dataset, batches: int, warmup: int = 10, **trainer_options) -> float:
    """Images per second of the engine's loop over ``batches`` batches (after ``warmup`` batches)."""
    marks = {}

    def on_event(event):
        if isinstance(event, BatchEnd):
            if event.step == warmup:
                marks["start"] = time.perf_counter()
            if event.step == warmup + batches:
                marks["end"] = time.perf_counter()
                trainer.stop()

    trainer = Trainer(config, on_event, dataset=dataset, run_dir="/tmp/digit-studio-bench", evaluate_test=False,
                      **trainer_options)
    trainer.run()
    return batches * config.batch_size / (marks["end"] - marks["start"])


def seed_rate(model_name: str, dataset, device, batches: int, batch_size: int = 64) -> float:
    torch.manual_seed(0)
    model = build_model(model_name).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = iter(seed_loader(dataset.train_images, dataset.train_labels, batch_size, seed=0))
    model.train()
    for step in range(10 + batches):
        if step == 10:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        x, y = next(loader)
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()  # the seeds read the loss back every step
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * batch_size / (time.perf_counter() - start)


def drawing_latency(samples: int = 300) -> tuple[float, float]:
    """p50 and p95 milliseconds from a 280×280 drawing to class probabilities (after warm-up)."""
    predictor = Predictor.load()
    predictor.warm_up()
    rng = np.random.default_rng(0)
    times = []
    for _ in range(samples):
        img = Image.new("L", (280, 280), 255)
        points = [tuple(rng.uniform(40, 240, 2)) for _ in range(5)]
        ImageDraw.Draw(img).line(points, fill=0, width=int(rng.uniform(6, 24)), joint="curve")
        drawing = np.asarray(img)
        start = time.perf_counter()
        predictor.predict(drawing)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["digitnet", "seed001"])
    parser.add_argument("--batches", type=int, default=150, help="timed batches per pipeline (default: 150)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    configure_cpu()
    dataset = load_dataset("mnist")
    print(machine())
    for model in args.models:
        config = TrainConfig(model=model, batch_size=64, augment=False, ema=False, optimizer="adamw", lr=1e-3,
                             schedule="constant", device=str(device), checkpoint_every=0)
        seed = seed_rate(model, dataset, device, args.batches)
        ours = engine_rate(config, dataset, args.batches)
        augmented = engine_rate(TrainConfig(**{**config.to_dict(), "augment": True}), dataset, args.batches)
        print(f"training {model}, batch 64, on {device}:")
        print(f"  seed style (Dataset + DataLoader):          {seed:10,.0f} images/s")
        print(f"  engine (tensor-resident, batched by index): {ours:10,.0f} images/s   ratio {ours / seed:.2f}×")
        print(f"  engine with on-device augmentation:         {augmented:10,.0f} images/s", flush=True)
    p50, p95 = drawing_latency()
    print(f"drawing (280×280) → probabilities, shipped model, 1 image: p50 {p50:.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
