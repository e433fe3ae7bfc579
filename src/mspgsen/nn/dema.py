"""DEMA attention (seed 001, eq. 1-7): a local focus path and a global expansion path, fused per sample.

Works on any `[B, C, *positions]` map: 2-D for images, 1-D for the token view of an MLP's
hidden vector. The focus path runs one head per window size (dilated 3x3 convolutions, gated per
position and channel), weighs the heads per position by a softmax the input predicts (its windows
are chosen by the data, not set by hand) and fuses them with W_c. The expansion path pools the
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

DEFAULT_WINDOWS = 3  # heads looking through windows of 3, 5 and 7 positions
DEFAULT_CONTEXT_TOKENS = 4
PROJECTION_DIM = 32  # the contrastive loss compares paths in this space


class DemaOutput(NamedTuple):
    out: torch.Tensor  # α·F + β·E (times the caller's gain, if it gave one)
    focus: torch.Tensor  # F, the focus path
    expansion: torch.Tensor  # E, the expansion path


def conv_nd(dims: int) -> type[nn.Conv1d] | type[nn.Conv2d]:
    if dims not in (1, 2):
        raise ValueError(f"maps with {dims} spatial dimensions are not supported (1 or 2)")
    return nn.Conv1d if dims == 1 else nn.Conv2d


class FocusPath(nn.Module):
    """F = Concat_h(a_h(X) ⊙ Attention(X·W_f)_h)·W_c (eq. 1) with windows chosen by the input.

    Head h looks through a (2h+3)-wide window: X·W_f (a 1x1 projection) through one 3x3 convolution
    dilated by h + 1 (windows 3, 5, 7, every head reading the projection: parallel heads, not a
    stack, which in GCTDRN's branches made G collapse), gated per position and channel (σ(W_g·H_h):
    where and what to look at). The paper's windows are "dynamically
    delimited … avoiding artificially set windows": a 1x1 convolution of X gives every position a
    softmax a(X) over the heads, so each position weighs its own window sizes; all of it is
    convolutions, linear in the number of positions. Dense 3x3 convolutions, not dilated or
    depthwise ones, because on a CPU they are the fastest way to a wide window."""

    def __init__(self, in_channels: int, out_channels: int, dims: int, windows: int, spectral_norm: bool):
        super().__init__()
        conv = conv_nd(dims)
        head_channels = max(out_channels // 2, 4)
        self.project = spectral(conv(in_channels, head_channels, 1), spectral_norm)  # W_f
        self.widen = nn.ModuleList(spectral(conv(head_channels, head_channels, 3, padding=h + 1, dilation=h + 1),
                                            spectral_norm) for h in range(windows))
        self.gate = spectral(conv(head_channels, head_channels, 1), spectral_norm)  # shared by the heads
        self.choose = conv(in_channels, windows, 1)  # a(X): each position's weights over its windows
        self.fuse = spectral(conv(head_channels * windows, out_channels, 1), spectral_norm)  # W_c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        choice = self.window_choice(x)
        projected = self.project(x)
        heads = [widen(projected) for widen in self.widen]
        # the shared gate runs once over the heads stacked along the batch: a spectral-normed layer
        # called several times in one forward breaks torch.compile (its power iteration mutates u, v)
        gates = torch.sigmoid(self.gate(torch.cat(heads, dim=0))).chunk(len(heads), dim=0)
        outputs = [choice[:, i:i + 1] * head * gate for i, (head, gate) in enumerate(zip(heads, gates))]
        return self.fuse(torch.cat(outputs, dim=1))

    def window_choice(self, x: torch.Tensor) -> torch.Tensor:
        """a(X): `[B, windows, *positions]`, each position's softmax over its window sizes."""
        return self.choose(x).softmax(dim=1)


class ExpansionPath(nn.Module):
    """E_i = Attention(X_i, C) with C = GlobalEmbed(X): K tokens by attention pooling, O(N·K).

    Computed channels-first (1x1 convolutions and batched matrix products over `[B, C, N]`), so
    the map is never transposed into a sequence."""

    def __init__(self, in_channels: int, out_channels: int, tokens: int, spectral_norm: bool, dims: int = 2):
        super().__init__()
        conv = conv_nd(dims)
        self.pool_logits = conv(in_channels, tokens, 1)  # one attention-pooling map per context token
        self.token_value = spectral(conv(in_channels, out_channels, 1), spectral_norm)
        self.query = spectral(conv(in_channels, out_channels, 1), spectral_norm)
        self.key = spectral(nn.Linear(out_channels, out_channels), spectral_norm)
        self.value = spectral(nn.Linear(out_channels, out_channels), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooling = self.pool_logits(x).flatten(2).softmax(dim=2)  # [B, K, N]: each token a distribution over positions
        context = pooling @ self.token_value(x).flatten(2).transpose(1, 2)  # C: [B, K, C_out]
        query = self.query(x).flatten(2)  # [B, C_out, N]
        scores = self.key(context) @ query / math.sqrt(query.shape[1])  # [B, K, N]
        attended = self.value(context).transpose(1, 2) @ scores.softmax(dim=1)  # [B, C_out, N]
        return attended.view(len(x), -1, *x.shape[2:])


class DEMA(nn.Module):
    """O = α·F + β·E with [α, β] = softmax(MLP(pool(X), T)); returns O, F and E (for L_LGCL)."""

    def __init__(self, in_channels: int, out_channels: int | None = None, dims: int = 2,
                 windows: int = DEFAULT_WINDOWS, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                 condition_dim: int = 0, spectral_norm: bool = False, contrastive: bool = True):
        super().__init__()
        out_channels = out_channels or in_channels
        self.focus = FocusPath(in_channels, out_channels, dims, windows, spectral_norm)
        self.expansion = ExpansionPath(in_channels, out_channels, context_tokens, spectral_norm, dims)
        hidden = max(in_channels // 4, 8)
        self.condition_dim = condition_dim
        self.fusion = nn.Sequential(nn.Linear(in_channels + condition_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        if contrastive:  # projection heads of L_LGCL; a DEMA trained without it does not need them
            self.project_focus = nn.Linear(out_channels, PROJECTION_DIM)
            self.project_expansion = nn.Linear(out_channels, PROJECTION_DIM)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None,
                gain: torch.Tensor | None = None) -> DemaOutput:
        """`gain` (a GCTDRN block's β) scales O through α and β, so the map is multiplied once."""
        focus, expansion = self.focus(x), self.expansion(x)
        pooled = x.flatten(2).mean(dim=2)
        if self.condition_dim:
            if condition is None:  # unconditional use of a conditional module: a zero task embedding
                condition = pooled.new_zeros(len(x), self.condition_dim)
            pooled = torch.cat([pooled, condition], dim=1)
        weights = self.fusion(pooled).softmax(dim=1)
        if gain is not None:
            weights = weights * gain
        weights = weights.view(len(x), 2, *([1] * (x.dim() - 1)))
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
