"""How a family wants its networks built: one small record, read by the conv and MLP builders."""
from __future__ import annotations

from dataclasses import dataclass

from mspgsen.nn.layers import Norm


@dataclass(frozen=True)
class NetSpec:
    g_norm: Norm = "batch"
    d_norm: Norm = "batch"
    g_spectral_norm: bool = False  # spectral norm on every G layer but the output one (SAGAN)
    d_spectral_norm: bool = False  # likewise for D
    attention: bool = False  # self-attention in G and D
    attention_heads: int = 0  # 0: SAGAN's single-head attention; N: N heads (seed 003: 8)
    attention_dim: int | None = None  # the N heads' q/k/v dims in all; None: the map's channels
    d_attention_positions: int = 32 * 32  # D's attention sits at its largest map of at most this many positions
    up_kernel: int = 4  # G's transposed convs: 4 (DCGAN) or 3 (seed 003's 3x3, stride 2)
    dcgan_init: bool = False  # N(0, 0.02) conv weights
    bias: bool = True  # biases in the conv networks' layers (pytorch/examples' DCGAN has none)
    minibatch_std: bool = False  # D's head also reads the batch's feature spread (Karras et al. 2018)
