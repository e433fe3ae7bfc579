"""The controller registry and how a run's controllers are built (the contract itself,
`Controller`, is in mspgsen.contracts).
"""
from __future__ import annotations

from typing import Any

from mspgsen.config import RunConfig
from mspgsen.contracts import Controller
from mspgsen.evaluation.registry import score
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


def quality_signal(indicators: dict[str, float]) -> float | None:
    """The latest periodic evaluation as one number where higher is better, by the metric registry's
    score (evaluation/registry.py: coverage, then the quality share; else -FID, -KID or IS); None
    before any evaluation."""
    return score({name: value for name, value in indicators.items() if name.startswith("eval/")})
