"""Levers: what a controller moves, and who applies it, so that a controller is never silently ignored.

A controller declares the levers it moves (`Controller.levers`), a family the levers its step
applies (`Family.levers()`). The loop itself applies learning rates for every family, a phase's
repeat count for the phases a family names `D` and `G`, and the EMA decay where the run keeps an
EMA; instance noise, a loss term a controller weights, progressive growth and a partition act
only where the family's step reads them. A run whose controller moves a lever its family does not
apply is refused before training (controllers/base.py).
"""
from __future__ import annotations

LEVERS = {
    "lr": "learning rates",
    "repeats": "how often the D and G phases run per step",
    "ema_decay": "the decay of G's weight average (model.ema_decay 0 keeps none)",
    "noise": "instance noise on D's inputs",
    "G/fm": "the feature-matching term G/fm",
    "level": "progressive growth",
    "partition": "the training-set partition",
}


def describe(levers: set[str] | frozenset[str]) -> str:
    """The levers in words, in LEVERS' order."""
    words = [LEVERS[lever] for lever in LEVERS if lever in levers]
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]
