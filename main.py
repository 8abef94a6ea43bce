"""Digit Studio. No arguments: open the app. With a command: run the engine headless.

    python main.py                 open the desktop app
    python main.py train --help    train a model (see also evaluate, predict, cv, info)
    python main.py --self-test     check, headless, that everything works
"""

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--self-test"]:
        from cli.selftest import run_self_test

        return run_self_test()
    if not argv:
        if sys.platform == "win32":
            import torch  # noqa: F401  On Windows torch's DLLs must load before Qt's, or torch fails to import.
        from gui.app import run_app

        return run_app()
    from cli import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
