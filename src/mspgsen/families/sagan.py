"""SAGAN (Zhang et al. 2019) as seed 002 describes it: self-attention in G and D, spectral norm in
both (all layers but the last), batch norm kept in G only, hinge loss, TTUR (lr_G=1e-4, lr_D=4e-4)."""
from __future__ import annotations

from dataclasses import dataclass, field

from mspgsen.config import OptimizerConfig
from mspgsen.families.adversarial import AdversarialConfig, AdversarialFamily
from mspgsen.families.base import register_family
from mspgsen.nn import NetSpec
from mspgsen.objectives import Hinge

SAGAN_NETS = NetSpec(g_norm="batch", d_norm="none", g_spectral_norm=True, d_spectral_norm=True, attention=True)


def ttur(lr: float) -> OptimizerConfig:
    return OptimizerConfig(name="adam", lr=lr, betas=(0.0, 0.9))


@dataclass
class SAGANConfig(AdversarialConfig):
    name: str = "sagan"
    optim_g: OptimizerConfig = field(default_factory=lambda: ttur(1e-4))
    optim_d: OptimizerConfig = field(default_factory=lambda: ttur(4e-4))


@register_family
class SAGAN(AdversarialFamily):
    name = "sagan"
    rank = 40
    summary = "self-attention, spectral norm in G and D, hinge loss, TTUR Adam(1e-4 / 4e-4, β=(0, 0.9))"
    Config = SAGANConfig
    net_spec = SAGAN_NETS
    loss = Hinge()
