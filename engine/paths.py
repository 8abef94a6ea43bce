"""Where the app finds its bundled assets and keeps the user's data, and which files it opens."""

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Digit Studio"
APP_SLUG = "digit-studio"

# Environment variables a user (or a test) can set.
HOME_ENV = "DIGIT_STUDIO_HOME"  # replaces the whole user data folder
DATA_ENV = "DIGIT_STUDIO_DATA"  # a folder holding datasets

# The files the app opens (Open, a drop, a file manager's Open with) and its commands read
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm")
MODEL_SUFFIX = ".pt"


def project_root() -> Path:
    """The folder holding main.py and assets/, also inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else Path(__file__).resolve().parent.parent


def assets_dir() -> Path:
    return project_root() / "assets"


def default_model_path() -> Path:
    return assets_dir() / "default_model.pt"


def sample_digit_path(digit: int) -> Path:
    """One of the ten drawings of a digit shipped with the app (the self-test reads them; the Layers tab
    follows one until the user draws)."""
    return assets_dir() / "samples" / f"digit-{digit}.png"


def shown(path) -> str:
    """A path as a person reads it: one under their home folder begins with ~ (the full path is what
    the CLI prints, for scripts to use)."""
    path = Path(path)
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _home_override() -> Path | None:
    override = os.environ.get(HOME_ENV)
    return Path(override) if override else None


def user_data_dir() -> Path:
    """The per-user folder for what the user made: trained models, runs, personal samples.
    (Local AppData on Windows, Application Support on macOS, $XDG_DATA_HOME on Linux.)"""
    return _home_override() or Path(platformdirs.user_data_dir(APP_SLUG, appauthor=False, roaming=False))


def cache_dir() -> Path:
    """What the app can fetch or make again (downloaded datasets, drawn pen digits): safe to delete."""
    home = _home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_SLUG, appauthor=False))


def log_dir() -> Path:
    """Where the rotating log file lives."""
    home = _home_override()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP_SLUG, appauthor=False))


def datasets_dir() -> Path:
    """Downloaded datasets: a cache, as the app can download them again."""
    return cache_dir() / "datasets"


def runs_dir() -> Path:
    """Where training runs write their checkpoints unless told otherwise."""
    return user_data_dir() / "runs"
