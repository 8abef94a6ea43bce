"""The headless command line: ``python main.py <command>``; each command lives in its own module."""

import argparse
import sys

from cli import cv, evaluate, info, predict, train

COMMANDS = (train, evaluate, predict, cv, info)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Digit Studio: draw digits and watch a CNN read them. With no command, the app opens.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
