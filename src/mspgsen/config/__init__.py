"""Run configuration: typed dataclasses, YAML files and `--set key=value` overrides.

A run's configuration has three sections. `model` is the family's own dataclass (each family
extends `FamilyConfig` with its defaults and extra keys), `data` and `train` are shared. The
resolved configuration is written to every run folder, so a run can be resumed, sampled or
evaluated from that file alone. Resolving a whole run needs the families, which import this
package: `mspgsen.resolve` does it, above both.
"""
from mspgsen.config.controllers import APFLConfig, BalanceConfig
from mspgsen.config.fields import check_ranges, from_mapping, setting
from mspgsen.config.files import check_shared_sections, dotted_items, load_yaml, merged_sources, parse_override, save_yaml
from mspgsen.config.sections import DataConfig, FamilyConfig, OptimizerConfig, RunConfig, TrainConfig, config_keys

__all__ = ["APFLConfig", "BalanceConfig", "check_ranges", "from_mapping", "setting", "check_shared_sections", "dotted_items", "load_yaml", "merged_sources",
           "parse_override", "save_yaml", "DataConfig", "FamilyConfig",
           "OptimizerConfig", "RunConfig", "TrainConfig", "config_keys"]
