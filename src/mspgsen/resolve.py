"""A whole run's configuration resolved: the `model` section read as its family's own dataclass
(found in the family registry), `train` as TrainConfig (with the controllers' sections) and
`data` as they are. It joins the config package with the families, which import the config
package, so it stands above both."""
from __future__ import annotations

import dataclasses
from typing import Any

from mspgsen.config import DataConfig, FamilyConfig, RunConfig, TrainConfig, check_ranges, from_mapping, merged_sources
from mspgsen.config.files import check_top_level
from mspgsen.config.sections import config_keys
from mspgsen.controllers import CONTROLLERS
from mspgsen.families import FAMILIES

_plugin_sections: dict[tuple, type] = {}  # plug-in sections → the TrainConfig subclass that holds them


def train_settings() -> type:
    """TrainConfig, or where a plug-in controller with settings is registered, a subclass with one
    field per such controller, named as it (`train.halving`). Each subclass is kept, so configs pickle."""
    built_in = {spec.name for spec in dataclasses.fields(TrainConfig)}
    sections = tuple((name, cls.settings) for name, cls in CONTROLLERS if cls.settings and name not in built_in)
    if not sections:
        return TrainConfig
    if sections not in _plugin_sections:
        name = "TrainSettings_" + "_".join(section.replace("-", "_") for section, _ in sections)
        cls = dataclasses.make_dataclass(name, [
            (section, settings, dataclasses.field(default_factory=settings)) for section, settings in sections],
            bases=(TrainConfig,))
        cls.__module__ = __name__
        globals()[name] = _plugin_sections[sections] = cls  # found by name, so a config pickles
    return _plugin_sections[sections]


def resolve(sources: list[dict[str, Any]], overrides: list[str] = ()) -> RunConfig:
    """Merge config mappings (later wins) and `key=value` overrides into a validated RunConfig."""
    raw = merged_sources(sources, overrides)
    model_raw = dict(raw.get("model") or {})
    family = FAMILIES.get(model_raw.get("name", FamilyConfig.name))
    model_raw["name"] = family.name
    check_top_level(raw)
    train_raw = raw.get("train") or {}
    if isinstance(train_raw, dict):  # the family's own training defaults (sagan's batch) under the user's
        train_raw = {**family.train_defaults, **train_raw}
    config = RunConfig(
        model=from_mapping(family.Config, model_raw, "model"),
        data=from_mapping(DataConfig, raw.get("data") or {}, "data"),
        train=from_mapping(train_settings(), train_raw, "train"),
    )
    for section in ("model", "data", "train"):
        check_ranges(getattr(config, section), section)
    return config


def run_config_keys(rule: str) -> dict[str, Any]:
    """Every key whose field declares `rule` (resumable, flag) — the shared sections', FamilyConfig's
    and the controllers' — with the rule's value: the one place these lists come from."""
    return config_keys(rule, {"model": FamilyConfig, "data": DataConfig, "train": train_settings()})
