"""WGAN-GP (Gulrajani et al. 2017): gradient penalty λ=10, Adam(1e-4, β=(0, 0.9)), n_critic=5,
no batch norm in the critic (the penalty is per sample)."""
from __future__ import annotations

from dataclasses import dataclass, field

from mspgsen.config import OptimizerConfig
from mspgsen.families.adversarial import AdversarialConfig, AdversarialFamily
from mspgsen.families.base import register_family
from mspgsen.nn import NetSpec
from mspgsen.objectives import Wasserstein


def _adam() -> OptimizerConfig:
    return OptimizerConfig(name="adam", lr=1e-4, betas=(0.0, 0.9))


@dataclass
class WGANGPConfig(AdversarialConfig):
    name: str = "wgan-gp"
    n_critic: int = 5
    gp_weight: float = 10.0  # λ, the starting weight of the term D/gp
    optim_g: OptimizerConfig = field(default_factory=_adam)
    optim_d: OptimizerConfig = field(default_factory=_adam)


@register_family
class WGANGP(AdversarialFamily):
    name = "wgan-gp"
    rank = 30
    summary = "Wasserstein loss + gradient penalty λ=10, Adam(1e-4, β=(0, 0.9)), n_critic=5"
    Config = WGANGPConfig
    net_spec = NetSpec(g_norm="batch", d_norm="none")
    loss = Wasserstein()
