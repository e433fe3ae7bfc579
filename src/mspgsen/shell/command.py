"""A subcommand as data: its name, help, how it adds its arguments and what runs it."""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, get_args, get_origin, get_type_hints

from mspgsen.config.flags import config_flags
from mspgsen.commands.protocol import Protocol


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    run: Callable[[argparse.Namespace], int] | None = None
    subcommands: list["Command"] = field(default_factory=list)


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One option per flagged config field (config/flags.py)."""
    for flag in config_flags():
        choices = get_args(flag.hint) if get_origin(flag.hint) is Literal else None
        parser.add_argument(flag.option, dest=flag.name, help=flag.describe(),
                            metavar="{" + ",".join(choices) + "}" if choices else flag.name.upper())


def config_flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, each parsed to its field's type: a wrong value is a UserError naming the key
    (one line, exit 2, where argparse would print its usage)."""
    return {flag.name: None if getattr(args, flag.name) is None else flag.parse(getattr(args, flag.name))
            for flag in config_flags()}


def add_protocol_options(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """One option per field of an experiment's Protocol; `defaults` for this command's model, data and seeds."""
    hints = get_type_hints(Protocol)
    for spec in dataclasses.fields(Protocol):
        option = spec.metadata.get("flag") or "--" + spec.name.replace("_", "-")
        default = defaults.get(spec.name, _default(spec))
        if spec.name == "overrides":
            parser.add_argument(option, dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                                help=spec.metadata["help"])
            continue
        parser.add_argument(option, dest=spec.name, type=_scalar(hints[spec.name]), default=default, choices=spec.metadata.get("choices"),
                            help=spec.metadata.get("help", spec.name) + ("" if default is None else f"; default {default}"))


def protocol_options(args: argparse.Namespace) -> dict[str, Any]:
    return {spec.name: getattr(args, spec.name) for spec in dataclasses.fields(Protocol)}


def _scalar(hint: Any) -> type:
    """int for `int` and `int | None`; str for the rest (paths, names)."""
    kinds = [kind for kind in get_args(hint) if kind is not type(None)] or [hint]
    return kinds[0] if kinds[0] in (int, float) else str


def _default(spec: dataclasses.Field) -> Any:
    return None if spec.default is dataclasses.MISSING else spec.default
