"""DCGAN-style convolutional G and D for any image size and channel count.

The generator doubles its resolution stage by stage from a small base (4x4 for 32 or 64,
7x7 for 28, 7x6 for 218x178): the stage sizes are found by halving the target, rounding
up, while the shorter side is at least 8. Odd sizes are met by trimming the doubled map.
"""
from __future__ import annotations

import torch
from torch import nn

from mspgsen.contracts import DataShape
from mspgsen.nn.attention import attention_2d
from mspgsen.nn.layers import dcgan_init, minibatch_std, norm2d, spectral
from mspgsen.nn.spec import NetSpec

MAX_WIDTH_MULTIPLIER = 8  # channels stop growing at 8x the base width (DCGAN's ngf*8)


def generator_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """Stage sizes from the base to the full image, e.g. 32x32 → [4, 8, 16, 32]."""
    sizes = [(height, width)]
    while min(sizes[-1]) >= 8:
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes[::-1]


def stage_widths(width: int, stages: int) -> list[int]:
    """Channels per feature stage, widest first: DCGAN's 8w, 4w, 2w, w ending at the largest map."""
    return [width * min(2 ** (stages - 1 - i), MAX_WIDTH_MULTIPLIER) for i in range(stages)]


# SAGAN's rule for G: attention at its largest map of at most 32x32 positions (O(positions²)). A
# 28x28 VAE-GAN with G's attention at 7x7, or skipped, reconstructed worse than with it at 14x14
# (docs/benchmarks.md, "VAE-GAN's step")
G_ATTENTION_POSITIONS = 32 * 32


def attention_stage(sizes: list[tuple[int, int]], max_positions: int) -> int | None:
    """The largest stage of at most `max_positions` positions (attention costs O(positions²))."""
    fitting = [i for i, (h, w) in enumerate(sizes) if h * w <= max_positions]
    return fitting[-1] if fitting else None


class ConvGenerator(nn.Module):
    def __init__(self, shape: DataShape, latent_dim: int, width: int, spec: NetSpec):
        super().__init__()
        sizes = generator_sizes(*shape.size)
        feature_sizes = sizes[:-1] or sizes  # images under 8 px: one stage at full size
        widths = stage_widths(width, len(feature_sizes))
        self.base = (widths[0], *feature_sizes[0])
        # Under spectral norm the projection has no bias: W/σ(W) bounds what z contributes while a bias of
        # one value per position grows freely, and batch norm (one mean per channel) does not take it out;
        # with it SAGAN's G ignored z (1 mode on Stacked MNIST in 5.5 min; without it 776, docs/benchmarks.md)
        self.project = spectral(nn.Linear(latent_dim, widths[0] * feature_sizes[0][0] * feature_sizes[0][1],
                                          bias=spec.bias and not spec.g_spectral_norm), spec.g_spectral_norm)
        self.project_act = nn.Sequential(norm2d(spec.g_norm, widths[0]), nn.ReLU())
        self.stages = nn.ModuleList(
            _Up(widths[i - 1], widths[i], feature_sizes[i], spec.g_spectral_norm, norm2d(spec.g_norm, widths[i]),
                nn.ReLU(),
                spec.up_kernel, spec.bias) for i in range(1, len(feature_sizes)))
        self.attention_index = attention_stage(feature_sizes, G_ATTENTION_POSITIONS) if spec.attention else None
        self.attention = (attention_2d(widths[self.attention_index], spec.attention_heads, spec.g_spectral_norm,
                                       spec.attention_dim)
                          if self.attention_index is not None else None)
        if len(sizes) > 1:
            self.to_image = _Up(widths[-1], shape.channels, sizes[-1], False, nn.Identity(), nn.Tanh(), spec.up_kernel,
                                spec.bias)
        else:
            self.to_image = nn.Sequential(nn.Conv2d(widths[-1], shape.channels, 3, padding=1, bias=spec.bias),
                                          nn.Tanh())
        if spec.dcgan_init:
            dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self._attend(self.project_act(self.project(z).view(-1, *self.base)), 0)
        for i, stage in enumerate(self.stages, start=1):
            x = self._attend(stage(x), i)
        return self.to_image(x)

    def _attend(self, x: torch.Tensor, stage: int) -> torch.Tensor:
        return self.attention(x) if stage == self.attention_index else x


class ConvDiscriminator(nn.Module):
    def __init__(self, shape: DataShape, width: int, spec: NetSpec):
        super().__init__()
        stages_count = max(len(generator_sizes(*shape.size)) - 1, 1)
        widths = stage_widths(width, stages_count)[::-1]  # narrowest at full resolution
        size = shape.size
        layers: list[nn.Module] = []
        attend_done = not spec.attention
        in_channels = shape.channels
        for i, out_channels in enumerate(widths):
            downsample = min(size) >= 8
            conv = nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=spec.bias) if downsample else nn.Conv2d(
                in_channels, out_channels, 3, 1, 1, bias=spec.bias)
            size = (size[0] // 2, size[1] // 2) if downsample else size
            layers += [spectral(conv, spec.d_spectral_norm), norm2d(spec.d_norm if i else "none", out_channels),
                       nn.LeakyReLU(0.2)]
            if not attend_done and size[0] * size[1] <= spec.d_attention_positions:
                layers.append(attention_2d(out_channels, spec.attention_heads, spec.d_spectral_norm, spec.attention_dim))
                attend_done = True
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.minibatch_std = spec.minibatch_std
        self.head = nn.Linear((in_channels + spec.minibatch_std) * size[0] * size[1], 1, bias=spec.bias)
        if spec.dcgan_init:
            dcgan_init(self)

    def head_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the head reads: the last feature map, with the batch's spread as one more channel
        when `minibatch_std` is on, flattened."""
        return self.head_input_of(self.features(x))

    def head_input_of(self, h: torch.Tensor) -> torch.Tensor:
        return (minibatch_std(h) if self.minibatch_std else h).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score_of(self.features(x))

    def score_of(self, last: torch.Tensor) -> torch.Tensor:
        """The score of the last feature map (what `features` returned)."""
        return self.head(self.head_input_of(last)).squeeze(1)


class _Up(nn.Sequential):
    """ConvTranspose(4 or 3, stride 2) doubling the map, trimmed to an odd target size, then norm and act."""

    def __init__(self, in_channels: int, out_channels: int, size: tuple[int, int], spectral_norm: bool,
                 norm: nn.Module, act: nn.Module, kernel: int = 4, bias: bool = True):
        up = (nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=bias) if kernel == 4
              else nn.ConvTranspose2d(in_channels, out_channels, 3, 2, 1, output_padding=1, bias=bias))
        super().__init__(spectral(up, spectral_norm), norm, act)
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up, norm, act = self
        return act(norm(up(x)[..., :self.size[0], :self.size[1]]))
