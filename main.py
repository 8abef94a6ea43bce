"""Digit Studio. No arguments: open the app. With a command: run the engine headless.

    python main.py                 open the desktop app (--verbose: log details to stderr)
    python main.py digit.png       open the app showing a picture (or loading a model, model.pt)
    python main.py train --help    train a model (see also evaluate, predict, personalise, cv, info)
    python main.py --self-test     check, headless, that everything works
"""

import sys
import warnings

# The bundle ships torch without its .py sources (packaging/digit_studio.spec); torch then warns, once
# per overloaded function, that TorchScript could not read them. The app never uses TorchScript.
warnings.filterwarnings("ignore", message="Unable to retrieve source for @torch.jit._overload")


def files_for_the_app(argv: list[str]) -> list[str] | None:
    """The pictures and models the app is to open (none: it just opens), as a file manager's Open with
    or a drop on the app's icon gives them; None when the arguments are a command's."""
    from engine.paths import IMAGE_SUFFIXES, MODEL_SUFFIX

    files = [arg for arg in argv if arg != "--verbose"]
    opened = all(not f.startswith("-") and f.lower().endswith((*IMAGE_SUFFIXES, MODEL_SUFFIX)) for f in files)
    return files if opened else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    files = files_for_the_app(argv)
    if files is not None:
        if sys.platform == "win32":
            import torch  # noqa: F401  On Windows torch's DLLs must load before Qt's, or torch fails to import.
        from gui.app import run_app

        return run_app(verbose="--verbose" in argv, files=files)
    from cli import run  # imported only here: the app's splash must not wait for the commands' imports

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
