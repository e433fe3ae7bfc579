"""GCTDRN residual blocks (seed 001, eq. 15-16) and the generator's global feature enhancement.

A block is `F = α·Σ_i W_i·Branch_i(X) + β·DEMA(X) + Shortcut(X)`: 3x3, 5x5 and 7x7 branches
fused with weights W_i computed by attention over the branch outputs (eq. 16), DEMA as the
attention term, α and β learnable. Switched off, the branches become a
plain two-layer residual body and the attention term disappears, so the ablation flags remove
exactly their own parameters. Like DEMA it works on 1-D or 2-D maps: `mix(c_in, c_out)` is
the layer that mixes all channels (a 3x3 conv for images, a linear map over the whole hidden
vector for the MLP's token view), and everything else follows from `dims`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from mspgsen.nn.dema import DEMA, DemaOutput, conv_nd
from mspgsen.nn.layers import Norm, PixelNorm, spectral

BRANCH_KERNELS = (3, 5, 7)
BRANCH_ATTENTION_HEADS = 4  # channel groups that choose their branch mixture separately
INITIAL_ATTENTION_WEIGHT = 0.5  # β starts non-zero so DEMA gets gradients from the first step

Mixer = Callable[[int, int], nn.Module]


def norm_nd(kind: Norm, channels: int, dims: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "pixel":
        return PixelNorm()
    return nn.Identity()


class SelectiveBranches(nn.Module):
    """Eq. 16's Σ_i W_i·Branch_i(X) with W_i computed by attention over the branch outputs.

    The branches are parallel, each reading X: branch i is a 3x3 convolution dilated by i + 1, so
    it sees a 3x3, 5x5 or 7x7 window (SKNet's own reading of its larger kernel) at the cost of a 3x3
    one (dense 5x5 and 7x7 kernels cost 2-3.5x as much on a CPU). An earlier reading stacked plain
    3x3 convolutions, each branch reusing the one before it: three linear layers in series, which
    made G collapse on Stacked MNIST (10 modes where one 3x3 branch gave 942; docs/benchmarks.md,
    "MSPG-SEN built up from the dcgan recipe"). The weights are attention of the input on the
    branches, per channel group (head):
        q = W_q·GAP(X),  k_i = W_k·GAP(Branch_i(X)),  W_i = softmax_i(q·k_i / √d) per head,
    so each sample chooses its receptive field from what each branch actually found."""

    def __init__(self, channels: int, dims: int, spectral_norm: bool, kernels: tuple[int, ...] = BRANCH_KERNELS,
                 in_channels: int | None = None):
        super().__init__()
        if any(k != 3 + 2 * i for i, k in enumerate(kernels)):
            raise ValueError(f"branch kernels must be 3, 5, 7, ... (3x3 convolutions dilated 1, 2, 3, ...), got {kernels}")
        conv = conv_nd(dims)
        in_channels = in_channels or channels
        self.branches = nn.ModuleList(spectral(conv(in_channels, channels, 3, padding=i + 1, dilation=i + 1),
                                               spectral_norm) for i in range(len(kernels)))
        self.heads = next(h for h in (BRANCH_ATTENTION_HEADS, 2, 1) if channels % h == 0)
        self.query = nn.Linear(in_channels, channels)
        self.key = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, gain: torch.Tensor | None = None) -> torch.Tensor:
        """Σ_i W_i·Branch_i(X), times `gain` (the block's α) folded into the weights, so each map
        is multiplied once; the branches are summed one by one, never stacked into one tensor."""
        outputs = [branch(x) for branch in self.branches]
        weights = self.branch_weights(x, torch.stack([o.flatten(2).mean(dim=2) for o in outputs], dim=1))
        if gain is not None:
            weights = weights * gain
        weights = weights.view(*weights.shape, *([1] * (x.dim() - 2)))  # [B, n, C, 1, ...]
        out = weights[:, 0] * outputs[0]
        for i in range(1, len(outputs)):
            out = out + weights[:, i] * outputs[i]
        return out

    def branch_weights(self, x: torch.Tensor, pooled_outputs: torch.Tensor) -> torch.Tensor:
        """W_i per sample and channel (`[B, n, C]`) from the pooled input and the pooled branch
        outputs `[B, n, C]`: softmax over branches of the heads' scaled dot products."""
        batch, branches, channels = pooled_outputs.shape
        head_dim = channels // self.heads
        query = self.query(x.flatten(2).mean(dim=2)).view(batch, 1, self.heads, head_dim)
        keys = self.key(pooled_outputs).view(batch, branches, self.heads, head_dim)
        weights = ((query * keys).sum(dim=3) / head_dim ** 0.5).softmax(dim=1)  # [B, n, heads]
        return weights.repeat_interleave(head_dim, dim=2)


class GCTDRNBlock(nn.Module):
    """One residual block; `forward` returns the output and the DEMA paths (None without DEMA)."""

    def __init__(self, in_channels: int, out_channels: int, dims: int, mix: Mixer, *, gctdrn: bool = True,
                 dema: bool = True, norm: Norm = "batch", spectral_norm: bool = False, condition_dim: int = 0,
                 pre: bool = False):
        super().__init__()
        self.pre = (nn.Sequential(mix(in_channels, out_channels), norm_nd(norm, out_channels, dims), nn.ReLU())
                    if pre else nn.Identity())
        body_in = out_channels if pre else in_channels
        if gctdrn:
            self.body = SelectiveBranches(out_channels, dims, spectral_norm, in_channels=body_in)
            self.alpha = nn.Parameter(torch.ones(()))
        else:
            self.body = mix(body_in, out_channels)
            self.alpha = None
        self.post = nn.Sequential(norm_nd(norm, out_channels, dims), nn.ReLU())
        self.shortcut = (nn.Identity() if in_channels == out_channels
                         else spectral(conv_nd(dims)(in_channels, out_channels, 1), spectral_norm))
        self.attention = (DEMA(in_channels, out_channels, dims, condition_dim=condition_dim,
                               spectral_norm=spectral_norm)
                          if dema else None)
        self.beta = nn.Parameter(torch.tensor(INITIAL_ATTENTION_WEIGHT)) if dema else None

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, DemaOutput | None]:
        # α and β scale the weights that mix each term (folded in, not a pass over the map each)
        body = self.body(self.pre(x)) if self.alpha is None else self.body(self.pre(x), gain=self.alpha)
        out = body + self.shortcut(x)
        paths = None
        if self.attention is not None:
            paths = self.attention(x, condition, gain=self.beta)
            out = out + paths.out
        return self.post(out), paths


class GlobalEnhancement(nn.Module):
    """The generator's last branch: global average pooling → MLP → per-channel modulation of the
    local features, so global context sets the overall look while the map keeps its detail."""

    def __init__(self, channels: int):
        super().__init__()
        hidden = max(channels // 4, 8)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, 2 * channels))
        with torch.no_grad():  # starts near the identity modulation
            self.mlp[-1].weight.mul_(0.1)
            self.mlp[-1].bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale, shift = self.mlp(x.flatten(2).mean(dim=2)).chunk(2, dim=1)
        shape = (*scale.shape, *([1] * (x.dim() - 2)))
        return x * (1 + scale.view(shape)) + shift.view(shape)


def conv3x3_mixer(spectral_norm: bool) -> Mixer:
    return lambda c_in, c_out: spectral(nn.Conv2d(c_in, c_out, 3, padding=1), spectral_norm)


class TokenLinear(nn.Module):
    """A linear map over a whole `[B, C, T]` token view (every channel of every token mixes)."""

    def __init__(self, in_channels: int, out_channels: int, tokens: int, spectral_norm: bool = False):
        super().__init__()
        self.out_shape = (out_channels, tokens)
        self.linear = spectral(nn.Linear(in_channels * tokens, out_channels * tokens), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1)).view(len(x), *self.out_shape)


def token_mixer(tokens: int, spectral_norm: bool) -> Mixer:
    return lambda c_in, c_out: TokenLinear(c_in, c_out, tokens, spectral_norm)
