"""Digit Studio. No arguments: open the app. With a command: run the engine headless.

    python main.py                 open the desktop app
    python main.py train --help    train a model (see also evaluate, predict, cv, info)
"""

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from gui.app import run_app

        return run_app()
    from cli import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
