"""Every run kept: its folder holds ``run.json`` (configuration, when, outcome), ``metrics.jsonl``
(one JSON object per line: each reported batch and each evaluation), its checkpoints and its kernel
replay. ``list_runs`` reads the folders back; a damaged or half-written one is listed as unreadable,
never raised.
"""

import json
import math
import os
import shutil
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from engine import paths
from engine.checkpoint import atomic_write_text
from engine.config import TrainConfig
from engine.events import BatchEnd, EpochEnd, Evaluation, Failed, Finished, Started

RECORD = "run.json"
METRICS = "metrics.jsonl"


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _clean(value):
    """JSON has no NaN or infinity: a diverged loss is written as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


class RunLog:
    """Writes a run's record and metrics as its events arrive (the trainer feeds it every event)."""

    def __init__(self, folder: Path, config: dict, model_kwargs: dict, parameters: int, label: str = "",
                 resumed_at: int | None = None):
        self.folder = Path(folder)
        self.record = {"started": _now(), "status": "running", "label": label, "config": config,
                       "model_kwargs": model_kwargs, "parameters": parameters,
                       "process": {"pid": os.getpid(), "host": socket.gethostname()}}  # to tell a run killed
        self._resumed_at = resumed_at  # the epoch a resumed run carries on from
        self._metrics = None

    def _write_record(self) -> None:
        atomic_write_text(self.folder / RECORD, json.dumps(self.record, indent=1))

    def _line(self, **values) -> None:
        if self._metrics is None:  # the first step: a run that records none leaves its folder as it found it
            # A resumed run carries on its curves from its checkpoint's epoch (the batches after it are run
            # again); a new one in a folder that held a run starts them afresh.
            kept = []
            if self._resumed_at is not None:
                kept = metrics_until(self.folder, self._resumed_at)
                before = read_summary(self.folder).record  # the run as it began: when, and what it tried
                self.record.update(started=before.get("started", self.record["started"]),
                                   label=self.record["label"] or before.get("label", ""))
            atomic_write_text(self.folder / METRICS, "".join(json.dumps(row) + "\n" for row in kept))
            self._write_record()
            self._metrics = open(self.folder / METRICS, "a", encoding="utf-8")
        self._metrics.write(json.dumps({k: _clean(v) for k, v in values.items()}) + "\n")

    def __call__(self, event) -> None:
        if isinstance(event, BatchEnd):
            epoch = event.epoch - 1 + event.batch / event.batches_per_epoch
            self._line(kind="batch", step=event.step, epoch=epoch, loss=event.loss, accuracy=event.accuracy,
                       images_per_sec=event.images_per_sec, lr=event.lr)
        elif isinstance(event, Evaluation):
            self.record["val_accuracy"] = _clean(event.val_accuracy)
            self._line(kind="evaluation", step=event.step, epoch=event.epoch, loss=event.train_loss,
                       val_loss=event.val_loss, val_accuracy=event.val_accuracy, elapsed=event.elapsed)
        elif isinstance(event, EpochEnd):
            if event.val_accuracy is not None:
                self.record["val_accuracy"] = _clean(event.val_accuracy)
            self._line(kind="epoch", epoch=event.epoch, train_loss=event.train_loss,
                       train_accuracy=event.train_accuracy, val_loss=event.val_loss, val_accuracy=event.val_accuracy,
                       val_pen_accuracy=event.val_pen_accuracy, images_per_sec=event.images_per_sec, elapsed=event.elapsed)
            self._metrics.flush()
        elif isinstance(event, Started):
            self.record.update(device=event.device_name, train_size=event.train_size, val_size=event.val_size)
        elif isinstance(event, (Finished, Failed)):
            self._finish(event)

    def _finish(self, event) -> None:
        if self._metrics is None:
            return
        self._metrics.close()
        self.record["finished"] = _now()
        if isinstance(event, Finished):
            self.record.update(status="stopped" if event.stopped else "finished", test_accuracy=event.test_accuracy,
                               seconds=event.elapsed, epochs_done=event.epochs_done, checkpoint=event.checkpoint)
        else:
            self.record.update(status=event.kind, message=event.message)
        self._write_record()


@dataclass(frozen=True)
class RunSummary:
    folder: Path
    readable: bool
    problem: str = ""  # why it is unreadable
    record: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def config(self) -> dict:
        return self.record.get("config", {})

    @property
    def what(self) -> str:
        """What the run tried: its label, or the options it changed."""
        return self.record.get("label") or changed_options(self.config)

    @property
    def status(self) -> str | None:
        status = self.record.get("status")
        if status == "running" and _ended(self.record.get("process")):
            return "interrupted"  # its process was killed or crashed: last.pt resumes it from its last epoch
        return status

    @property
    def epochs_done(self) -> int:
        """Full epochs run: the record's once the run has ended, else its metrics' last."""
        if "epochs_done" in self.record:
            return int(self.record["epochs_done"])
        return max((int(r["epoch"]) for r in read_metrics(self.folder) if r.get("kind") == "epoch"), default=0)

    @property
    def resumable(self) -> bool:
        """Stopped or interrupted before its end, with a checkpoint of a finished epoch to carry on from."""
        return self.readable and self.status in ("stopped", "interrupted") and (self.folder / "last.pt").is_file()

    def row(self) -> dict:
        """What the Runs list and `runs --json` show."""
        if not self.readable:
            return {"run": self.name, "folder": str(self.folder), "readable": False, "problem": self.problem}
        r = self.record
        # Finished runs keep their last validation score in the record; a run still going (or one
        # killed) has it only in its metrics.
        val_accuracy = r["val_accuracy"] if "val_accuracy" in r else final_validation(read_metrics(self.folder))
        return {"run": self.name, "folder": str(self.folder), "readable": True, "label": r.get("label", ""),
                "what": self.what,
                "started": r.get("started"), "status": self.status, "model": self.config.get("model"),
                "dataset": self.config.get("dataset"), "test_accuracy": r.get("test_accuracy"),
                "val_accuracy": val_accuracy, "seconds": r.get("seconds")}


