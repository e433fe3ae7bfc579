"""The configure() keywords and command-line options, made from the config fields that declare a
`flag`: name, type, range, help and default are said once, on the field (config/sections.py).
A flag's value is parsed to the field's type on the command line and stays typed to the loop."""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Any, get_type_hints

import yaml

from mspgsen.config.fields import _coerce, _default_of
from mspgsen.config.sections import DataConfig, FamilyConfig, TrainConfig


@dataclass(frozen=True)
class Flag:
    name: str  # the configure() keyword: batch_size
    key: str  # the config key it sets: train.batch_size
    hint: Any  # the field's type
    default: Any
    help: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """The command line's text as the field's type (a UserError names the key)."""
        try:
            value = yaml.safe_load(text) if text.strip() else text
        except yaml.YAMLError:
            value = text
        if isinstance(value, (int, float)) and _is_str(self.hint):
            value = text  # a folder named 2024 stays a name
        return _coerce(value, self.hint, self.key)

    def describe(self) -> str:
        default = "" if self.default is None else f"; default {self.default}"
        return f"{self.help}{default}" if self.help else default.removeprefix("; ")


def config_flags() -> list[Flag]:
    """Every flagged field of the model, data and train sections (sub-sections included)."""
    found: list[Flag] = []
    for section, cls in (("model", FamilyConfig), ("data", DataConfig), ("train", TrainConfig)):
        found += _flags_of(cls, section)
    return found


def as_sources(values: dict[str, Any]) -> dict[str, Any]:
    """{flag name: typed value} → a config mapping (a source layer of `resolve`), None values left out."""
    by_name = {flag.name: flag for flag in config_flags()}
    layer: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        *sections, last = by_name[name].key.split(".")
        node = layer
        for section in sections:
            node = node.setdefault(section, {})
        node[last] = value
    return layer


def _flags_of(cls: type, prefix: str) -> list[Flag]:
    hints, found = get_type_hints(cls), []
    for spec in fields(cls):
        key = f"{prefix}.{spec.name}"
        if is_dataclass(hints[spec.name]):
            found += _flags_of(hints[spec.name], key)
        elif spec.metadata.get("flag"):
            found.append(Flag(spec.metadata["flag"], key, hints[spec.name], _default_of(spec), spec.metadata["help"]))
    return found


def _is_str(hint: Any) -> bool:
    return hint is str or str in getattr(hint, "__args__", ())

