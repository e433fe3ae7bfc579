"""Training controllers: plug-ins that read the collected indicators and turn the loop's knobs.

Once per tick (every `train.log_every` steps) the loop hands each controller the averaged
indicators of the tick and the knobs. A controller changes knobs and nothing else, says what it
did (a dict, logged beside the indicators), and keeps any state it needs in `state_dict`, which
goes into checkpoints so that a resumed run continues exactly.
"""
from __future__ import annotations

from typing import Any

from mspgsen.config import RunConfig
from mspgsen.registry import Registry
from mspgsen.training.knobs import Knobs


class Controller:
    name: str = ""

    def __init__(self, config: RunConfig):
        self.config = config

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        """Adjust `knobs`; return the actions taken as named numbers (empty when none)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


CONTROLLERS: Registry[type[Controller]] = Registry("controller")


def register_controller(cls: type[Controller]) -> type[Controller]:
    CONTROLLERS.register(cls.name, cls)
    return cls


def build_controllers(config: RunConfig, family_defaults: list[str] = ()) -> list[Controller]:
    """The family's own controllers first (unless the config names them too), then the config's."""
    names = [name for name in family_defaults if name not in config.train.controllers] + list(config.train.controllers)
    return [CONTROLLERS.get(name)(config) for name in names]
