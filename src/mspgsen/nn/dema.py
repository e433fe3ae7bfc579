"""DEMA attention (seed 001, eq. 1-7): a local focus path and a global expansion path, fused per sample.

Works on any `[B, C, *positions]` map: 2-D for images, 1-D for the token view of an MLP's
hidden vector. The focus path runs one head per window scale (a dilated depthwise convolution,
gated per position and channel) and fuses the heads with W_c. The expansion path pools the
input into a few global context tokens and lets every position attend to them only, so its
cost grows linearly with the number of positions (SAGAN's grows with their square). The
fusion weights α, β come from a small MLP of the pooled input and an optional condition.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from mspgsen.nn.layers import spectral

DEFAULT_DILATIONS = (1, 2, 3)  # 3x3 windows spanning 3, 5 and 7 positions: one head each
DEFAULT_CONTEXT_TOKENS = 4
PROJECTION_DIM = 32  # the contrastive loss compares paths in this space


class DemaOutput(NamedTuple):
    out: torch.Tensor  # α·F + β·E
    focus: torch.Tensor  # F, the focus path
    expansion: torch.Tensor  # E, the expansion path


def conv_nd(dims: int) -> type[nn.Conv1d] | type[nn.Conv2d]:
    if dims not in (1, 2):
        raise ValueError(f"maps with {dims} spatial dimensions are not supported (1 or 2)")
    return nn.Conv1d if dims == 1 else nn.Conv2d


class FocusPath(nn.Module):
    """F = Concat_h(Attention(X·W_f^h))·W_c, head h looking through a window of dilation d_h."""

    def __init__(self, in_channels: int, out_channels: int, dims: int, dilations: tuple[int, ...], spectral_norm: bool):
        super().__init__()
        conv = conv_nd(dims)
        head_channels = max(math.ceil(out_channels / len(dilations)), 1)
        self.heads = nn.ModuleList(
            nn.ModuleDict({
                "project": spectral(conv(in_channels, head_channels, 1), spectral_norm),  # W_f^h
                "window": conv(head_channels, head_channels, 3, padding=d, dilation=d, groups=head_channels),
                "gate": spectral(conv(head_channels, head_channels, 1), spectral_norm),
            }) for d in dilations)
        self.fuse = spectral(conv(head_channels * len(dilations), out_channels, 1), spectral_norm)  # W_c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        for head in self.heads:
            local = head["window"](head["project"](x))
            outputs.append(local * torch.sigmoid(head["gate"](local)))  # where and what to look at
        return self.fuse(torch.cat(outputs, dim=1))


class ExpansionPath(nn.Module):
    """E_i = Attention(X_i, C) with C = GlobalEmbed(X): K tokens by attention pooling, O(N·K)."""

    def __init__(self, in_channels: int, out_channels: int, tokens: int, spectral_norm: bool):
        super().__init__()
        self.pool_logits = nn.Linear(in_channels, tokens)  # one attention-pooling map per context token
        self.token_value = spectral(nn.Linear(in_channels, out_channels), spectral_norm)
        self.query = spectral(nn.Linear(in_channels, out_channels), spectral_norm)
        self.key = spectral(nn.Linear(out_channels, out_channels), spectral_norm)
        self.value = spectral(nn.Linear(out_channels, out_channels), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, *positions = x.shape
        seq = x.flatten(2).transpose(1, 2)  # [B, N, C]
        pooling = self.pool_logits(seq).softmax(dim=1)  # [B, N, K], each token a distribution over positions
        context = pooling.transpose(1, 2) @ self.token_value(seq)  # C: [B, K, C_out]
        attended = F.scaled_dot_product_attention(self.query(seq), self.key(context), self.value(context))
        return attended.transpose(1, 2).reshape(batch, -1, *positions)


class DEMA(nn.Module):
    """O = α·F + β·E with [α, β] = softmax(MLP(pool(X), T)); returns O, F and E (for L_LGCL)."""

    def __init__(self, in_channels: int, out_channels: int | None = None, dims: int = 2,
                 dilations: tuple[int, ...] = DEFAULT_DILATIONS, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                 condition_dim: int = 0, spectral_norm: bool = False, contrastive: bool = True):
        super().__init__()
        out_channels = out_channels or in_channels
        self.focus = FocusPath(in_channels, out_channels, dims, dilations, spectral_norm)
        self.expansion = ExpansionPath(in_channels, out_channels, context_tokens, spectral_norm)
        hidden = max(in_channels // 4, 8)
        self.condition_dim = condition_dim
        self.fusion = nn.Sequential(nn.Linear(in_channels + condition_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        if contrastive:  # projection heads of L_LGCL; a DEMA trained without it does not need them
            self.project_focus = nn.Linear(out_channels, PROJECTION_DIM)
            self.project_expansion = nn.Linear(out_channels, PROJECTION_DIM)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> DemaOutput:
        focus, expansion = self.focus(x), self.expansion(x)
        pooled = x.flatten(2).mean(dim=2)
        if self.condition_dim:
            if condition is None:  # unconditional use of a conditional module: a zero task embedding
                condition = pooled.new_zeros(len(x), self.condition_dim)
            pooled = torch.cat([pooled, condition], dim=1)
        weights = self.fusion(pooled).softmax(dim=1).view(len(x), 2, *([1] * (x.dim() - 1)))
        return DemaOutput(weights[:, 0] * focus + weights[:, 1] * expansion, focus, expansion)

    def contrastive_loss(self, output: DemaOutput, temperature: float) -> torch.Tensor:
        """L_LGCL for one forward pass; the positive view is the focus map pooled over other positions."""
        first, second = random_halves(output.focus.flatten(2).shape[2], output.focus.device)
        focus_seq = output.focus.flatten(2)
        anchor = self.project_focus(focus_seq[:, :, first].mean(dim=2))
        positive = self.project_focus(focus_seq[:, :, second].mean(dim=2))
        expansion = self.project_expansion(output.expansion.flatten(2).mean(dim=2))
        return local_global_contrastive_loss(anchor, positive, expansion, temperature)


def random_halves(positions: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint random sets of positions (both all of them when there is only one)."""
    if positions < 2:
        everything = torch.zeros(1, dtype=torch.long, device=device)
        return everything, everything
    order = torch.randperm(positions, device=device)
    return order[:positions // 2], order[positions // 2:]


def local_global_contrastive_loss(focus: torch.Tensor, positive: torch.Tensor, expansion: torch.Tensor,
                                  temperature: float) -> torch.Tensor:
    """Eq. 7, InfoNCE: each focus embedding F_i is pulled to its positive P_i and pushed from the
    other samples' positives P_j and from its own expansion embedding E_i (the paths should differ).

    All inputs are `[B, D]`; the result is the mean over the batch.
    """
    focus, positive, expansion = (F.normalize(t.float(), dim=1) for t in (focus, positive, expansion))
    logits = torch.cat([focus @ positive.T, (focus * expansion).sum(dim=1, keepdim=True)], dim=1) / temperature
    return F.cross_entropy(logits, torch.arange(len(focus), device=focus.device))
