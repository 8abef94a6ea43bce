"""Build the desktop bundle with PyInstaller (one folder): ``python packaging/build.py``.

Output: dist/DigitStudio/ with DigitStudio (the app) and digit-studio (commands, --self-test).
Builds with whatever torch the environment has: the CPU build by default; see packaging/README.md
for a CUDA-enabled bundle.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder (default: build/)")
    args = parser.parse_args()
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print("PyInstaller is missing: pip install -e '.[package]'", file=sys.stderr)
        return 1
    start = time.perf_counter()
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
               "--distpath", str(args.dist), "--workpath", str(args.work), str(ROOT / "packaging" / "digit_studio.spec")]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        print("PyInstaller failed", file=sys.stderr)
        return 1
    bundle = args.dist / "DigitStudio"
    if sys.platform.startswith("linux"):
        for name in ("digit-studio.desktop", "install-desktop-entry.sh"):
            shutil.copy2(ROOT / "packaging" / "linux" / name, bundle / name)
        (bundle / "digit-studio").symlink_to("DigitStudio")  # the commands' name (argparse shows it)
    print(f"built {bundle} in {time.perf_counter() - start:.0f} s: {folder_size(bundle) / 2**20:.0f} MiB")
    print(f"try it:  {bundle / 'digit-studio'} --self-test   or   {bundle / 'DigitStudio'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
