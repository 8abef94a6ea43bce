"""How well do models read real people's pen digits? Writer-grouped cross-validation and test scores.

    python -m bench.pen_writers cv --folds 4 --epochs 8                  # the default mnist+pen recipe
    python -m bench.pen_writers cv --folds 4 --epochs 8 --set pen_share=0.35 --set seed=1
    python -m bench.pen_writers score assets/default_model.pt [OTHER.pt …]
    python -m bench.pen_writers reread --cv CV.json                      # the fold models, every view known now
    python -m bench.pen_writers sweep --cv CV.json                       # binarised views over pens and cuts
    python -m bench.pen_writers ceiling --view "8×8 binary"              # how much a view leaves to read
    python -m bench.pen_writers averaged --cv CV.json                    # answers averaged over copies of the input
    python -m bench.pen_writers finetune --cv CV.json                    # the fold models given the last stage
    python -m bench.pen_writers reader --cv CV.json                      # a second network for binarised pictures
    python -m bench.pen_writers restore --cv CV.json                     # binarised scans given back their grey

``cv`` trains one model per fold of the 24 training writers (MNIST's own validation split stays
fixed) and reads each fold's held-out writers: accuracy, every class, and the same digits reduced
to 16×16 and 8×8 (grey and binarised) as a scanner or a small photo gives them. ``score`` does the
same for finished models on the six test writers no shipped model trains on, plus MNIST's test set
and the synthetic drawn digits (``bench/drawn_digits.py``). ``sweep`` reads a ``cv`` run's fold models
again with other pens and other cuts of the binarised scans. ``ceiling`` asks how much of a digit a
low-resolution view leaves: a specialist trained on nothing but that view of the training writers
(drawn many times with the benchmark's pen, jittered), read on each fold's unseen writers, beside the
nearest neighbours of the raw small pictures. ``averaged`` asks what test-time averaging would give:
the fold models' answers averaged over the input and a few transformed copies of it (shifted a pixel,
blurred, its strokes thickened). ``finetune`` gives a ``cv`` run's fold models the last stage on small
scans and keeps them; ``reader`` trains a second network on binarised scans alone for each fold and
blends its answers with theirs; ``restore`` trains a small network to give binarised scans back their grey
and has the fold models read them restored. Nothing here looks at any other data.
"""

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from bench.common import config_overrides
from bench.drawn_digits import drawn_digit_set
from bench.handwriting import prepare_all
from engine.config import TrainConfig
from engine.datasets import DIGITS, MIXED, PEN, Dataset, grouped_kfold, load_dataset, pen_file, split_indices
from engine.device import configure_cpu
from engine.evaluate import evaluate
from engine.pendigits import TEST_WRITERS, cached_split, draw, draw_small_scans, parse_unipen, random_pen_width, to_canvas
from engine.predict import Predictor
from engine.preprocess import centre_of_mass_field, crop_to_ink, prepare_image, resize, small_scan
from engine.strokes import Stroke, render_strokes
from engine.train import SCAN_STAGE_LR, Trainer

DEFAULT_PEN_PX = 18.0  # the canvas slider's default


def _reduced(pixels: np.ndarray, side: int, blocks: bool = False) -> np.ndarray:
    """A 28×28 picture reduced to side×side and scaled back up, smoothly or by repeating pixels (an image
    viewer's zoom): the digit, 20 px of 28, keeps only ~side·5/7 pixels of height, fewer than a scan
    cropped to it."""
    small = Image.fromarray(pixels, mode="F").resize((side, side), Image.Resampling.BOX)
    if blocks:
        return np.asarray(small.resize((28, 28), Image.Resampling.NEAREST))
    return resize(np.asarray(small), 28, 28)


def _block_counts(drawing: np.ndarray) -> np.ndarray:
    """As the UCI optdigits set is made: a 32×32 binary bitmap of the digit, its on-pixels counted in
    4×4 blocks, an 8×8 picture of 17 grey levels."""
    return small_scan(drawing, 32, 0.5).reshape(8, 4, 8, 4).mean((1, 3))


# How a scanner, a small photo or a downsizing step may have reduced a digit: each view takes a
# drawing (280×280, dark on white) to the picture handed to ``prepare_image``. The first four are
# the goals (a scan cropped to the ink and fitted into N×N, binarised at half ink or grey);
# the rest ask whether that holds beyond one way of making them.
LOW_RES = {
    "16×16 grey": lambda d: small_scan(d, 16),
    "16×16 binary": lambda d: small_scan(d, 16, 0.5),
    "8×8 grey": lambda d: small_scan(d, 8),
    "8×8 binary": lambda d: small_scan(d, 8, 0.5),
    "6×6 grey": lambda d: small_scan(d, 6),
    "8×8 enlarged, then binary": lambda d: (resize(small_scan(d, 8), 32, 32) > 0.5).astype(np.float32),
    "input at 8×8": lambda d: _reduced(prepare_image(d).pixels, 8),
    "16×16 binary, stretched": lambda d: small_scan(d, 16, 0.5, stretch=True),
    "16×16 grey, stretched": lambda d: small_scan(d, 16, stretch=True),
    "8×8 counts of a 32×32 bitmap": _block_counts,
}

