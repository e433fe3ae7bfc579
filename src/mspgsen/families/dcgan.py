"""DCGAN (Radford et al. 2016): conv G/D with batch norm, non-saturating loss, Adam(2e-4, β1=0.5)."""
from __future__ import annotations

from dataclasses import dataclass

from mspgsen.families.adversarial import AdversarialConfig, AdversarialFamily
from mspgsen.families.base import register_family
from mspgsen.nn import NetSpec
from mspgsen.objectives import NonSaturating


@dataclass
class DCGANConfig(AdversarialConfig):
    name: str = "dcgan"


@register_family
class DCGAN(AdversarialFamily):
    name = "dcgan"
    rank = 10
    aliases = ("gan",)
    summary = "batch-norm conv G/D, non-saturating loss, Adam(2e-4, β=(0.5, 0.999))"
    Config = DCGANConfig
    net_spec = NetSpec(g_norm="batch", d_norm="batch", dcgan_init=True)
    loss = NonSaturating()
