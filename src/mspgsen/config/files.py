"""Config sources: YAML files, `--set key=value` overrides, their merge, and the checks that need
no family (so the command line can run them before importing torch)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mspgsen.config.fields import check_ranges, from_mapping, unknown_key
from mspgsen.config.sections import DataConfig, RunConfig, TrainConfig
from mspgsen.errors import UserError


def check_shared_sections(sources: list[dict[str, Any]], overrides: list[str] = ()) -> None:
    """Validate what can be checked without the families (and so without importing torch): the
    `--set` syntax, the top-level sections, and every key and range of `data` and `train`. The
    command line runs this first, so a typo is reported at once even on a busy machine."""
    raw = merged_sources(sources, overrides)
    check_top_level(raw)
    check_ranges(from_mapping(DataConfig, raw.get("data") or {}, "data"), "data")
    check_ranges(from_mapping(TrainConfig, raw.get("train") or {}, "train"), "train")


def check_top_level(raw: dict[str, Any]) -> None:
    unknown = set(raw) - {"model", "data", "train"}
    if unknown:
        unknown_key(sorted(unknown)[0], ["model", "data", "train"], "")


def merged_sources(sources: list[dict[str, Any]], overrides: list[str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for source in sources:
        _merge(raw, _expand_shorthand(source))
    for item in overrides:
        key, value = parse_override(item)
        _set_path(raw, key, value)
    return raw


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} does not exist; check the path given to --config.")
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"config file {path} is not valid YAML: {err}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UserError(f"config file {path} must hold a mapping with sections model/data/train.")
    return loaded


def save_yaml(config: RunConfig, path: Path, notes: list[str] = ()) -> None:
    """The config as YAML; `notes` (e.g. what `auto` settings chose on this machine) as comments on top."""
    header = "".join(f"# {note}\n" for note in notes)
    path.write_text(header + yaml.safe_dump(config.to_dict(), sort_keys=False))


def parse_override(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set expects key=value (e.g. train.steps=500), got {item!r}.")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def _expand_shorthand(source: dict[str, Any]) -> dict[str, Any]:
    """Allow `model: dcgan` and `data: mnist` as short for `{name: ...}`."""
    expanded = dict(source)
    for section in ("model", "data"):
        if isinstance(expanded.get(section), str):
            expanded[section] = {"name": expanded[section]}
    return expanded


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def dotted_items(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config mapping as `{"section.key": value}`, the form `--set` takes."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(dotted_items(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _set_path(raw: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserError(f"cannot set {dotted!r}: {part!r} is not a section.")
        node = child
    node[parts[-1]] = value
