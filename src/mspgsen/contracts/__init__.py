"""The contracts every part of a run meets, in one place below everything else.

- data: `DataShape` (one sample's shape), `Batch`, `BatchStream` (a resumable stream of batches);
- a step: `Knobs` (the only state controllers may change), `StepContext` (what a phase may use),
  `Phase` (the networks it trains, the optimiser that steps them, its named loss terms);
- the two kinds of plug-in: `Family` (networks, optimisers and phases for a data shape) and
  `Controller` (reads a tick's indicators, turns knobs).

This module imports nothing of training, families or controllers: they all import it, so the
loop, the families and the controllers meet here and never import one another to agree.
"""
from mspgsen.contracts.controller import Controller, run_progress
from mspgsen.contracts.data import Batch, BatchStream, DataShape
from mspgsen.contracts.family import IMAGE_LATENT_DIM, POINT_LATENT_DIM, Family, OptimizerPlan
from mspgsen.contracts.step import Knobs, OneProcess, Phase, Ranks, Reporter, StepContext, Terms

__all__ = ["IMAGE_LATENT_DIM", "POINT_LATENT_DIM", "Batch", "BatchStream", "Controller", "DataShape", "Family", "Knobs",
           "OneProcess", "OptimizerPlan", "Phase", "Ranks", "Reporter", "StepContext", "Terms", "run_progress"]
