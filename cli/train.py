"""`train`: train a model from the zoo with live progress, then report test accuracy."""

import errno
import shutil
import sys
import threading
from pathlib import Path

from cli.options import add_config_arguments, add_data_dir_argument, config_from_args
from cli.progress import ProgressBar
from engine.checkpoint import SaveError, atomic_write, ensure_writable, load_checkpoint
from engine.config import TrainConfig
from engine.datasets import load_dataset
from engine.events import BatchEnd, EpochEnd, Failed, Finishing, Notice, Started, format_duration
from engine.models import build_model, format_summary
from engine.train import Trainer


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model", description="Train a network from the model zoo. "
                       "Ctrl+C stops cleanly and keeps the model trained so far.")
    add_config_arguments(p)
    add_data_dir_argument(p)
    p.add_argument("--out", metavar="DIR", help="run folder for checkpoints (default: a new one in the user data folder)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in this last.pt (its own config is used)")
    p.add_argument("--save", metavar="PATH", help="also copy the final model here (e.g. assets/default_model.pt)")
    p.set_defaults(handler=run)


def _percent(value) -> str:
    return f"{value * 100:6.2f}%" if value is not None else "   n/a"


class TrainPrinter:
    """Turns trainer events into a progress bar per epoch and one summary line per epoch."""

    def __init__(self, stream=None):
        self.bar = ProgressBar(stream)

    def __call__(self, event) -> None:
        if isinstance(event, Notice):
            self.bar.line(f"note: {event.message}")
        elif isinstance(event, Started):
            resumed = f", resuming after epoch {event.start_epoch}" if event.start_epoch else ""
            self.bar.line(f"training on {event.device_name}: {event.train_size:,} images, "
                          f"{event.val_size:,} held out for validation{resumed}")
        elif isinstance(event, BatchEnd):
            self.bar.update(f"epoch {event.epoch}", event.batch, event.batches_per_epoch,
                            f"loss {event.loss:.4f} acc {event.accuracy:6.2%} lr {event.lr:.2g} {event.images_per_sec:,.0f} img/s "
                            f"ETA {format_duration(event.seconds_left)}")
        elif isinstance(event, Finishing):
            self.bar.update("small scans", event.step, event.steps,
                            f"loss {event.loss:.4f} ETA {format_duration(event.seconds_left)}")
        elif isinstance(event, EpochEnd):
            val = f"val loss {event.val_loss:.4f} acc {_percent(event.val_accuracy)}" if event.val_loss is not None else "no validation"
            if event.val_pen_accuracy is not None:
                val += f" (unseen pen writers {_percent(event.val_pen_accuracy)})"
            self.bar.line(f"epoch {event.epoch}/{event.epochs}  train loss {event.train_loss:.4f} acc "
                          f"{_percent(event.train_accuracy)}  {val}  {event.images_per_sec:,.0f} img/s  {event.elapsed:.0f} s")


def run_interruptibly(trainer: Trainer):
    """Run the trainer in a thread; Ctrl+C asks it to stop, and its final event is always returned.

    The main thread waits on an Event, not on Thread.join: a KeyboardInterrupt that lands inside
    join() leaves CPython (3.10–3.12) believing the still-running thread has finished."""
    result = {}
    done = threading.Event()

    def work():
        try:
            result["final"] = trainer.run()
        finally:
            done.set()

    threading.Thread(target=work, name="train", daemon=True).start()
    stopping = False
    while not done.is_set():
        try:
            done.wait(0.2)
        except KeyboardInterrupt:
            if not trainer.started:  # still downloading or drawing its data: nothing to save
                print("\nstopping before training begins; nothing will be saved...", file=sys.stderr)
            else:
                print("\nstopping after this batch and saving the model..." if not stopping else
                      "\nstill saving the model; one moment...", file=sys.stderr)
            stopping = True
            trainer.stop()
    return result["final"]


def check_writable(path: Path) -> None:
    """Raise SaveError now if ``path`` cannot be written (nothing is left behind)."""
    if path.is_dir():
        raise SaveError(errno.EISDIR, f"could not save {path}: it is a folder")
    ensure_writable(path.parent)


def run(args) -> int:
    base = TrainConfig.from_dict(load_checkpoint(args.resume).metadata.get("config", {})) if args.resume else None
    config = config_from_args(args, base)
    dataset = load_dataset(config.dataset, args.data_dir, progress=ProgressBar().download)
    print(format_summary(build_model(config.model, **config.model_kwargs)), file=sys.stderr)
    run_dir = Path(args.out) if args.out else (Path(args.resume).parent if args.resume else None)
    if args.save:
        check_writable(Path(args.save))  # before hours of training, not after
    trainer = Trainer(config, TrainPrinter(), dataset=dataset, run_dir=run_dir, resume_from=args.resume,
                      data_dir=args.data_dir)
    final = run_interruptibly(trainer)
    if isinstance(final, Failed):
        print(f"error: {final.message}", file=sys.stderr)
        if final.checkpoint:
            print(f"last good checkpoint: {final.checkpoint}", file=sys.stderr)
        return 1
    if final.checkpoint is None:
        print("stopped before any training step; nothing saved", file=sys.stderr)
        return 1
    if final.test_accuracy is not None:
        print(f"test accuracy: {final.test_accuracy * 100:.2f} %")
    if final.pen_test_accuracy is not None:
        print(f"pen digits of the test writers: {final.pen_test_accuracy * 100:.2f} %")
    print(f"model saved to: {final.checkpoint}")
    if final.stopped:
        print(f"stopped after {final.epochs_done} full epoch(s); resume with: --resume {trainer.run_dir / 'last.pt'}")
    if args.save:
        try:
            atomic_write(Path(args.save), lambda tmp: shutil.copyfile(final.checkpoint, tmp))
        except SaveError as exc:
            print(f"error: {exc}; the model stays in {final.checkpoint}", file=sys.stderr)
            return 1
        print(f"copied to: {args.save}")
    return 130 if final.stopped else 0
