"""Draw the bundled pen digits once, into assets/pendigits beside their trajectories, so that no user
waits for them: the training writers' drawings (a minute and a half on 2 cores), the small scans a
mnist+pen run finishes on (a minute and a half) and the test writers' (seconds), about 12 MB in all.

Run it after changing how digits are drawn (``engine.pendigits.RENDER_VERSION``): the app looks for
drawings of the current version only, and draws them itself meanwhile. A test checks that the shipped
drawings are what the code draws.

    python packaging/draw_pen_digits.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.paths import assets_dir  # noqa: E402
from engine.pendigits import FILE_NAME, load_pen_split  # noqa: E402


def main() -> int:
    source = assets_dir() / "pendigits" / FILE_NAME  # the bundled file, whatever $DIGIT_STUDIO_DATA says
    for stale in source.parent.glob("pendigits-*.npz"):  # an earlier version's drawings
        stale.unlink()
    for part in ("test", "train", "scans"):
        split = load_pen_split(source, part, source.parent,
                               lambda what, done, total, _unit=None: print(f"\r{what}: {done}/{total}", end="", flush=True))
        print(f"\n{part}: {len(split.labels):,} drawings")
    for drawn in sorted(source.parent.glob("pendigits-*.npz")):
        print(f"{drawn.relative_to(ROOT)}: {drawn.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
