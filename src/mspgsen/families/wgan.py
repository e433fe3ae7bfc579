"""WGAN (Arjovsky et al. 2017): critic without sigmoid, weight clipping c=0.01, RMSprop(5e-5), n_critic=5."""
from __future__ import annotations

from dataclasses import dataclass, field

from mspgsen.config import OptimizerConfig
from mspgsen.families.adversarial import AdversarialConfig, AdversarialFamily
from mspgsen.families.base import register_family
from mspgsen.nn import NetSpec
from mspgsen.objectives import Wasserstein


def _rmsprop() -> OptimizerConfig:
    return OptimizerConfig(name="rmsprop", lr=5e-5)


@dataclass
class WGANConfig(AdversarialConfig):
    name: str = "wgan"
    n_critic: int = 5
    clip_value: float = 0.01  # critic weights are clipped to [-c, c] after every update
    optim_g: OptimizerConfig = field(default_factory=_rmsprop)
    optim_d: OptimizerConfig = field(default_factory=_rmsprop)


@register_family
class WGAN(AdversarialFamily):
    name = "wgan"
    rank = 20
    summary = "Wasserstein loss, weight clipping c=0.01, RMSprop(5e-5), n_critic=5"
    Config = WGANConfig
    net_spec = NetSpec(g_norm="batch", d_norm="batch", dcgan_init=True)
    loss = Wasserstein()
