"""A controller: reads a tick's indicators and turns knobs."""
from __future__ import annotations

from typing import Any, ClassVar

from mspgsen.config import RunConfig
from mspgsen.contracts.step import Knobs

# --- a controller -----------------------------------------------------------------------------
class Controller:
    """A plug-in that reads the collected indicators and turns the loop's knobs.

    Once per tick (every `train.log_every` steps) the loop hands each controller the averaged
    indicators of the tick and the knobs. A controller changes knobs and nothing else, says what it
    did (a dict, logged beside the indicators), and keeps any state it needs in `state_dict`, which
    goes into checkpoints so that a resumed run continues exactly. What a family tells it comes as
    keyword arguments of its constructor (`Family.default_controllers`).
    """

    name: ClassVar[str] = ""
    # a plug-in's settings, read from the `train.<name>` section (None: it has none); the built-in
    # controllers' sections are typed fields of TrainConfig, a plug-in's joins it when the config is
    # resolved (mspgsen.resolve), so a new controller with settings is one new file
    settings: ClassVar[type | None] = None
    # what it moves (names from contracts/levers.LEVERS); a family that applies none of one is refused
    levers: ClassVar[frozenset[str]] = frozenset()

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
