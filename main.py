"""Digit Studio. No arguments: open the app. With a command: run the engine headless.

    python main.py                 open the desktop app (--verbose: log details to stderr)
    python main.py train --help    train a model (see also evaluate, predict, cv, info)
    python main.py --self-test     check, headless, that everything works
"""

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in ([], ["--verbose"]):
        if sys.platform == "win32":
            import torch  # noqa: F401  On Windows torch's DLLs must load before Qt's, or torch fails to import.
        from gui.app import run_app

        return run_app(verbose=bool(argv))
    from cli import run  # imported only here: the app's splash must not wait for the commands' imports

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
