"""SAGAN's networks trained with the WGAN-GP objective: seed 002's best combination.

Seed 002 does not give the hybrid's optimiser; we keep SAGAN's TTUR and one critic step per
generator step, as the widely used SAGAN code does with its wgan-gp loss option.
"""
from __future__ import annotations

from dataclasses import dataclass

from mspgsen.families.base import register_family
from mspgsen.families.sagan import SAGAN, SAGANConfig
from mspgsen.objectives import Wasserstein


@dataclass
class SAGANWGANGPConfig(SAGANConfig):
    name: str = "sagan-wgangp"
    gp_weight: float = 10.0  # λ, the starting weight of the term D/gp


@register_family
class SAGANWGANGP(SAGAN):
    name = "sagan-wgangp"
    rank = 50
    summary = "SAGAN networks with Wasserstein loss + gradient penalty λ=10, TTUR Adam(1e-4 / 4e-4)"
    Config = SAGANWGANGPConfig
    loss = Wasserstein()
    train_defaults = {}  # SAGAN's batch 64 was measured under the hinge loss only; this keeps 128
