"""MLP G and D for low-dimensional data such as the 2-D Gaussian mixtures."""
from __future__ import annotations

import torch
from torch import nn

from mspgsen.nn.attention import VectorSelfAttention
from mspgsen.nn.layers import minibatch_std, norm1d, spectral
from mspgsen.nn.spec import NetSpec


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, out_features: int, width: int, depth: int, spec: NetSpec):
        super().__init__()
        layers: list[nn.Module] = []
        in_features = latent_dim
        for i in range(depth):
            layers += [spectral(nn.Linear(in_features, width), spec.g_spectral_norm), norm1d(spec.g_norm, width),
                       nn.ReLU()]
            if spec.attention and i == 0:
                layers.append(VectorSelfAttention(width, spectral_norm=spec.g_spectral_norm))
            in_features = width
        layers.append(nn.Linear(in_features, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    def __init__(self, in_features: int, width: int, depth: int, spec: NetSpec):
        super().__init__()
        layers: list[nn.Module] = []
        features = in_features
        for i in range(depth):
            layers += [spectral(nn.Linear(features, width), spec.d_spectral_norm),
                       norm1d(spec.d_norm if i else "none", width), nn.LeakyReLU(0.2)]
            if spec.attention and i == 0:
                layers.append(VectorSelfAttention(width, spectral_norm=spec.d_spectral_norm))
            features = width
        self.features = nn.Sequential(*layers)
        self.minibatch_std = spec.minibatch_std
        self.head = nn.Linear(features + spec.minibatch_std, 1)

    def head_input(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer, with the batch's spread as one more feature when `minibatch_std` is on."""
        return self.head_input_of(self.features(x))

    def head_input_of(self, h: torch.Tensor) -> torch.Tensor:
        return minibatch_std(h) if self.minibatch_std else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score_of(self.features(x))

    def score_of(self, last: torch.Tensor) -> torch.Tensor:
        """The score of the last hidden layer (what `features` returned)."""
        return self.head(self.head_input_of(last)).squeeze(1)