# The views made another way: the network's own 28×28 input reduced to N×N and scaled back up,
# smoothly or as blocks, then binarised (at half ink, and at 0.3 where half ink leaves a thin 8×8 stroke
# a dot or two) or left grey, and handed to the network as it is, as `evaluate` reads a dataset of
# 28×28 pictures (no `prepare_image` to find a zoom's grid or crop again).
def _input_view(side: int, blocks: bool, cut: float | None):
    def view(pixels: np.ndarray) -> np.ndarray:
        big = _reduced(pixels, side, blocks)
        return big if cut is None else (big > cut).astype(np.float32)
    return view


INPUT_VIEWS = {f"input {side}×{side}{' blocks' if blocks else ''} {'grey' if cut is None else f'cut {cut:g}'}, direct":
               _input_view(side, blocks, cut)
               for side in (16, 8) for blocks in (False, True) for cut in (None, 0.5, 0.3) if cut != 0.3 or side == 8}


def _aliased(digit, pen_px: float = 12.0) -> np.ndarray:
    """The digit as a plainer drawing program draws it on the 280 px canvas: one-pixel-sharp edges,
    square joins, no round caps."""
    picture = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(picture)
    for stroke in to_canvas(digit, None, pen_px):
        pen.line([tuple(p) for p in stroke.points * 280], fill=0, width=round(pen_px))
    return prepare_image(np.asarray(picture)).pixels


def _mnist_style(digit) -> np.ndarray:
    """The digit drawn as MNIST's pictures are made, straight into the network's input: fitted into a
    20 px box of a 28×28 field, 2 px anti-aliased strokes, centred on its centre of mass."""
    strokes = to_canvas(digit, None, DEFAULT_PEN_PX)
    every = np.concatenate([s.points for s in strokes])
    low, high = every.min(0), every.max(0)
    scale = 20 / 28 / (high - low).max()
    small = [Stroke((s.points - (low + high) / 2) * scale + 0.5, 2 / 28) for s in strokes]
    field, _, _ = centre_of_mass_field(crop_to_ink(1 - render_strokes(small, 28) / 255.0))
    return field


# The test writers' digits drawn by other programs than the canvas's renderer: what a model learnt
# from our renderer should not depend on it.
OTHER_DRAWINGS = {"aliased, square joins": _aliased, "MNIST-style 28×28, direct": _mnist_style}
VIEWS = [*LOW_RES, *INPUT_VIEWS, *OTHER_DRAWINGS]


def test_writer_inputs() -> np.ndarray:
    """The six test writers' digits, each drawn once on the canvas (default pen, no jitter), as the network's
    28×28 input."""
    return np.stack([prepare_image(draw(d, None, DEFAULT_PEN_PX)).pixels
                     for d in parse_unipen(pen_file()) if d.writer in TEST_WRITERS])


def writer_set(writers) -> dict:
    """The given writers' digits drawn once on the canvas (default pen, no jitter), as the network
    input and as each low-resolution scan: {name: N×28×28 float}, plus labels and writers."""
    digits = [d for d in parse_unipen(pen_file()) if d.writer in set(writers)]
    views = {"drawn": []} | {name: [] for name in VIEWS}
    for digit in digits:
        drawing = draw(digit, None, DEFAULT_PEN_PX)
        pixels = prepare_image(drawing).pixels
        views["drawn"].append(pixels)
        for name, view in LOW_RES.items():
            views[name].append(_prepared(view(drawing)))
        for name, view in INPUT_VIEWS.items():
            views[name].append(view(pixels))
        for name, drawn_otherwise in OTHER_DRAWINGS.items():
            views[name].append(drawn_otherwise(digit))
    out = {name: np.stack(v) for name, v in views.items()}
    out["labels"] = np.array([d.label for d in digits])
    out["writers"] = np.array([d.writer for d in digits])
    return out


def read(predictor: Predictor, data: dict) -> dict:
    labels = data["labels"]
    result = {}
    for name in ["drawn", *VIEWS]:
        predictions = predictor.probabilities(data[name]).argmax(1)
        right = predictions == labels
        result[name] = float(right.mean())
        if name == "drawn":
            result["per_class"] = [float(right[labels == d].mean()) for d in range(10)]
            result["per_writer"] = {int(w): float(right[data["writers"] == w].mean()) for w in np.unique(data["writers"])}
    return result


def line(name: str, r: dict) -> str:
    lows = "  ".join(f"{n} {r[n] * 100:.2f}" for n in VIEWS if n in r)
    worst = min(range(10), key=lambda d: r["per_class"][d])
    return (f"{name}: drawn {r['drawn'] * 100:.2f} % (worst class {worst}: {r['per_class'][worst] * 100:.1f} %)  {lows}\n"
            f"    per class " + " ".join(f"{d}:{a * 100:.1f}" for d, a in enumerate(r["per_class"])))


