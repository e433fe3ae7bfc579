"""The `mspgsen` command: parses arguments, runs a subcommand (mspgsen/shell), prints. Bad input
exits with code 2 and one line."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from mspgsen import __version__
from mspgsen.errors import UserError
from mspgsen.shell import COMMANDS, Command


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UserError as err:
        print(f"mspgsen: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stdout = open(os.devnull, "w")
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mspgsen", description="Train, sample and evaluate GANs.")
    parser.add_argument("--version", action="version", version=f"mspgsen {__version__}")
    _add_commands(parser.add_subparsers(dest="command", required=True), COMMANDS)
    return parser


def _add_commands(subparsers, commands: list[Command]) -> None:
    for command in commands:
        parser = subparsers.add_parser(command.name, help=command.help)
        if command.subcommands:
            _add_commands(parser.add_subparsers(dest=f"{command.name}_command", required=True), command.subcommands)
            continue
        command.arguments(parser)
        parser.set_defaults(handler=command.run)


if __name__ == "__main__":
    sys.exit(main())