def changed_options(config: dict) -> str:
    """What a run without a label tried: its options that differ from the defaults, as a comparison names
    its runs ("lr=0.01, epochs=4"); model and dataset have columns of their own."""
    defaults = TrainConfig().to_dict()
    changed = [f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
               for name, value in config.items()
               if name in defaults and name not in ("model", "dataset") and value != defaults[name]]
    return ", ".join(changed) or "default options"


def _ended(process) -> bool:
    """Whether the process that wrote a "running" record is gone. Only known for a process of this
    machine (a record on a shared drive may be another computer's run)."""
    if not isinstance(process, dict) or process.get("host") != socket.gethostname():
        return False
    try:
        pid = int(process["pid"])
    except (KeyError, TypeError, ValueError):  # a damaged record: say nothing
        return False
    return not process_exists(pid)


# Windows: OpenProcess's right to ask a process's exit code; the code a process has while it runs.
PROCESS_QUERY_LIMITED_INFORMATION, STILL_ACTIVE, ERROR_ACCESS_DENIED = 0x1000, 259, 5


def process_exists(pid: int) -> bool:
    """Whether a process of this machine has the id ``pid`` (another user's counts)."""
    if os.name == "nt":  # there os.kill(pid, 0) would end the process: ask the kernel instead
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return ctypes.get_last_error() == ERROR_ACCESS_DENIED
        try:
            code = ctypes.c_ulong()
            return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value == STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)  # signal 0: asks whether it exists, sends nothing
    except ProcessLookupError:
        return False
    except OSError:  # not ours to signal: it exists
        return True
    return True


def read_summary(folder: Path) -> RunSummary:
    path = Path(folder) / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RunSummary(Path(folder), False, f"no {RECORD} (a run from an older version, or not a run)")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return RunSummary(Path(folder), False, f"damaged {RECORD} ({exc.__class__.__name__})")
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        return RunSummary(Path(folder), False, f"damaged {RECORD} (not a run record)")
    return RunSummary(Path(folder), True, record=record)


def list_runs(root: Path | None = None) -> list[RunSummary]:
    """Every folder in the runs folder, newest first."""
    # An empty folder is a run still loading its data (its record begins at its first step): nothing to list.
    return [read_summary(folder) for folder in _folders_newest_first(root) if any(folder.iterdir())]


def interrupted_run(root: Path | None = None) -> RunSummary | None:
    """The newest run, if its process ended before it did (the app or the computer stopped mid-run) and it
    can be continued: what the app offers to carry on when it starts."""
    newest = next((folder for folder in _folders_newest_first(root) if (folder / RECORD).is_file()), None)
    summary = read_summary(newest) if newest else None
    return summary if summary and summary.status == "interrupted" and summary.resumable else None


def _folders_newest_first(root: Path | None) -> list[Path]:
    """The folders in the runs folder (or ``root``), newest first: their names begin with when they began."""
    root = Path(root or paths.runs_dir())
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)


def read_metrics(folder: Path) -> list[dict]:
    """The run's metrics lines; a damaged line (a run killed mid-write) is skipped."""
    rows = []
    try:
        with open(Path(folder) / METRICS, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except (OSError, UnicodeDecodeError):
        return []
    return rows


def metrics_until(folder: Path, epoch: int) -> list[dict]:
    """The run's metrics up to the end of an epoch: what a run resumed from that epoch keeps."""
    return [row for row in read_metrics(folder) if isinstance(row.get("epoch"), (int, float)) and row["epoch"] <= epoch]


def history(rows: list[dict]) -> list[dict]:
    """The evaluation points of a run: {"step", "epoch", "loss", "val_accuracy"} (the loss is the mean
    training loss since the previous point)."""
    return [{k: row.get(k) for k in ("step", "epoch", "loss", "val_accuracy")}
            for row in rows if row.get("kind") == "evaluation"]


def final_validation(rows: list[dict]) -> float | None:
    """The last validation accuracy the run reported."""
    scores = [row["val_accuracy"] for row in rows if row.get("kind") in ("evaluation", "epoch")
              and isinstance(row.get("val_accuracy"), (int, float))]
    return scores[-1] if scores else None


def set_status(folder: Path, status: str) -> None:
    """Name how a finished run ended when its trainer could not know (a search trial its pruner stopped)."""
    summary = read_summary(folder)
    if summary.readable:
        atomic_write_text(Path(folder) / RECORD, json.dumps(summary.record | {"status": status}, indent=1))


def discard_if_empty(folder: Path) -> None:
    """Remove a folder in the runs folder that its run left empty (it ended before its first step, e.g.
    while its data loaded): the Runs list would show a run with nothing in it."""
    folder = Path(folder)
    if folder.is_dir() and folder.resolve().parent == paths.runs_dir().resolve() and not any(folder.iterdir()):
        folder.rmdir()


def delete_run(folder: Path) -> None:
    """Remove a run folder (only one inside the runs folder that looks like a run)."""
    folder = Path(folder)
    if not ((folder / RECORD).exists() or (folder / METRICS).exists() or (folder / "model.pt").exists()):
        raise ValueError(f"{folder} does not look like a run folder; not deleted")
    shutil.rmtree(folder)