def run_cv(args) -> None:
    config = replace(TrainConfig(dataset=MIXED, epochs=args.epochs), **config_overrides(args.set)).validate()
    data = load_dataset(MIXED)
    groups = data.train_groups
    mnist_n = int((groups < 0).sum())
    mnist_train, mnist_val = split_indices(mnist_n, config.val_fraction, config.seed)
    pen_offset = mnist_n
    folds = grouped_kfold(groups[pen_offset:], args.folds, args.fold_seed)
    results = []
    print(f"config: {json.dumps(config.to_dict())}")
    for k, (pen_train, pen_val) in enumerate(folds, start=1):
        if args.only and k not in args.only:
            continue
        held = sorted(set(groups[pen_offset + pen_val].tolist()))
        split = (torch.cat([mnist_train, pen_offset + pen_train]), torch.cat([mnist_val, pen_offset + pen_val]))
        start = time.perf_counter()
        trainer = Trainer(config, dataset=data, split=split, run_dir=Path(args.out) / f"fold{k}")
        final = trainer.run()
        predictor = Predictor(trainer.model.cpu(), "cpu")
        scores = read(predictor, writer_set(held))
        scores["mnist"] = evaluate(predictor.model, data.test_images, data.test_labels).accuracy
        scores.update(fold=k, writers=held, seconds=time.perf_counter() - start, checkpoint=getattr(final, "checkpoint", None))
        results.append(scores)
        print(line(f"fold {k} writers {held}", scores) + f"\n    MNIST test {scores['mnist'] * 100:.2f} %  "
              f"({scores['seconds']:.0f} s)", flush=True)
    summarise(results)
    if args.json:
        Path(args.json).write_text(json.dumps({"config": config.to_dict(), "folds": results}, indent=1))


def run_reread(args) -> None:
    """A cv run's fold models read their unseen writers again, with every view this script knows now:
    views added since the run are measured without training again."""
    cv = json.loads(Path(args.cv).read_text())
    mnist = load_dataset("mnist")
    results = []
    for fold in cv["folds"]:
        predictor = Predictor.load(fold["checkpoint"])
        scores = read(predictor, writer_set(fold["writers"]))
        scores.update(fold=fold["fold"], writers=fold["writers"], checkpoint=fold["checkpoint"],
                      mnist=evaluate(predictor.model, mnist.test_images, mnist.test_labels).accuracy)
        results.append(scores)
        print(line(f"fold {fold['fold']} writers {fold['writers']}", scores), flush=True)
    summarise(results)
    if args.json:
        Path(args.json).write_text(json.dumps({"config": cv["config"], "folds": results}, indent=1))


def summarise(results: list[dict]) -> None:
    summary = {key: [r[key] for r in results] for key in ["drawn", "mnist", *VIEWS]}
    print("\nover folds (mean, min–max):")
    for key, values in summary.items():
        print(f"  {key:>25}: {np.mean(values) * 100:.2f} % ({min(values) * 100:.2f}–{max(values) * 100:.2f})")
    per_class = np.array([r["per_class"] for r in results])
    print("  worst class per fold: " + ", ".join(f"{int(c.argmin())}: {c.min() * 100:.1f} %" for c in per_class))
    writers = [a for r in results for a in r["per_writer"].values()]
    print(f"  per writer: median {np.median(writers) * 100:.2f} %, lowest {min(writers) * 100:.2f} %")


def _shifted(dx: int, dy: int):
    return lambda x: F.pad(x, (1, 1, 1, 1))[:, :, 1 - dy:29 - dy, 1 - dx:29 - dx]


