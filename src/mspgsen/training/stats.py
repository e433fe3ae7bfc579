"""One stream of statistics: `report(name, tensor)` during steps, `collect()` once per tick.

Values stay on the device until collected, so a step never waits on the host; `collect()`
averages everything reported since the last tick with a single transfer.
"""
from __future__ import annotations

from typing import Any, Callable

import torch


class StatsCollector:
    def __init__(self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        """`reduce` combines the stacked means of all processes of a distributed run (their average)."""
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}
        self.reduce = reduce

    def report(self, name: str, value: torch.Tensor | float) -> None:
        value = value.detach().float().mean() if isinstance(value, torch.Tensor) else torch.tensor(float(value))
        self._sums[name] = self._sums[name] + value if name in self._sums else value
        self._counts[name] = self._counts.get(name, 0) + 1

    def collect(self, reset: bool = True) -> dict[str, float]:
        """Averages since the last reset; `reset=False` peeks without starting a new window."""
        if not self._sums:
            return {}
        names = sorted(self._sums)  # the same order on every process
        means = torch.stack([self._sums[n].to(self._sums[names[0]].device) / self._counts[n] for n in names])
        if self.reduce:
            means = self.reduce(means)
        if reset:
            self._sums, self._counts = {}, {}
        return dict(zip(names, means.cpu().tolist()))

    def state_dict(self) -> dict[str, Any]:
        return {"sums": dict(self._sums), "counts": dict(self._counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._sums, self._counts = dict(state["sums"]), dict(state["counts"])
