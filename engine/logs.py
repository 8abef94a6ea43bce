"""Logging to a rotating file in the user's log folder, so errors are kept even in a windowed bundle
with no console. Library code logs through ``logging.getLogger(__name__)``; the entry points call
``setup_logging`` once."""

import logging
import logging.handlers
from pathlib import Path

from engine import paths

LOG_FILE = "digit-studio.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def log_path() -> Path:
    return paths.log_dir() / LOG_FILE


def setup_logging(verbose: bool = False) -> Path | None:
    """Log INFO and above to the file (1 MB × 3); with ``verbose`` also DEBUG to stderr. Returns the
    log file, or None when its folder cannot be written (the app still runs, logging to stderr)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_digit_studio", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    handlers: list[logging.Handler] = []
    path: Path | None = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"))
    except OSError:
        path = None
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.DEBUG if verbose else logging.CRITICAL + 1)  # the CLI prints its own error lines
    handlers.append(stderr)
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._digit_studio = True
        root.addHandler(handler)
    return path
