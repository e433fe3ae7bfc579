"""Every metric the toolkit reports, with what it means: the direction that is better, its scale,
and the features it was computed on. The best-run choice (report/periodic.py), the ranking of an
ablation or sweep (experiments.py) and the controllers' quality signal (controllers/base.py) all read
this one table, so they cannot disagree on which run is better.

A metric computed on a classifier's features carries it in its name (`fid[classifier:mnist]`); the
registry entry is the part before the bracket.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    scale: Literal["count", "share", "nats", "distance", "score"]  # count of modes, share in [0, 1], ...
    features: str  # what it reads: "none" (nearest mode), "classifier", or "inception or classifier"
    label: str  # how a table heads it
    display_scale: float = 1.0  # shares are shown as percentages

    @property
    def direction(self) -> float:
        return 1.0 if self.higher_is_better else -1.0


METRICS = {m.name: m for m in (
    Metric("modes_covered", True, "count", "none", "modes"),
    Metric("high_quality", True, "share", "none", "high-quality %", 100.0),
    Metric("kl", False, "nats", "none", "KL"),
    Metric("stacked_modes", True, "count", "classifier", "modes"),
    Metric("stacked_confident", True, "share", "classifier", "confident %", 100.0),
    Metric("stacked_kl", False, "nats", "classifier", "KL"),
    Metric("stacked_fid", False, "distance", "classifier", "classifier FID"),
    Metric("fid", False, "distance", "inception or classifier", "FID"),
    Metric("kid_mean", False, "distance", "inception or classifier", "KID"),
    Metric("is_mean", True, "score", "inception or classifier", "IS"),
    Metric("precision", True, "share", "inception or classifier", "precision"),
    Metric("recall", True, "share", "inception or classifier", "recall"),
)}

# What decides "better", per kind of result, first group present wins: coverage first (the mission),
# then the quality share breaks ties. A share is below 1, so "count + share" orders runs exactly as
# comparing the count and then the share would. The last member is what an ablation's Δ column shows.
RANKING = (("modes_covered", "high_quality"), ("stacked_modes", "stacked_confident"),
           ("fid",), ("kid_mean",), ("is_mean",))


def metric(name: str) -> Metric | None:
    """The entry of a reported name (`fid[classifier:mnist]` → fid; `eval/fid` → fid); None if unknown."""
    return METRICS.get(name.removeprefix("eval/").split("[", 1)[0])


def find(results: dict[str, Any], name: str) -> tuple[str, float] | None:
    """The reported name and value of registry metric `name` in `results`, under any extractor label."""
    for key, value in results.items():
        entry = metric(key)
        if entry is not None and entry.name == name and isinstance(value, (int, float)):
            return key, float(value)
    return None


def ranking_group(results: dict[str, Any]) -> tuple[str, ...] | None:
    """The first RANKING group with any member in `results`."""
    return next((group for group in RANKING if any(find(results, name) for name in group)), None)


def score(results: dict[str, Any]) -> float | None:
    """One number where higher is better (RANKING's first group present); None when nothing ranks."""
    group = ranking_group(results)
    if group is None:
        return None
    found = [find(results, name) for name in group]
    return sum(METRICS[name].direction * hit[1] for name, hit in zip(group, found) if hit is not None)


def headline(results: dict[str, Any]) -> tuple[str, Metric] | None:
    """The reported name and entry of the metric a table's Δ column and plot show: the quality
    share of a coverage group, the distance or score otherwise."""
    group = ranking_group(results)
    if group is None:
        return None
    for name in reversed(group):
        hit = find(results, name)
        if hit is not None:
            return hit[0], METRICS[name]
    return None
