"""Where the app finds its bundled assets and keeps the user's data."""

import os
import sys
from pathlib import Path

APP_NAME = "Digit Studio"
APP_SLUG = "digit-studio"

# Environment variables a user (or a test) can set.
HOME_ENV = "DIGIT_STUDIO_HOME"  # replaces the whole user data folder
DATA_ENV = "DIGIT_STUDIO_DATA"  # a folder holding datasets


def project_root() -> Path:
    """The folder holding main.py and assets/, also inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else Path(__file__).resolve().parent.parent


def assets_dir() -> Path:
    return project_root() / "assets"


def default_model_path() -> Path:
    return assets_dir() / "default_model.pt"


def user_data_dir() -> Path:
    """The per-user folder for downloaded datasets, trained models and personal samples."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
        return base / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_SLUG


def cache_dir() -> Path:
    """Things the app can make again (drawn pen digits): safe to delete."""
    return user_data_dir() / "cache"


def runs_dir() -> Path:
    """Where training runs write their checkpoints unless told otherwise."""
    return user_data_dir() / "runs"
