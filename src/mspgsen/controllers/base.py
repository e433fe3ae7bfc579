"""The controller registry and how a run's controllers are built (the contract itself,
`Controller`, is in mspgsen.contracts).
"""
from __future__ import annotations

from typing import Any

from mspgsen.config import RunConfig
from mspgsen.contracts import Controller, Family
from mspgsen.contracts.levers import describe
from mspgsen.errors import UserError
from mspgsen.evaluation.registry import score
from mspgsen.registry import Registry


CONTROLLERS: Registry[type[Controller]] = Registry("controller")


def register_controller(cls: type[Controller]) -> type[Controller]:
    CONTROLLERS.register(cls.name, cls)
    return cls


def build_controllers(config: RunConfig, family: Family) -> list[Controller]:
    """The family's own controllers first (unless the config names them too), then the config's;
    each gets the keyword arguments the family hands it (`Family.default_controllers`). A
    controller that moves a lever the family does not apply is refused (contracts/levers.py)."""
    family_defaults = family.default_controllers()
    names = [name for name in family_defaults if name not in config.train.controllers] + list(config.train.controllers)
    controllers = [CONTROLLERS.get(name)(config, **family_defaults.get(CONTROLLERS.canonical(name), {}))
                   for name in names]
    for controller in controllers:
        check_levers(controller, family)
    return controllers


def check_levers(controller: Controller, family: Family) -> None:
    """UserError when `controller` moves a lever `family` (with its settings) does not apply."""
    ignored = controller.levers - family.levers()
    if ignored:
        raise UserError(f"the {controller.name} controller moves {describe(ignored)}, which {family.name} does not "
                        f"apply with these settings, so it would change nothing; leave {controller.name} out of "
                        "train.controllers (or choose a family that applies it).")


def quality_signal(indicators: dict[str, float], periodic: bool = False) -> float | None:
    """How good the generator is now, as one number where higher is better.

    With periodic evaluations: the latest one by the metric registry's score (evaluation/registry.py:
    coverage, then the quality share; else -FID, -KID or IS), None before the first. Without them
    (`periodic` False and no `eval/` indicator), D's own calibration, free every tick: D(G(z)) − D(x),
    the gap D keeps between generated and real samples, 0 when it cannot tell them apart."""
    evaluated = score({name: value for name, value in indicators.items() if name.startswith("eval/")})
    if evaluated is not None or periodic:
        return evaluated
    if "D(x)" in indicators and "D(G(z))" in indicators:
        return indicators["D(G(z))"] - indicators["D(x)"]
    return None
