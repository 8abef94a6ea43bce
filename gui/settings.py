"""Everything the app remembers between sessions, with its default, in one typed table.

Values are read back as the type of their default, so a settings file written by hand or by another
version gives the default instead of a wrong type.
"""

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSettings


@dataclass(frozen=True)
class Remembered:
    tab: int = 0  # the open tab
    pen_width: int = 18  # the Draw tab's pen, in pixels of the 280 px canvas
    why_on_canvas: bool = True  # lay the map of why over the drawing
    why_method: str = "gradients"  # how that map is made (engine.explain.METHODS)
    train_config: str = ""  # the Train tab's choices, as TrainConfig JSON ("" = the defaults)
    custom_layers: str = ""  # the network the user wrote, kept while a zoo network is chosen
    last_model_dir: str = ""  # where Load / Save model last looked
    last_image_dir: str = ""  # where Open image last looked
    recent_models: str = ""  # models loaded or saved, newest first, one path per line
    last_samples_dir: str = ""  # where the personal samples were last exported or imported
    last_test_set_dir: str = ""  # where the Evaluate tab last looked for the user's own digits
    evaluate_view: int = 0  # the Evaluate tab's confusion matrix, how sure vs how often right, the map, or turned and moved
    turned_and_moved: str = "turn"  # the change that page sweeps (engine.invariance.CHANGES)
    experiments_page: int = 0  # Compare, Search or Runs
    compare_preset: str = "optimizers"  # the comparison chosen (a preset's name, or custom)
    compare_quick: bool = True
    compare_vary: str = ""  # a custom comparison's options and values
    search_trials: int = 12
    search_sampler: str = "tpe"
    search_quick: bool = True
    error_rate_charts: bool = False  # accuracy charts as error rate on a log scale (View menu)
    kernels_mean_channels: bool = False  # the Kernels tab's conv2 as one mean kernel per filter
    interface_size: int = 100  # percent of the system's size, applied as the app starts (View menu)


DEFAULTS = Remembered()


def remembered(settings: QSettings, key: str):
    default = getattr(DEFAULTS, key)
    value = settings.value(key)
    if value is None:
        return default
    if isinstance(default, bool):  # an INI file holds "true" / "false"
        return value if isinstance(value, bool) else {"true": True, "false": False}.get(str(value).lower(), default)
    try:
        return type(default)(value)
    except (TypeError, ValueError):  # e.g. "abc" where a number belongs
        return default


def remember(settings: QSettings, key: str, value) -> None:
    getattr(DEFAULTS, key)  # only keys of the table: a typo fails here, not silently on the next start
    settings.setValue(key, value)


def remembered_geometry(settings: QSettings) -> QByteArray | None:
    """The window's saved geometry (Qt's own bytes, not a value with a default)."""
    geometry = settings.value("geometry")
    return geometry if isinstance(geometry, QByteArray) else None


def remember_geometry(settings: QSettings, geometry: QByteArray) -> None:
    settings.setValue("geometry", geometry)


def restore_splitters(settings: QSettings, splitters) -> None:
    """Each named splitter's bar where the user last left it, kept as each pane's share of the width, so that
    it fits a window of another size. Only a bar the user moves is remembered again: a page never opened has
    no widths of its own to keep."""
    for splitter in splitters:
        try:
            shares = [float(share) for share in str(settings.value(f"splitters/{splitter.objectName()}", "")).split()]
        except ValueError:  # a settings file written by hand
            shares = []
        if len(shares) == splitter.count() and all(0 < share < 1 for share in shares):
            splitter.setSizes([round(share * 10_000) for share in shares])  # Qt shares out the real width by these
        splitter.splitterMoved.connect(lambda _pos, _index, splitter=splitter: splitter.setProperty("moved", True))


def remember_splitters(settings: QSettings, splitters) -> None:
    for splitter in splitters:
        sizes = splitter.sizes()
        if splitter.property("moved") and sum(sizes) > 0:
            settings.setValue(f"splitters/{splitter.objectName()}", " ".join(f"{size / sum(sizes):.4f}" for size in sizes))
