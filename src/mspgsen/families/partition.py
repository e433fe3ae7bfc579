"""DynGAN's partition of the training set: family-owned state, saved in the run's checkpoint.

Each training sample has a partition label and a smoothed score: the EMA of D's probability that
it is real, updated whenever the sample is in a training batch. A split gives the samples whose
score exceeds 1/(1+δ) (the generator does not reach them: metrics/collapse.py) a partition of their
own, when they are at least `min_flagged` of the set and fewer than `max_partitions` exist; the
smoothing then starts afresh.
"""
from __future__ import annotations

from typing import Any

import torch

from mspgsen.metrics.collapse import collapse_threshold


class Partition:
    def __init__(self, samples: int, delta: float, min_flagged: float, max_partitions: int, score_ema: float):
        self.labels = torch.zeros(samples, dtype=torch.long)  # each training sample's partition
        self.scores = torch.zeros(samples)  # EMA of D's probability on it
        self.seen = torch.zeros(samples, dtype=torch.bool)  # scored since the last split
        self.count = 1  # partitions so far
        self.threshold = collapse_threshold(delta)
        self.min_flagged, self.max_partitions, self.score_ema = min_flagged, max_partitions, score_ema

    def to(self, device: torch.device) -> "Partition":
        self.labels, self.scores, self.seen = self.labels.to(device), self.scores.to(device), self.seen.to(device)
        return self

    def sizes(self) -> torch.Tensor:
        return torch.bincount(self.labels, minlength=self.max_partitions).float()

    @torch.no_grad()
    def observe(self, index: torch.Tensor, probability: torch.Tensor) -> None:
        """Smooth D's probabilities on the samples at `index` into their scores (λ = score_ema)."""
        previous, first = self.scores[index], ~self.seen[index]
        self.scores[index] = torch.where(first, probability, previous + self.score_ema * (probability - previous))
        self.seen[index] = True

    def split_collapsed(self) -> dict[str, float]:
        """Give the collapsed samples a partition of their own (when enough, and below the cap);
        return what was done, for the controller's log."""
        flagged = self.seen & (self.scores > self.threshold)
        share = float(flagged.float().mean())
        actions = {"flagged_share": share}
        if share >= self.min_flagged and self.count < self.max_partitions:
            self.labels[flagged] = self.count
            self.count += 1
            actions["split"] = 1.0
        self.seen.zero_()
        self.scores.zero_()
        return {**actions, "partitions": float(self.count)}

    def state_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "scores": self.scores, "seen": self.seen, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = self.labels.device
        self.labels, self.scores = state["labels"].to(device), state["scores"].to(device)
        self.seen, self.count = state["seen"].to(device), int(state["count"])
