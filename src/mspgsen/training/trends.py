"""Moving averages and trends of the tick indicators, for controllers that react to direction.

Two exponential averages per indicator, a fast and a slow one; the trend is fast − slow
(positive: rising lately). Updated once per regular tick and saved in checkpoints.
"""
from __future__ import annotations

from typing import Any

FAST, SLOW = 0.5, 0.1  # weight of the newest tick in each average
TRACKED = ("D(x)", "D(G(z))", "acc/real", "acc/fake", "D/adv", "G/adv", "grad/D", "grad/G")


class Trends:
    def __init__(self) -> None:
        self.fast: dict[str, float] = {}
        self.slow: dict[str, float] = {}

    def update(self, indicators: dict[str, float]) -> dict[str, float]:
        """`avg/<name>` and `trend/<name>` for every tracked indicator present this tick."""
        derived = {}
        for name in TRACKED:
            if name not in indicators:
                continue
            value = indicators[name]
            self.fast[name] = value if name not in self.fast else self.fast[name] + FAST * (value - self.fast[name])
            self.slow[name] = value if name not in self.slow else self.slow[name] + SLOW * (value - self.slow[name])
            derived[f"avg/{name}"] = self.slow[name]
            derived[f"trend/{name}"] = self.fast[name] - self.slow[name]
        return derived

    def state_dict(self) -> dict[str, Any]:
        return {"fast": dict(self.fast), "slow": dict(self.slow)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.fast, self.slow = dict(state["fast"]), dict(state["slow"])
