"""Start-up time of the built app to its first windows, cold and warm. Run under a display:

    xvfb-run -a python packaging/measure_startup.py [dist/DigitStudio/DigitStudio] [--runs 5]

"cold" drops the OS page cache first (needs root; otherwise it is skipped and said so), so every
library is read from disk as on a first launch after boot; "warm" runs follow straight after.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def launch(executable: Path) -> tuple[float, float]:
    """Seconds from launch to the splash and to the main window."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "DIGIT_STUDIO_STARTUP_REPORT": "1", "DIGIT_STUDIO_HOME": home, "HOME": home}
        start = time.time()
        out = subprocess.run([str(executable)], env=env, capture_output=True, text=True, timeout=120)
    stamps = dict(line.split() for line in out.stdout.splitlines() if line.startswith(("splash ", "window ")))
    if "window" not in stamps:
        raise RuntimeError(f"the app did not report its window:\n{out.stdout}\n{out.stderr}")
    return float(stamps["splash"]) - start, float(stamps["window"]) - start


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("executable", nargs="?", type=Path, default=ROOT / "dist" / "DigitStudio" / "DigitStudio")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("needs a display: run under xvfb-run -a", file=sys.stderr)
        return 2
    if drop_caches():
        splash, window = launch(args.executable)
        print(f"cold (page cache dropped): splash {splash:.2f} s, main window {window:.2f} s")
    else:
        print("cold: skipped (dropping the page cache needs root)")
    warm = [launch(args.executable) for _ in range(args.runs)]
    print(f"warm (median of {args.runs}): splash {statistics.median(s for s, _ in warm):.2f} s, "
          f"main window {statistics.median(w for _, w in warm):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
