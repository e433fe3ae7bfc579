"""Training controllers: plug-ins that read the collected indicators and turn the loop's knobs.

Once per tick (every `train.log_every` steps) the loop hands each controller the averaged
indicators of the tick and the knobs. A controller changes knobs and nothing else, says what it
did (a dict, logged beside the indicators), and keeps any state it needs in `state_dict`, which
goes into checkpoints so that a resumed run continues exactly.
"""
from __future__ import annotations

from typing import Any, ClassVar

from mspgsen.config import RunConfig
from mspgsen.registry import Registry
from mspgsen.training.knobs import Knobs


class Controller:
    name: str = ""
    # the dataclass of its settings, read from the `train.<name>` section (None: it has none); the
    # section joins TrainConfig when the config is resolved (mspgsen.resolve), so a new controller
    # with settings is one new file
    settings: ClassVar[type | None] = None

    def __init__(self, config: RunConfig):
        self.config = config

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        """Adjust `knobs`; return the actions taken as named numbers (empty when none)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def run_progress(indicators: dict[str, float], step: int, config: RunConfig) -> float:
    """How far the run is, in [0, 1]: the loop's `progress` indicator (steps or time limit, whichever
    is further: training/progress.py); step / train.steps for a controller driven without the loop."""
    return indicators.get("progress", step / config.train.steps)


CONTROLLERS: Registry[type[Controller]] = Registry("controller")


def register_controller(cls: type[Controller]) -> type[Controller]:
    CONTROLLERS.register(cls.name, cls)
    return cls


def build_controllers(config: RunConfig, family_defaults: list[str] = ()) -> list[Controller]:
    """The family's own controllers first (unless the config names them too), then the config's."""
    names = [name for name in family_defaults if name not in config.train.controllers] + list(config.train.controllers)
    return [CONTROLLERS.get(name)(config) for name in names]


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
