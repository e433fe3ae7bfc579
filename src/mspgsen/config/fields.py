"""Reading typed config dataclasses: a field's rules declared on it (`setting`), mappings coerced
into dataclasses with the full key named in every error, ranges checked, and key lists derived
from the declarations."""
from __future__ import annotations

import dataclasses
import difflib
import math
import types
from dataclasses import field, fields, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from mspgsen.errors import UserError


def setting(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, low: float = 0,
            low_open: bool = False, high: float | None = None, high_open: bool = False, resumable: bool = False,
            flag: str | None = None, help: str = "") -> Any:
    """A config field with its rules, read by validation, `--resume` and the API's flags.

    Every number must lie in [low, high] (open ends by `low_open` / `high_open`); `low` is 0
    unless said, so a plain number field needs no declaration to refuse a negative. `resumable`
    keys may differ between a run and its resumption; `flag` names the `configure()` keyword
    (and the command-line option made from it, config/flags.py), `help` that option's text."""
    metadata = {"low": low, "low_open": low_open, "high": high, "high_open": high_open, "resumable": resumable,
                "flag": flag, "help": help}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def from_mapping(cls: type, mapping: Any, prefix: str) -> Any:
    """Build dataclass `cls` from a mapping, naming the full key of anything wrong."""
    if not isinstance(mapping, dict):
        raise UserError(f"config section {prefix!r} must be a mapping, got {mapping!r}.")
    hints = get_type_hints(cls)
    by_name = {f.name: f for f in fields(cls)}
    values = {}
    renamed = getattr(cls, "renamed_keys", {})  # old key → (its new name, how to read an old value)
    for key, value in mapping.items():
        if key in renamed and key not in by_name:
            key, value = renamed[key][0], renamed[key][1](value)
        if key not in by_name:
            unknown_key(key, list(by_name), prefix)
        if is_dataclass(hints[key]) and isinstance(value, dict):
            # a partial section overrides this class's own default (e.g. WGAN's RMSprop), not the bare type's
            value = {**dataclasses.asdict(_default_of(by_name[key])), **value}
        values[key] = _coerce(value, hints[key], f"{prefix}.{key}")
    return cls(**values)


def _default_of(spec: dataclasses.Field) -> Any:
    return spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is Literal:
        if isinstance(value, bool) and "off" in args:  # YAML reads `off` / `on` as booleans
            value = "default" if value and "default" in args else "off"
        if value not in args:
            raise UserError(f"config key {key!r} must be one of {', '.join(map(str, args))}; got {value!r}.")
        return value
    if is_dataclass(tp):
        return from_mapping(tp, value, key)
    if origin in (tuple, list):
        items = value.split(",") if isinstance(value, str) else value
        if origin is tuple and (not isinstance(items, (list, tuple)) or len(items) != len(args)):
            raise UserError(f"config key {key!r} needs {len(args)} values separated by commas, got {value!r}.")
        if not isinstance(items, (list, tuple)):
            raise UserError(f"config key {key!r} must be a list, got {value!r}.")
        item_types = args if origin is tuple else [args[0]] * len(items)
        coerced = [_coerce(v, t, key) for v, t in zip(items, item_types)]
        return tuple(coerced) if origin is tuple else coerced
    return _coerce_scalar(value, tp, key)


def _coerce_scalar(value: Any, tp: type, key: str) -> Any:
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if tp is int:
            if isinstance(value, bool):
                raise ValueError
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            return int(number)
        if tp is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if tp is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise UserError(f"config key {key!r} must be {tp.__name__}, got {value!r}.") from None
    return value


def unknown_key(key: str, valid: list[str], prefix: str) -> None:
    full = f"{prefix}.{key}" if prefix else key
    close = difflib.get_close_matches(str(key), valid, n=1)
    hint = f" Did you mean {(prefix + '.' if prefix else '') + close[0]!r}?" if close else ""
    where = f"under {prefix!r}" if prefix else "at the top level"
    raise UserError(f"unknown config key {full!r}.{hint} Valid keys {where}: {', '.join(valid)}.")


def check_ranges(section: Any, prefix: str) -> None:
    """Every number of a config section (and its sub-sections) within its declared range; a loss
    weight may be 0 (off) but never negative, which would turn its term into one to maximise."""
    for spec in fields(section):
        value, key = getattr(section, spec.name), f"{prefix}.{spec.name}"
        if is_dataclass(value):
            check_ranges(value, key)
            continue
        for number in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                _check_number(number, key, _rule(type(section), spec))


def _rule(cls: type, spec: dataclasses.Field) -> Any:
    """A field's declared rule; a subclass that only changes the default (WGAN's n_critic = 5)
    keeps its base class's rule."""
    if spec.metadata:
        return spec.metadata
    for base in cls.__mro__[1:]:
        inherited = getattr(base, "__dataclass_fields__", {}).get(spec.name)
        if inherited is not None and inherited.metadata:
            return inherited.metadata
    return {}


def _check_number(value: float, key: str, rule: Any) -> None:
    if not math.isfinite(value):  # NaN passes every comparison; inf makes no step, size or weight
        raise UserError(f"config key {key!r} must be a finite number, got {value}.")
    low, high = rule.get("low", 0), rule.get("high")
    too_low = value <= low if rule.get("low_open") else value < low
    too_high = high is not None and (value >= high if rule.get("high_open") else value > high)
    if not (too_low or too_high):
        return
    if key.endswith("_weight"):
        raise UserError(f"{key} weights a loss term and must be 0 (off) or more, got {value}.")
    if high is None:
        bound = f"above {low:g}" if rule.get("low_open") else f"at least {low:g}"
    else:
        bound = f"in {'(' if rule.get('low_open') else '['}{low:g}, {high:g}{')' if rule.get('high_open') else ']'}"
    raise UserError(f"config key {key!r} must be {bound}, got {value}.")


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
