"""A whole run's configuration resolved: the `model` section read as its family's own dataclass
(found in the family registry), `train` as TrainConfig plus a section per controller that has
settings (`train.apfl`, `train.balance`: each controller declares its own), `data` as is. It
joins the config package with the families and controllers, which import the config package,
so it stands above all three."""
from __future__ import annotations

import dataclasses
from typing import Any

from mspgsen.config import DataConfig, FamilyConfig, RunConfig, TrainConfig, check_ranges, from_mapping, merged_sources
from mspgsen.config.files import check_top_level
from mspgsen.config.sections import config_keys
from mspgsen.controllers import CONTROLLERS
from mspgsen.families import FAMILIES


TrainSettings: type = TrainConfig  # TrainConfig and the controllers' sections; rebuilt when a controller is added


def train_settings() -> type:
    """TrainConfig with one field per registered controller that has settings, named as the
    controller (`train.apfl`). Kept as the module global TrainSettings, so configs pickle."""
    global TrainSettings
    sections = tuple((name, cls.settings) for name, cls in CONTROLLERS if cls.settings)
    if getattr(TrainSettings, "sections", None) != sections:
        TrainSettings = dataclasses.make_dataclass(
            "TrainSettings", [(name, settings, dataclasses.field(default_factory=settings))
                              for name, settings in sections], bases=(TrainConfig,))
        TrainSettings.__module__, TrainSettings.sections = __name__, sections
    return TrainSettings


def resolve(sources: list[dict[str, Any]], overrides: list[str] = ()) -> RunConfig:
    """Merge config mappings (later wins) and `key=value` overrides into a validated RunConfig."""
    raw = merged_sources(sources, overrides)
    model_raw = dict(raw.get("model") or {})
    family = FAMILIES.get(model_raw.get("name", FamilyConfig.name))
    model_raw["name"] = family.name
    check_top_level(raw)
    config = RunConfig(
        model=from_mapping(family.Config, model_raw, "model"),
        data=from_mapping(DataConfig, raw.get("data") or {}, "data"),
        train=from_mapping(train_settings(), raw.get("train") or {}, "train"),
    )
    for section in ("model", "data", "train"):
        check_ranges(getattr(config, section), section)
    return config


def run_config_keys(rule: str) -> dict[str, Any]:
    """Every key whose field declares `rule` (resumable, flag) — the shared sections', FamilyConfig's
    and the controllers' — with the rule's value: the one place these lists come from."""
    return config_keys(rule, {"model": FamilyConfig, "data": DataConfig, "train": train_settings()})
