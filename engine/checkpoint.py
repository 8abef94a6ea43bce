"""One-file checkpoints: weights plus metadata, saved atomically, loaded without unpickling code.

The file is ``torch.save`` of a dict holding only tensors and plain Python values, so it loads with
``torch.load(weights_only=True)``; anything else in a file is refused.
"""

import errno
import os
import pickle
import shutil
import platform
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from engine import __version__
from engine.models import CUSTOM, ZOO, ZooNet, build_model

FORMAT = "digit-studio-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, foreign or does not fit its architecture."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class SaveError(OSError):
    """A file could not be written; the message says why in words (the disk is full, no permission…)."""


def _write_failure(path: Path, exc: BaseException) -> SaveError:
    code = getattr(exc, "errno", None)
    # torch.save reports a full disk as a RuntimeError from its zip writer ("enforce fail at
    # inline_container.cc … file write failed"), so look at the free space too.
    try:
        full = shutil.disk_usage(path.parent if path.parent.exists() else Path.cwd()).free < 16 * 2**20
    except OSError:
        full = False
    if code == errno.ENOSPC or (full and not isinstance(exc, OSError)):
        reason = "the disk is full"
    elif code in (errno.EACCES, errno.EPERM):
        reason = "no permission to write there"
    elif code == errno.EROFS:
        reason = "the disk is read-only"
    elif code in (errno.ENOTDIR, errno.EEXIST):
        reason = "part of the path is a file, not a folder"
    else:
        reason = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    return SaveError(code or errno.EIO, f"could not save {path}: {reason}")


def non_finite_tensors(state: dict) -> list[str]:
    """Names of floating-point tensors holding NaN or infinity."""
    return [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]


@dataclass
class Checkpoint:
    model: ZooNet
    metadata: dict
    training_state: dict | None  # optimizer/scheduler/progress, present in resumable checkpoints

    @property
    def model_name(self) -> str:
        return self.metadata["model"]["name"]

    @property
    def test_accuracy(self) -> float | None:
        return self.metadata.get("metrics", {}).get("test_accuracy")


def library_versions() -> dict:
    return {"digit_studio": __version__, "torch": str(torch.__version__), "python": platform.python_version()}


def make_metadata(model_name: str, config: dict | None, dataset: str, class_names, metrics: dict | None = None,
                  model_kwargs: dict | None = None, **extra) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": {"name": model_name, "kwargs": dict(model_kwargs or {})},
        "config": dict(config or {}),
        "dataset": dataset,
        "class_names": list(class_names),
        "metrics": dict(metrics or {}),
        "versions": library_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename over ``path``, so readers never see a half-written file.
    Every failure is a ``SaveError`` with a plain reason; the previous file, if any, is untouched."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; a saved model is an ordinary file
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        raise _write_failure(path, exc) from exc
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """``text`` to ``path`` as UTF-8, atomically (SaveError on failure)."""
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def ensure_writable(folder: Path) -> None:
    """Raise SaveError now, before any long work, if files cannot be written in ``folder``."""
    probe = Path(folder) / ".write-test"
    atomic_write(probe, lambda tmp: Path(tmp).write_bytes(b""))
    probe.unlink()


def save_checkpoint(path, model: ZooNet, metadata: dict, training_state: dict | None = None) -> Path:
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    broken = non_finite_tensors(state)
    if broken:
        raise CheckpointError(path, f"refused to save: the weights are not finite (NaN or infinity in {broken[0]})")
    payload = {"format": FORMAT, "metadata": metadata, "state_dict": state}
    if training_state is not None:
        payload["training_state"] = training_state
    atomic_write(Path(path), lambda tmp: torch.save(payload, tmp))
    return Path(path)


def _read_payload(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(path, "file not found")
    # torch.save always writes a zip archive; anything else (or a truncated one, which loses its
    # central directory) is not ours, and never reaches the unpickler.
    if not zipfile.is_zipfile(path):
        raise CheckpointError(path, "corrupt or not a checkpoint (not a complete PyTorch archive)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(path, "refused: it contains Python objects other than weights and plain "
                                    "data, which could run code. Only Digit Studio checkpoints load.") from None
    except Exception as exc:  # torch raises many types for damaged archives
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(path, f"corrupt or not a checkpoint ({reason})") from None


def load_checkpoint(path, device="cpu") -> Checkpoint:
    """Load a checkpoint into a fresh model in eval mode; every failure is a CheckpointError."""
    path = Path(path)
    payload = _read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(path, "not a Digit Studio checkpoint (a foreign PyTorch file?)")
    metadata = payload.get("metadata") or {}
    state = payload.get("state_dict")
    sections_ok = isinstance(metadata, dict) and all(isinstance(metadata.get(k, {}), dict) for k in ("model", "config", "metrics"))
    if not sections_ok or not isinstance(state, dict):
        raise CheckpointError(path, "damaged: its metadata or weights are not laid out as a Digit Studio checkpoint")
    name = metadata.get("model", {}).get("name")
    if name not in ZOO and name != CUSTOM:
        raise CheckpointError(path, f"unknown architecture {name!r}; this version knows {', '.join(ZOO)} and "
                                    f"{CUSTOM} networks")
    kwargs = metadata.get("model", {}).get("kwargs") or {}
    if (not isinstance(kwargs, dict) or not set(kwargs) <= {"batch_norm", "dropout", "layers", "activation"}
            or not isinstance(kwargs.get("layers", ""), str)):
        raise CheckpointError(path, f"damaged: unknown architecture options {kwargs!r}")
    try:
        model = build_model(name, **kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"damaged: architecture options {kwargs!r} ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError) as exc:
        first = str(exc).splitlines()
        detail = first[1].strip() if len(first) > 1 else (first[0] if first else "")
        raise CheckpointError(path, f"the weights do not fit the {name} architecture ({detail})") from None
    broken = non_finite_tensors(state)
    if broken:
        raise CheckpointError(path, f"the weights are not finite (NaN or infinity in {broken[0]}); "
                                    "the run that wrote it had diverged")
    model.to(device).eval()
    return Checkpoint(model, metadata, payload.get("training_state"))


def model_title(metadata: dict, name: str = "?") -> str:
    """The network's name (``name`` when the metadata has none) with the switches that changed it from its own:
    ``digitnet (tanh, no batch norm)``."""
    model = metadata.get("model", {})
    kwargs = model.get("kwargs") or {}
    switches = [kwargs["activation"]] if "activation" in kwargs else []
    if "batch_norm" in kwargs:
        switches.append("batch norm" if kwargs["batch_norm"] else "no batch norm")
    return model.get("name", name) + (f" ({', '.join(switches)})" if switches else "")


def describe(metadata: dict) -> str:
    """One line for status bars and `info`: model name, dataset and test accuracy."""
    name = model_title(metadata)
    acc = metadata.get("metrics", {}).get("test_accuracy")
    acc_text = f"{acc * 100:.2f} % test" if acc is not None else "not evaluated"
    pen = metadata.get("metrics", {}).get("pen_test_accuracy")
    if pen is not None:
        acc_text += f", {pen * 100:.2f} % unseen pen writers"
    personal = metadata.get("personalised")
    mine = f", personalised on {personal['samples']} samples" if personal else ""
    return f"{name} on {metadata.get('dataset', '?')}, {acc_text}{mine}"
