"""Text progress output for the terminal: a redrawn bar on a TTY, sparse lines in logs."""

import sys
import time

from engine.events import Downloading


class ProgressBar:
    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_line = 0.0

    def update(self, label: str, done: float, total: float | None, suffix: str = "") -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        # On a terminal redraw at most 10×/s; in a log write a line every 5 s and at the end.
        if not finished and now - self._last_line < (0.1 if self.tty else 5.0):
            return
        self._last_line = now
        if total:
            filled = int(self.width * min(1.0, done / total))
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {done / total:6.1%}"
        else:
            bar = f"{done:,.0f}"
        line = f"{label} {bar} {suffix}".rstrip()
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def download(self, label: str, done: int, total: int | None, unit: str = "bytes") -> None:
        """Signature of engine.download.Progress."""
        event = Downloading(label, done, total, unit)
        if unit == "bytes":
            amount = f"{done / 2**20:.1f} MiB" + (f" of {total / 2**20:.1f}" if total else "")
        else:
            amount = f"{done:,} of {total:,} {unit}" if total else f"{done:,} {unit}"
        self.update(event.what, done, total, amount)

    def line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()
