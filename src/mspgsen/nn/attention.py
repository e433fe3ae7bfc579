"""Self-attention: SAGAN's (Zhang et al. 2019) for feature maps and token sequences, and multi-head."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mspgsen.nn.layers import spectral


class TokenSelfAttention(nn.Module):
    """out = x + γ·softmax(q kᵀ) v over tokens `[B, N, C]`, γ learned and starting at 0 (SAGAN)."""

    def __init__(self, channels: int, spectral_norm: bool = False):
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = spectral(nn.Linear(channels, inner, bias=False), spectral_norm)
        self.key = spectral(nn.Linear(channels, inner, bias=False), spectral_norm)
        self.value = spectral(nn.Linear(channels, channels, bias=False), spectral_norm)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q, k, v = (proj(tokens) for proj in (self.query, self.key, self.value))
        if tokens.is_cuda:  # scale=1: SAGAN's attention logits are plain dot products
            attended = F.scaled_dot_product_attention(*(t.unsqueeze(1) for t in (q, k, v)), scale=1.0).squeeze(1)
        else:  # torch's CPU kernel takes its masking path for q narrower than v: 20% slower than this
            attended = torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v
        return tokens + self.gamma * attended


class SelfAttention2d(nn.Module):
    """SAGAN's attention over the H·W positions of a feature map (1x1 convs as per-position linears)."""

    def __init__(self, channels: int, spectral_norm: bool = False):
        super().__init__()
        self.attention = TokenSelfAttention(channels, spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        return self.attention(tokens).transpose(1, 2).reshape(batch, channels, height, width)


class VectorSelfAttention(nn.Module):
    """Self-attention inside an MLP: the hidden vector is read as `num_tokens` tokens."""

    def __init__(self, features: int, num_tokens: int = 8, spectral_norm: bool = False):
        super().__init__()
        if features % num_tokens:
            raise ValueError(f"{features} features do not split into {num_tokens} tokens")
        self.num_tokens = num_tokens
        self.attention = TokenSelfAttention(features // num_tokens, spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(x.view(x.shape[0], self.num_tokens, -1)).reshape(x.shape)


class MultiHeadSelfAttention2d(nn.Module):
    """Multi-head attention over the positions of a feature map, projected back to the map's
    channels and added with a learned γ starting at 0. Seed 003 (sec. 4.1): "the dimensions of the
    query, key and value of the attention mechanism are all 64, and the number of attention heads
    is 8"; read as Vaswani et al.'s d_model: q, k and v of `dims` in all (by default the map's
    channels, 64 at width 64), split into `heads` heads of dims/heads each."""

    def __init__(self, channels: int, heads: int = 8, dims: int | None = None, spectral_norm: bool = False):
        super().__init__()
        self.heads, self.head_dim = heads, max(1, (dims or channels) // heads)
        inner = heads * self.head_dim
        self.qkv = spectral(nn.Linear(channels, 3 * inner, bias=False), spectral_norm)
        self.out = spectral(nn.Linear(inner, channels, bias=False), spectral_norm)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(tokens).view(batch, -1, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if tokens.is_cuda:
            attended = F.scaled_dot_product_attention(q, k, v)
        else:  # torch's CPU flash kernel ran 1.5-5x slower in bf16 than in fp32 (a CPU without AMX)
            with torch.autocast("cpu", enabled=False):
                attended = F.scaled_dot_product_attention(q.float(), k.float(), v.float())
        attended = attended.transpose(1, 2).reshape(batch, -1, self.heads * self.head_dim)
        return x + self.gamma * self.out(attended).transpose(1, 2).reshape(batch, channels, height, width)


def attention_2d(channels: int, heads: int, spectral_norm: bool, dims: int | None = None) -> nn.Module:
    """SAGAN's single-head attention (heads = 0) or the multi-head kind (q/k/v of `dims` in all)."""
    return MultiHeadSelfAttention2d(channels, heads, dims, spectral_norm) if heads else SelfAttention2d(
        channels, spectral_norm)
