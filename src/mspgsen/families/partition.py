"""DynGAN's partition of the training set: family-owned state, saved in the run's checkpoint.

Detection (seed 004; the authors score the whole set): a periodic full pass gives every training
sample D's probability that it is real, conditioned on its own partition (`record_scores`); the
per-sample EMA of the probabilities seen in training batches (`observe`) is kept as the option
`model.detector=ema`. A sample whose probability exceeds 1/(1+δ) is one the generator does not
reach (metrics/collapse.py holds that rule, for this, the partitioner and `mspgsen diagnose`).

Splitting (`split`): each source partition's flagged samples become a partition of their own, when
they are at least `min_flagged` of the training set and fewer than `max_partitions` exist.

Refinement (`refine`): score-weighted k-means on D's penultimate features, started from each
partition's weighted centroid, each sample weighted by its score (the samples D is surest of,
the missed ones, pull their centroid hardest). The centroids are kept, so any sample, a new real
one or a generated one, gets the partition of its nearest centroid (`assign`).

`history` is the partition timeline: one entry per repartition (step, sizes, flagged share, full
pass seconds, and with labelled data the labels each partition holds), saved with the rest.
"""
from __future__ import annotations

from typing import Any

import torch

from mspgsen.metrics.collapse import collapsed

KMEANS_STEPS = 10


class Partition:
    def __init__(self, samples: int, delta: float, min_flagged: float, max_partitions: int, score_ema: float):
        self.labels = torch.zeros(samples, dtype=torch.long)  # each training sample's partition
        self.scores = torch.zeros(samples)  # D's probability on it (full pass, or its EMA)
        self.seen = torch.zeros(samples, dtype=torch.bool)  # scored since the last split
        self.count = 1  # partitions so far
        self.centroids = torch.zeros(0)  # [count, features] once refined; empty before
        self.history: list[dict[str, Any]] = []
        self.delta, self.min_flagged, self.max_partitions, self.score_ema = delta, min_flagged, max_partitions, score_ema

    def to(self, device: torch.device) -> "Partition":
        self.labels, self.scores, self.seen = self.labels.to(device), self.scores.to(device), self.seen.to(device)
        return self

    def sizes(self) -> torch.Tensor:
        return torch.bincount(self.labels, minlength=self.max_partitions).float()

    @torch.no_grad()
    def observe(self, index: torch.Tensor, probability: torch.Tensor) -> None:
        """The EMA detector: smooth D's probabilities on the samples at `index` (λ = score_ema)."""
        previous, first = self.scores[index], ~self.seen[index]
        self.scores[index] = torch.where(first, probability, previous + self.score_ema * (probability - previous))
        self.seen[index] = True

    def record_scores(self, probabilities: torch.Tensor) -> None:
        """The full-pass detector: D's probability on every training sample, in index order."""
        self.scores, self.seen = probabilities.to(self.scores), torch.ones_like(self.seen)

    def flagged(self) -> torch.Tensor:
        return self.seen & collapsed(self.scores, self.delta)

    @torch.no_grad()
    def split(self, features: torch.Tensor | None = None) -> dict[str, float]:
        """Split every source partition on its own flagged samples; then, given D's features of the
        whole set, refine by k-means. Returns what was done, for the controller's log."""
        flagged, total = self.flagged(), len(self.labels)
        actions = {"flagged_share": float(flagged.float().mean())}
        sources, new = self.count, 0
        for source in range(sources):
            members = flagged & (self.labels == source)
            if int(members.sum()) >= self.min_flagged * total and self.count < self.max_partitions:
                self.labels[members] = self.count
                self.count += 1
                new += 1
        if new and features is not None:
            actions["kmeans_moved"] = self.refine(features)
        self.seen.zero_()
        return {**actions, "split": float(new), "partitions": float(self.count)}

    @torch.no_grad()
    def refine(self, features: torch.Tensor, steps: int = KMEANS_STEPS) -> float:
        """Score-weighted k-means over the partitions; the share of samples it moved."""
        features = features.float().to(self.labels.device)
        weights = self.scores.clamp_min(1e-6)
        start, labels = self.labels.clone(), self.labels
        for _ in range(steps):
            centroids = weighted_centroids(features, labels, weights, self.count, self.centroids)
            labels = nearest(features, centroids)
            if torch.equal(labels, self.labels):
                break
            self.labels = labels
        self.centroids = weighted_centroids(features, self.labels, weights, self.count, centroids)
        return float((self.labels != start).float().mean())

    def assign(self, features: torch.Tensor) -> torch.Tensor:
        """The partition of each sample's nearest centroid (0 before the first refinement)."""
        if not len(self.centroids):
            return torch.zeros(len(features), dtype=torch.long, device=features.device)
        return nearest(features.float(), self.centroids.to(features.device))

    def modes_held(self, modes: torch.Tensor) -> list[list[int]]:
        """For each partition, the data's modes (labels) at least half of whose samples it holds."""
        modes = modes.to(self.labels.device)
        counts = torch.zeros(self.count, int(modes.max()) + 1, device=modes.device)
        counts.index_put_((self.labels, modes), torch.ones_like(modes, dtype=counts.dtype), accumulate=True)
        share = counts / counts.sum(dim=0, keepdim=True).clamp_min(1)
        return [torch.nonzero(share[p] >= 0.5).flatten().tolist() for p in range(self.count)]

    def state_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "scores": self.scores, "seen": self.seen, "count": self.count,
                "centroids": self.centroids, "history": self.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = self.labels.device
        self.labels, self.scores = state["labels"].to(device), state["scores"].to(device)
        self.seen, self.count = state["seen"].to(device), int(state["count"])
        self.centroids = state.get("centroids", torch.zeros(0))  # absent in runs saved before refinement
        self.history = list(state.get("history", []))


def weighted_centroids(features: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, count: int,
                       previous: torch.Tensor) -> torch.Tensor:
    """Σ w·f / Σ w per partition; an empty partition keeps its previous centroid (or sits at +inf)."""
    sums = torch.zeros(count, features.shape[1], device=features.device).index_add_(0, labels, weights[:, None] * features)
    mass = torch.zeros(count, device=features.device).index_add_(0, labels, weights)
    centroids = sums / mass.clamp_min(1e-12)[:, None]
    empty = mass == 0
    if empty.any():
        fallback = previous.to(features.device) if len(previous) == count else torch.full_like(centroids, float("inf"))
        centroids[empty] = fallback[empty]
    return centroids


def nearest(features: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    return torch.cdist(features, centroids.nan_to_num(posinf=1e30)).argmin(dim=1)
