"""The subcommands of `mspgsen`: each one's arguments and the function that runs it and prints.
Arguments that set config keys or experiment options are made from their declarations
(config/flags.py, commands/protocol.py), never written out here. Nothing here imports torch
before a command runs, so `--help` and a wrong key answer at once."""
from mspgsen.shell.command import Command
from mspgsen.shell.inspection import INSPECTION
from mspgsen.shell.training import TRAINING

COMMANDS: list[Command] = [*TRAINING, *INSPECTION]

__all__ = ["COMMANDS", "Command"]