def _blurred(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([0.25, 0.5, 0.25])
    return F.conv2d(x, (k[:, None] * k[None]).reshape(1, 1, 3, 3), padding=1)


def _thickened(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x + 0.5 * F.max_pool2d(x, 3, 1, 1)


# Copies of the network's input whose answers are averaged with the input's own (test-time averaging).
SHIFTS = [_shifted(1, 0), _shifted(-1, 0), _shifted(0, 1), _shifted(0, -1)]
AVERAGED = {"the input alone": [], "±1 px shifts": SHIFTS, "blurred, thickened": [_blurred, _thickened],
            "shifts, blurred, thickened": [*SHIFTS, _blurred, _thickened]}


class Averaged:
    """Reads as ``predictor`` does, with each answer the mean of the probabilities over the input and
    ``copies`` of it (N×1×28×28 → N×1×28×28 functions)."""

    def __init__(self, predictor: Predictor, copies):
        self.predictor, self.copies = predictor, copies

    def probabilities(self, pixels: np.ndarray, batch: int = 1000) -> np.ndarray:
        out = []
        for i in range(0, len(pixels), batch):
            x = torch.as_tensor(pixels[i:i + batch], dtype=torch.float32).reshape(-1, 1, 28, 28)
            views = [x, *(copy(x) for copy in self.copies)]
            out.append(np.mean([self.predictor.probabilities(v.reshape(-1, 28, 28).numpy()) for v in views], 0))
        return np.concatenate(out)


def run_averaged(args) -> None:
    folds = json.loads(Path(args.cv).read_text())["folds"]
    mnist = load_dataset("mnist")
    results = {name: [] for name in AVERAGED}
    right_by_class = {name: np.zeros(10) for name in AVERAGED}
    counts = np.zeros(10)
    for fold in folds:
        predictor = Predictor.load(fold["checkpoint"])
        data = writer_set(fold["writers"])
        counts += np.bincount(data["labels"], minlength=10)
        for name, copies in AVERAGED.items():
            reader = Averaged(predictor, copies)
            r = read(reader, data)
            r["mnist"] = float((reader.probabilities(mnist.test_images.numpy() / 255.0).argmax(1) == mnist.test_labels.numpy()).mean())
            right_by_class[name] += np.array(r["per_class"]) * np.bincount(data["labels"], minlength=10)
            results[name].append(r)
        print(f"fold {fold['fold']} read", flush=True)
    for name, fold_results in results.items():
        print(f"\n== {name}{'' if not AVERAGED[name] else f' and the input: {len(AVERAGED[name]) + 1} answers averaged'}")
        summarise(fold_results)
        per_class = right_by_class[name] / counts
        print(f"  every class over the {len(folds)} folds' writers: " + " ".join(f"{d}:{a * 100:.1f}" for d, a in enumerate(per_class)))


def _prepared(picture: np.ndarray) -> np.ndarray:
    """The network's input for a picture; a scan whose ink all fell under the threshold is blank."""
    pixels = prepare_image(picture).pixels
    return np.zeros((28, 28), np.float32) if pixels is None else pixels


def specialist_data(digits, variants: int, view, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each digit drawn ``variants`` times (the first as the benchmark draws it, the rest jittered with a
    pen of 14–22 px around its 18) and seen through ``view``: (prepared N×28×28, raw pictures N×pixels)."""
    rng = np.random.default_rng(seed)
    prepared, raw = [], []
    for digit in digits:
        for v in range(variants):
            drawing = draw(digit, None, DEFAULT_PEN_PX) if v == 0 else draw(digit, rng, rng.uniform(14, 22))
            small = view(drawing)
            prepared.append(_prepared(small))
            raw.append(small.ravel())
    return np.stack(prepared), np.stack(raw)


def nearest_neighbours(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, k: int = 3) -> np.ndarray:
    distances = (test ** 2).sum(1)[:, None] - 2 * test @ train.T + (train ** 2).sum(1)[None]
    nearest = np.argsort(distances, 1)[:, :k]
    votes = np.zeros((len(test), 10))
    for rank in range(k):  # nearer neighbours break ties
        np.add.at(votes, (np.arange(len(test)), train_labels[nearest[:, rank]]), 1 - 0.01 * rank)
    return votes.argmax(1)


def run_ceiling(args) -> None:
    config = replace(TrainConfig(dataset=PEN, epochs=args.epochs, augment=False), **config_overrides(args.set)).validate()
    digits = [d for d in parse_unipen(pen_file()) if d.writer not in TEST_WRITERS]
    writers = np.array([d.writer for d in digits])
    labels = np.array([d.label for d in digits])
    prepared, raw = specialist_data(digits, args.variants, LOW_RES[args.view], seed=0)
    every = np.repeat(np.arange(len(digits)), args.variants)
    labels = labels[every]
    if args.mnist:  # more writers than the pen digits have: MNIST's training digits through the same view
        mnist = load_dataset("mnist")
        extra = [_prepared(LOW_RES[args.view](255 - image)) for image in mnist.train_images[:args.mnist].numpy()]
        prepared = np.concatenate([prepared, np.stack(extra)])
        labels = np.concatenate([labels, mnist.train_labels[:args.mnist].numpy()])
        every = np.concatenate([every, np.full(args.mnist, -1)])  # in no fold: always trained on
    data = Dataset(PEN, DIGITS, torch.from_numpy(np.round(prepared * 255).astype(np.uint8)), torch.from_numpy(labels),
                   torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.int64))
    first = np.arange(len(prepared)) % args.variants == 0  # as the benchmark draws it
    folds = grouped_kfold(torch.from_numpy(writers), args.folds, args.fold_seed)
    print(f"{args.view}: a specialist ({config.model}, {args.epochs} epochs, {args.variants} drawings per digit"
          f"{f', {args.mnist:,} MNIST digits' if args.mnist else ''}) "
          f"and 3 nearest neighbours, per fold of unseen writers")
    scores = {"specialist": [], "neighbours": []}
    for k, (train_digits, held_digits) in enumerate(folds, start=1):
        train = np.isin(every, train_digits.numpy()) | (every < 0)
        held = np.isin(every, held_digits.numpy()) & first
        split = (torch.from_numpy(np.flatnonzero(train)), torch.from_numpy(np.flatnonzero(held)))
        trainer = Trainer(config, dataset=data, split=split, run_dir=Path(args.out) / f"fold{k}", evaluate_test=False)
        trainer.run()
        predicted = Predictor(trainer.model.cpu(), "cpu").probabilities(prepared[held]).argmax(1)
        scores["specialist"].append(float((predicted == labels[held]).mean()))
        pen_train = train[:len(raw)] & (every[:len(raw)] >= 0)
        neighbours = nearest_neighbours(raw[pen_train], labels[:len(raw)][pen_train], raw[held[:len(raw)]])
        scores["neighbours"].append(float((neighbours == labels[held]).mean()))
        print(f"fold {k}: specialist {scores['specialist'][-1] * 100:.2f} %   "
              f"nearest neighbours {scores['neighbours'][-1] * 100:.2f} %", flush=True)
    for name, values in scores.items():
        print(f"  {name:>10}: {np.mean(values) * 100:.2f} % ({min(values) * 100:.2f}–{max(values) * 100:.2f})")


def _binary_scan(side: int, cut: float = 0.5, pen_px: float = DEFAULT_PEN_PX):
    """A pen digit drawn with a pen of ``pen_px``, fitted into side×side and cut at ``cut`` of full ink."""
    return lambda digit: small_scan(draw(digit, None, pen_px), side, cut)


# Binarised views of the unseen writers beyond the one (pen 18, cut at half ink): other pens, cuts, sides.
BINARY_VIEWS = {
    "8×8 binary": _binary_scan(8),
    "8×8 enlarged, then binary": lambda digit: LOW_RES["8×8 enlarged, then binary"](draw(digit, None, DEFAULT_PEN_PX)),
    "8×8 binary, pen 30": _binary_scan(8, pen_px=30.0),
    "8×8 cut at 0.3, pen 10": _binary_scan(8, 0.3, 10.0),
    "6×6 binary": _binary_scan(6),
    "12×12 binary": _binary_scan(12),
    "16×16 binary": _binary_scan(16),
    "drawn": lambda digit: draw(digit, None, DEFAULT_PEN_PX),
}


def binary_views(digits) -> dict:
    """Each of ``BINARY_VIEWS`` of the digits, as the network's inputs."""
    return {name: np.stack([_prepared(view(d)) for d in digits]) for name, view in BINARY_VIEWS.items()}


def run_finetune(args) -> None:
    """A cv run's fold models given the last stage of a mnist+pen run (``Trainer._finish_on_scans``: half of
    each batch small binarised scans of the fold's training writers) as if they had just finished their
    epochs, then reading their unseen writers' binarised views, drawn digits and MNIST's test set, before
    and after: the stage measured without training the folds again."""
    cv = json.loads(Path(args.cv).read_text())
    config = replace(TrainConfig.from_dict(cv["config"]), **config_overrides(args.set)).validate()
    data = load_dataset(MIXED)
    groups = data.train_groups
    mnist_n = int((groups < 0).sum())
    mnist_train, mnist_val = split_indices(mnist_n, config.val_fraction, config.seed)
    folds = grouped_kfold(groups[mnist_n:], len(cv["folds"]), args.fold_seed)
    digits = [d for d in parse_unipen(pen_file()) if d.writer not in TEST_WRITERS]
    writers, labels = np.array([d.writer for d in digits]), np.array([d.label for d in digits])
    views = binary_views(digits)
    synthetic, synthetic_labels = drawn_digit_set(200, 2026)
    synthetic = prepare_all(synthetic)
    print(f"the last stage: {config.scan_epochs:g} passes over the scans, peak learning rate {config.lr * SCAN_STAGE_LR:g}")
    table = {name: ([], []) for name in [*BINARY_VIEWS, "MNIST test", "synthetic drawn"]}
    for fold, (pen_train, pen_val) in zip(cv["folds"], folds):
        held = np.isin(writers, fold["writers"])
        assert set(groups[mnist_n + pen_val].tolist()) == set(fold["writers"]), "folds drawn otherwise than the cv run's"
        split = (torch.cat([mnist_train, mnist_n + pen_train]), torch.cat([mnist_val, mnist_n + pen_val]))
        trainer = Trainer(config, dataset=data, split=split, run_dir=Path(args.out) / f"fold{fold['fold']}")
        trainer._setup()
        trained = Predictor.load(fold["checkpoint"]).model.state_dict()
        trainer._net.load_state_dict(trained)
        trainer._average.model.load_state_dict(trained)
        trainer._average.updates = config.epochs * trainer.batches_per_epoch  # as a finished run's average

        def scores(model) -> dict:
            reader = Predictor(model.cpu(), "cpu")
            out = {name: float((reader.probabilities(v[held]).argmax(1) == labels[held]).mean()) for name, v in views.items()}
            return out | {"MNIST test": evaluate(model, data.test_images, data.test_labels).accuracy,
                          "synthetic drawn": float((reader.probabilities(synthetic).argmax(1) == synthetic_labels).mean())}
        before = scores(trainer.model)
        trainer._finish_on_scans()
        trainer._save("model.pt", trainer._metadata({}))  # for `reader`
        after = scores(trainer.model)
        for name in table:
            table[name][0].append(before[name])
            table[name][1].append(after[name])
        print(f"fold {fold['fold']}: " + "  ".join(f"{n} {before[n] * 100:.2f} → {after[n] * 100:.2f}" for n in table), flush=True)
    print("\nunseen writers, mean over folds (after the stage: each fold)")
    for name, (before, after) in table.items():
        print(f"{name:>26}: {np.mean(before) * 100:.2f} → {np.mean(after) * 100:.2f} %   "
              + " / ".join(f"{a * 100:.2f}" for a in after))


def run_reader(args) -> None:
    """A second network for binarised pictures: trained on nothing but small binarised scans of each
    fold's training writers (``engine.pendigits.draw_small_scans``: random pens, jitter, 6–12 px, cut at
    30–60 % of full ink, half enlarged before the cut; ``--variants`` drawings a digit), then read alone and
    with its probabilities blended into those of the fold's general model (``finetune``'s, which keeps
    them in its run folders) on the fold's unseen writers' binarised views and drawings."""
    cv = json.loads(Path(args.cv).read_text())
    config = replace(TrainConfig(dataset=PEN, epochs=args.epochs, augment=True), **config_overrides(args.set)).validate()
    digits = [d for d in parse_unipen(pen_file()) if d.writer not in TEST_WRITERS]
    writers, labels = np.array([d.writer for d in digits]), np.array([d.label for d in digits])
    cache = Path(args.out) / f"scans-{args.variants}.npz"
    cache.parent.mkdir(parents=True, exist_ok=True)
    # 24 drawings of every digit take ten minutes on one core: kept as the engine keeps its pen drawings.
    scans = cached_split(cache, lambda: draw_small_scans(digits, args.variants, seed=0))
    data = Dataset(PEN, DIGITS, torch.from_numpy(scans.images), torch.from_numpy(scans.labels).long(),
                   torch.zeros(0, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.int64))
    views = binary_views(digits)  # and the drawings
    blends = {"general": 0.0, "reader": 1.0, "half each": 0.5, "reader 0.7": 0.7}
    table = {}
    for fold in cv["folds"]:
        held = np.isin(writers, fold["writers"])
        held_scans = np.isin(scans.writers, fold["writers"])
        split = (torch.from_numpy(np.flatnonzero(~held_scans)), torch.from_numpy(np.flatnonzero(held_scans)))
        trainer = Trainer(config, dataset=data, split=split, run_dir=Path(args.out) / f"reader{fold['fold']}",
                          evaluate_test=False)
        trainer.run()
        reader = Predictor(trainer.model.cpu(), "cpu")
        general = Predictor.load(Path(args.general) / f"fold{fold['fold']}" / "model.pt")
        for name, v in views.items():
            g, r = general.probabilities(v[held]), reader.probabilities(v[held])
            for blend, w in blends.items():
                right = ((w * r + (1 - w) * g).argmax(1) == labels[held]).mean()
                table.setdefault((name, blend), []).append(float(right))
        print(f"fold {fold['fold']}: 8×8 binary " + "  ".join(f"{b} {table[('8×8 binary', b)][-1] * 100:.2f}" for b in blends),
              flush=True)
    print(f"\nunseen writers, mean over folds (each fold); the reader: {args.variants} scans a digit, {args.epochs} epochs")
    for (name, blend), values in table.items():
        print(f"{name:>26} {blend:>10}: {np.mean(values) * 100:.2f} %   " + " / ".join(f"{v * 100:.2f}" for v in values))


RESTORED_SIDE = 16  # the restorer reads every small scan padded to this side (paper: zeros)
RESTORED_VIEWS = {  # name: side, cut, pen
    "8×8 binary": (8, 0.5, DEFAULT_PEN_PX), "8×8 binary, pen 30": (8, 0.5, 30.0), "8×8 cut at 0.3, pen 10": (8, 0.3, 10.0),
    "6×6 binary": (6, 0.5, DEFAULT_PEN_PX), "12×12 binary": (12, 0.5, DEFAULT_PEN_PX),
}


def _padded(small: np.ndarray) -> np.ndarray:
    out = np.zeros((RESTORED_SIDE, RESTORED_SIDE), np.float32)
    at = (RESTORED_SIDE - small.shape[0]) // 2
    out[at:at + small.shape[0], at:at + small.shape[1]] = small
    return out


class Restorer(torch.nn.Module):
    """Five 3×3 layers, dilated 1-2-4-2-1 so that each output sees the whole 8×8 scan, from a binarised scan to
    logits of its grey; it starts near the input."""

    def __init__(self, width: int = 48):
        super().__init__()
        layers, channels = [], 1
        for dilation in (1, 2, 4, 2, 1):
            layers += [torch.nn.Conv2d(channels, width, 3, padding=dilation, dilation=dilation),
                       torch.nn.BatchNorm2d(width), torch.nn.ReLU()]
            channels = width
        self.net = torch.nn.Sequential(*layers, torch.nn.Conv2d(width, 1, 1))

    def forward(self, x):
        return self.net(x) + 4.0 * (x - 0.5)

    @torch.no_grad()
    def restore(self, small: np.ndarray) -> np.ndarray:
        at = (RESTORED_SIDE - small.shape[0]) // 2
        grey = torch.sigmoid(self(torch.from_numpy(_padded(small))[None, None]))[0, 0].numpy()
        return grey[at:at + small.shape[0], at:at + small.shape[1]]


def restorer_pairs(digits, variants: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each digit drawn ``variants`` times (random pen, jitter), fitted into 6–12 px: (binarised at 30–60 % of
    full ink, grey), padded."""
    rng = np.random.default_rng(seed)
    binary, grey = [], []
    for digit in digits:
        for _ in range(variants):
            side = int(rng.integers(6, 13))
            scan = small_scan(draw(digit, rng, random_pen_width(rng)), side)
            cut = (scan > rng.uniform(0.3, 0.6)).astype(np.float32)
            if cut.any():
                binary.append(_padded(cut))
                grey.append(_padded(scan))
    return np.stack(binary), np.stack(grey)


def train_restorer(binary: np.ndarray, grey: np.ndarray, epochs: int, seed: int = 0) -> Restorer:
    torch.manual_seed(seed)
    net = Restorer()
    x, y = torch.from_numpy(binary)[:, None], torch.from_numpy(grey)[:, None]
    batches = len(x) // 256
    optimizer = torch.optim.AdamW(net.parameters(), 3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=epochs * batches)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for b in range(batches):
            rows = order[b * 256:(b + 1) * 256]
            loss = F.binary_cross_entropy_with_logits(net(x[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return net.eval()


def run_restore(args) -> None:
    """Binarised small scans given back their grey before the general model reads them: per fold of a ``cv`` run,
    a restorer trained on the fold's training writers (``restorer_pairs``), then the fold model reads each view
    of its unseen writers direct, restored, and with the two readings averaged, beside the grey scan itself."""
    cv = json.loads(Path(args.cv).read_text())
    digits = [d for d in parse_unipen(pen_file()) if d.writer not in TEST_WRITERS]
    table = {}
    for fold in cv["folds"]:
        held = [d for d in digits if d.writer in fold["writers"]]
        start = time.perf_counter()
        net = train_restorer(*restorer_pairs([d for d in digits if d.writer not in fold["writers"]], args.variants, 0),
                             args.epochs)
        model = Predictor.load(fold["checkpoint"])
        labels = np.array([d.label for d in held])
        for name, (side, cut, pen) in RESTORED_VIEWS.items():
            greys = [small_scan(draw(d, None, pen), side) for d in held]
            cuts = [(g > cut).astype(np.float32) for g in greys]
            direct = model.probabilities(np.stack([_prepared(c) for c in cuts]))
            restored = model.probabilities(np.stack([_prepared(net.restore(c)) for c in cuts]))
            grey = model.probabilities(np.stack([_prepared(g) for g in greys]))
            for how, p in (("direct", direct), ("restored", restored), ("averaged", direct + restored), ("grey", grey)):
                table.setdefault((name, how), []).append(float((p.argmax(1) == labels).mean()))
        print(f"fold {fold['fold']} ({time.perf_counter() - start:.0f} s): 8×8 binary " + "  ".join(
            f"{how} {table[('8×8 binary', how)][-1] * 100:.2f}" for how in ("direct", "restored", "averaged", "grey")),
            flush=True)
    print(f"\nunseen writers, mean over folds (each fold); restorer: {args.variants} scans a digit, {args.epochs} epochs")
    for (name, how), values in table.items():
        print(f"{name:>24} {how:>9}: {np.mean(values) * 100:.2f} %   " + " / ".join(f"{v * 100:.2f}" for v in values))


def run_sweep(args) -> None:
    """How the binarised views depend on the pen and the cut: each fold model of a ``cv`` run reads its
    unseen writers drawn with each pen, fitted into 16×16 and 8×8, grey and cut at each threshold."""
    folds = json.loads(Path(args.cv).read_text())["folds"]
    digits = parse_unipen(pen_file())
    views = {f"{side}×{side} {'grey' if cut is None else f'cut {cut:g}'}": (side, cut)
             for side in (16, 8) for cut in [None, *args.thresholds]}
    scores = {(pen, name): [] for pen in args.pens for name in views}
    for fold in folds:
        writers = set(fold["writers"])
        held = [d for d in digits if d.writer in writers]
        labels = np.array([d.label for d in held])
        predictor = Predictor.load(fold["checkpoint"])
        for pen in args.pens:
            drawings = [draw(d, None, pen) for d in held]
            for name, (side, cut) in views.items():
                pictures = np.stack([_prepared(small_scan(d, side, cut)) for d in drawings])
                scores[pen, name].append(float((predictor.probabilities(pictures).argmax(1) == labels).mean()))
        print(f"fold {fold['fold']} read", flush=True)
    print(f"\nunseen writers, mean over {len(folds)} folds (pen in px of the 280 px canvas; the slider's default "
          f"is {DEFAULT_PEN_PX:g})")
    print(f"{'':>16}" + "".join(f"{f'pen {pen:g}':>10}" for pen in args.pens))
    for name in views:
        print(f"{name:>16}" + "".join(f"{np.mean(scores[pen, name]) * 100:>9.2f}%" for pen in args.pens))


def run_score(args) -> None:
    data = writer_set(TEST_WRITERS)
    mnist = load_dataset("mnist")
    pen = load_dataset(PEN)
    images, labels = drawn_digit_set(200, 2026)
    drawn_pixels = prepare_all(images)
    print(f"test writers {list(TEST_WRITERS)}: {len(data['labels'])} digits")
    for path in args.models:
        predictor = Predictor.load(path)
        r = read(predictor, data)
        r["mnist"] = evaluate(predictor.model, mnist.test_images, mnist.test_labels).accuracy
        r["synthetic"] = float((predictor.probabilities(drawn_pixels).argmax(1) == labels).mean())
        writers = list(r["per_writer"].values())
        print(line(str(path), r))
        varied = predictor.probabilities(pen.test_images.numpy() / 255.0).argmax(1) == pen.test_labels.numpy()
        classes = [varied[pen.test_labels.numpy() == d].mean() * 100 for d in range(10)]
        print(f"    the test split as the app draws it (pen 5–34 px): {varied.mean() * 100:.2f} %, per class "
              + " ".join(f"{d}:{a:.1f}" for d, a in enumerate(classes)))
        print(f"    per writer {min(writers) * 100:.2f}–{max(writers) * 100:.2f} %   MNIST test {r['mnist'] * 100:.2f} %   "
              f"synthetic drawn {r['synthetic'] * 100:.2f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    cv = sub.add_parser("cv", help="writer-grouped cross-validation of a recipe")
    cv.add_argument("--folds", type=int, default=4)
    cv.add_argument("--fold-seed", type=int, default=0)
    cv.add_argument("--only", type=int, nargs="*", help="run only these folds (1-based)")
    cv.add_argument("--epochs", type=int, default=8)
    cv.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a TrainConfig field")
    cv.add_argument("--out", default="/tmp/pen-cv", help="where the fold runs are written")
    cv.add_argument("--json", help="write every figure to this file")
    reread = sub.add_parser("reread", help="a cv run's fold models read their unseen writers with every view")
    reread.add_argument("--cv", required=True, help="the --json file of a cv run")
    reread.add_argument("--json", help="write every figure to this file")
    score = sub.add_parser("score", help="score models on the test writers, MNIST and the synthetic set")
    score.add_argument("models", nargs="+")
    sweep = sub.add_parser("sweep", help="binarised views over pens and cuts, with a cv run's fold models")
    sweep.add_argument("--cv", required=True, help="the --json file of a cv run")
    sweep.add_argument("--pens", type=float, nargs="+", default=[6, 10, 18, 30])
    sweep.add_argument("--thresholds", type=float, nargs="+", default=[0.15, 0.3, 0.5])
    ceiling = sub.add_parser("ceiling", help="how well a specialist reads one low-resolution view")
    ceiling.add_argument("--view", default="8×8 binary", choices=list(LOW_RES))
    ceiling.add_argument("--folds", type=int, default=4)
    ceiling.add_argument("--fold-seed", type=int, default=0)
    ceiling.add_argument("--variants", type=int, default=6, help="drawings of each training digit")
    ceiling.add_argument("--mnist", type=int, default=0, help="also train on this many MNIST digits seen through the view")
    ceiling.add_argument("--epochs", type=int, default=12)
    ceiling.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a TrainConfig field")
    ceiling.add_argument("--out", default="/tmp/pen-ceiling", help="where the fold runs are written")
    finetune = sub.add_parser("finetune", help="a cv run's fold models given the last stage on small scans")
    finetune.add_argument("--cv", required=True, help="the --json file of a cv run")
    finetune.add_argument("--fold-seed", type=int, default=0)
    finetune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a TrainConfig field")
    finetune.add_argument("--out", default="/tmp/pen-finetune", help="where the fold runs are written")
    reader = sub.add_parser("reader", help="a second network for binarised pictures, alone and blended with a finetune run's")
    reader.add_argument("--cv", required=True, help="the --json file of a cv run")
    reader.add_argument("--general", default="/tmp/pen-finetune", help="a finetune run's --out (its fold models)")
    reader.add_argument("--variants", type=int, default=24, help="scans drawn of each training digit")
    reader.add_argument("--epochs", type=int, default=12)
    reader.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a TrainConfig field")
    reader.add_argument("--out", default="/tmp/pen-reader", help="where the scans and the fold runs are written")
    restore = sub.add_parser("restore", help="binarised scans given back their grey by a small network, then read")
    restore.add_argument("--cv", required=True, help="the --json file of a cv run")
    restore.add_argument("--variants", type=int, default=12, help="scans drawn of each training digit")
    restore.add_argument("--epochs", type=int, default=6)
    averaged = sub.add_parser("averaged", help="a cv run's fold models with answers averaged over copies of the input")
    averaged.add_argument("--cv", required=True, help="the --json file of a cv run")
    args = parser.parse_args()
    configure_cpu()
    {"cv": run_cv, "reread": run_reread, "score": run_score, "sweep": run_sweep, "ceiling": run_ceiling,
     "finetune": run_finetune, "reader": run_reader, "averaged": run_averaged, "restore": run_restore}[args.command](args)


if __name__ == "__main__":
    main()
