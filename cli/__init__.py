"""The headless command line: ``python main.py <command>``; each command lives in its own module.

Every error a user can cause ends in one ``error: …`` line and a non-zero exit; the traceback goes
to the log file (and to stderr with ``--verbose``)."""

import argparse
import logging
import os
import sys
from pathlib import Path

from cli import compare, cv, evaluate, explain, info, lr_find, personalise, predict, runs, search, train
from engine import __version__
from engine.logs import setup_logging

COMMANDS = (train, lr_find, evaluate, predict, explain, personalise, compare, search, cv, runs, info)
# What bad input, a missing GPU, a full disk or a failed run raise: the message says it all.
USER_ERRORS = (ValueError, OSError, RuntimeError)
log = logging.getLogger("cli")


def program_name() -> str:
    """``digit-studio`` in the bundle and the installed script, ``main.py`` from a source checkout."""
    return "digit-studio" if getattr(sys, "frozen", False) or Path(sys.argv[0]).stem == "digit-studio" else "main.py"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name(),
        description="Digit Studio: draw digits and watch a CNN read them. With no command, the app opens.",
    )
    parser.add_argument("--version", action="version", version=f"Digit Studio {__version__}")
    parser.add_argument("--verbose", action="store_true", help="log details to stderr, with tracebacks on errors")
    parser.add_argument("--self-test", action="store_true", help="check, headless, that this installation works")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    log_file = setup_logging(args.verbose)
    log.info("command line: %s", argv)
    if args.self_test:
        from cli.selftest import run_self_test

        return run_self_test()
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # what reads the output stopped (`predict … | head -1`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # or Python's final flush fails again
        return 1
    except Exception as exc:  # noqa: BLE001  one clear line; the traceback goes to the log
        log.error("%s failed", args.command, exc_info=True)
        message = str(exc) or type(exc).__name__
        if isinstance(exc, USER_ERRORS):
            print(f"error: {message}", file=sys.stderr)
        else:  # a fault of ours, not of the input: say where the details are
            where = "" if args.verbose or log_file is None else f" (details in {log_file})"
            print(f"error: unexpected {type(exc).__name__}: {message}{where}", file=sys.stderr)
        return 1
