"""How a family wants its networks built: one small record, read by the conv and MLP builders."""
from __future__ import annotations

from dataclasses import dataclass

from mspgsen.nn.layers import Norm


@dataclass(frozen=True)
class NetSpec:
    g_norm: Norm = "batch"
    d_norm: Norm = "batch"
    g_spectral: bool = False  # spectral norm on every G layer but the output one (SAGAN)
    d_spectral: bool = False  # likewise for D
    attention: bool = False  # SAGAN self-attention in G and D
    dcgan_init: bool = False  # N(0, 0.02) conv weights
