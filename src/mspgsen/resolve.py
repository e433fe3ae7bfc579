"""A whole run's configuration resolved: the `model` section read as its family's own dataclass
(found in the family registry), `data` and `train` as the shared sections. It joins the config
package and the families, which imports the config package, so it stands above both."""
from __future__ import annotations

from typing import Any

from mspgsen.config import DataConfig, FamilyConfig, RunConfig, TrainConfig, check_ranges, from_mapping, merged_sources
from mspgsen.config.files import check_top_level
from mspgsen.families import FAMILIES


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
        train=from_mapping(TrainConfig, raw.get("train") or {}, "train"),
    )
    for section in ("model", "data", "train"):
        check_ranges(getattr(config, section), section)
    return config
