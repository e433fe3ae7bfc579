"""The controller registry and how a run's controllers are built (the contract itself,
`Controller`, is in mspgsen.contracts).
"""
from __future__ import annotations

from typing import Any

from mspgsen.config import RunConfig
from mspgsen.contracts import Controller
from mspgsen.registry import Registry


CONTROLLERS: Registry[type[Controller]] = Registry("controller")


def register_controller(cls: type[Controller]) -> type[Controller]:
    CONTROLLERS.register(cls.name, cls)
    return cls


def build_controllers(config: RunConfig, family_defaults: dict[str, dict[str, Any]] | None = None
                      ) -> list[Controller]:
    """The family's own controllers first (unless the config names them too), then the config's;
    each gets the keyword arguments the family hands it (`Family.default_controllers`)."""
    family_defaults = family_defaults or {}
    names = [name for name in family_defaults if name not in config.train.controllers] + list(config.train.controllers)
    return [CONTROLLERS.get(name)(config, **family_defaults.get(CONTROLLERS.canonical(name), {})) for name in names]


# The periodic metric a controller reads as "quality", best first, and the sign that makes higher better.
QUALITY_METRICS = (("eval/high_quality", 1.0), ("eval/modes_covered", 1.0), ("eval/fid", -1.0),
                   ("eval/kid_mean", -1.0), ("eval/is_mean", 1.0), ("eval/modes", 1.0))


def quality_signal(indicators: dict[str, float]) -> float | None:
    """The latest periodic metric as a number where higher is better; None before any evaluation.

    Image metrics under an extractor's label (e.g. `eval/fid[classifier:mnist]`) count too."""
    for prefix, sign in QUALITY_METRICS:
        for name, value in indicators.items():
            if name == prefix or name.startswith(prefix + "["):
                return sign * value
    return None
