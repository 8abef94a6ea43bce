"""Kernels replayed over training: snapshots of the first two conv layers, kept with the run.

The trainer records the kernels every ``every`` steps and at each epoch's end into ``kernels.npz``
beside the run's checkpoints (float16: ~9.5 KB per snapshot for the default model). The number of
snapshots is bounded: past ``limit``, every other one is dropped and the interval doubles, so a long
run keeps an even record of its whole length in a bounded file.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from engine.checkpoint import atomic_write

FILE_NAME = "kernels.npz"
EVERY = 200  # steps between snapshots (before any thinning)
LIMIT = 240  # snapshots kept at most


@dataclass
class Replay:
    steps: list[int]
    epochs: list[float]  # fractional epoch of each snapshot
    layers: list[list[np.ndarray]]  # per snapshot: conv1 (out×in×k×k), conv2 (…)
    last_stage_from: int | None = None  # snapshots after this step are of the run's last stage, past its epochs

    def __len__(self) -> int:
        return len(self.steps)

    def in_last_stage(self, i: int) -> bool:
        return self.last_stage_from is not None and self.steps[i] > self.last_stage_from


class KernelRecorder:
    def __init__(self, every: int = EVERY, limit: int = LIMIT):
        self.every, self.limit = every, limit
        self.replay = Replay([], [], [])

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def begin_last_stage(self, step: int) -> None:
        """The snapshots after ``step`` are of the last stage (a mnist+pen run's small scans)."""
        self.replay.last_stage_from = step

    def record(self, step: int, epoch: float, kernels) -> None:
        replay = self.replay
        if replay.steps and replay.steps[-1] == step:  # the epoch's end fell on a regular snapshot
            replay.layers[-1] = [k.astype(np.float16) for k in kernels]
            return
        replay.steps.append(step)
        replay.epochs.append(epoch)
        replay.layers.append([k.astype(np.float16) for k in kernels])
        if len(replay) > self.limit:  # keep every other snapshot (the latest always) and slow down
            keep = list(range(len(replay) - 1, -1, -2))[::-1]
            replay.steps = [replay.steps[i] for i in keep]
            replay.epochs = [replay.epochs[i] for i in keep]
            replay.layers = [replay.layers[i] for i in keep]
            self.every *= 2

    def resume(self, path: Path, upto_step: int) -> None:
        """Carry on a resumed run's record, without the snapshots past the step it resumes at."""
        try:
            replay = load_replay(path)
        except ValueError:
            return
        keep = [i for i, s in enumerate(replay.steps) if s <= upto_step]
        stage = replay.last_stage_from if replay.last_stage_from is not None and replay.last_stage_from < upto_step else None
        self.replay = Replay([replay.steps[i] for i in keep], [replay.epochs[i] for i in keep],
                             [replay.layers[i] for i in keep], stage)
        while len(self.replay) > 1 and self.replay.steps[1] - self.replay.steps[0] > self.every:
            self.every *= 2  # the record was thinned before

    def save(self, path: Path) -> None:
        if not len(self.replay) or not self.replay.layers[0]:  # a network without conv layers has no kernels
            return
        replay = self.replay
        arrays = {"steps": np.array(replay.steps, np.int64), "epochs": np.array(replay.epochs, np.float32)}
        if replay.last_stage_from is not None:
            arrays["last_stage_from"] = np.array(replay.last_stage_from, np.int64)
        for i in range(len(replay.layers[0])):
            arrays[f"conv{i + 1}"] = np.stack([snapshot[i] for snapshot in replay.layers])
        atomic_write(Path(path), lambda tmp: _savez(tmp, arrays))


def _savez(path: str, arrays: dict) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_replay(path: Path) -> Replay:
    """A run's kernel record; ValueError (with the reason) if it is missing or damaged."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            steps, epochs = saved["steps"].tolist(), saved["epochs"].tolist()
            stage = int(saved["last_stage_from"]) if "last_stage_from" in saved.files else None
            names = sorted((n for n in saved.files if n.startswith("conv")), key=lambda n: int(n[4:]))
            stacks = [saved[n].astype(np.float32) for n in names]
    except FileNotFoundError:
        raise ValueError(f"{path}: no kernel replay was recorded for this run") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: damaged kernel replay ({exc.__class__.__name__})") from None
    if not stacks or any(len(s) != len(steps) for s in stacks) or len(epochs) != len(steps):
        raise ValueError(f"{path}: damaged kernel replay (its parts disagree in length)")
    return Replay(steps, epochs, [[s[i] for s in stacks] for i in range(len(steps))], stage)


def find_replay(metadata: dict, checkpoint: Path | None) -> Path | None:
    """The replay of the run that trained a model: in the run folder its metadata names, or beside
    its checkpoint; None when there is none (a model trained before replays, or the folder is gone)."""
    places = [Path(metadata["run_dir"]) / FILE_NAME] if isinstance(metadata.get("run_dir"), str) else []
    places += [Path(checkpoint).parent / FILE_NAME] if checkpoint else []
    return next((p for p in places if p.is_file()), None)


# --- pictures ------------------------------------------------------------------------------------
def diverging_rgb(values: np.ndarray, limit: float) -> np.ndarray:
    """Blue (negative) – white (zero) – red (positive), as the Kernels tab draws weights: H×W×3 uint8."""
    t = np.clip(values / (limit or 1.0), -1.0, 1.0)[..., None]
    white, red, blue = np.array([255.0, 255, 255]), np.array([178.0, 24, 43]), np.array([33.0, 102, 172])
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    return rgb.astype(np.uint8)


def frame_picture(kernels: list[np.ndarray], limits: list[float], scale: int = 8, cols: int = 8) -> np.ndarray:
    """One snapshot as a picture: conv1's filters, then conv2's filters averaged over their input
    channels, each on its own layer's fixed symmetric scale, on a grey background."""
    rows = []
    for weights, limit in zip(kernels, limits):
        tiles = weights.mean(1)  # filters × k × k
        n, k = len(tiles), tiles.shape[-1]
        grid_rows = -(-n // cols)
        cell = k * scale + 4
        picture = np.full((grid_rows * cell, cols * cell, 3), 200, np.uint8)
        for i, t in enumerate(tiles):
            r, c = divmod(i, cols)
            big = np.kron(t, np.ones((scale, scale)))
            picture[r * cell + 2: r * cell + 2 + k * scale, c * cell + 2: c * cell + 2 + k * scale] = diverging_rgb(big, limit)
        rows.append(picture)
    width = max(p.shape[1] for p in rows)
    rows = [np.pad(p, ((0, 8), (0, width - p.shape[1]), (0, 0)), constant_values=200) for p in rows]
    return np.concatenate(rows)


def save_gif(replay: Replay, path: Path, frame_ms: int = 120) -> None:
    """The replay as an animated GIF: every snapshot, the last one held for a second."""
    limits = [max(float(np.abs(snapshot[i].mean(1)).max()) for snapshot in replay.layers)
              for i in range(len(replay.layers[0]))]
    frames = [Image.fromarray(frame_picture(snapshot, limits)) for snapshot in replay.layers]
    durations = [frame_ms] * (len(frames) - 1) + [1000]
    atomic_write(Path(path), lambda tmp: frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                                                        duration=durations, loop=0))
