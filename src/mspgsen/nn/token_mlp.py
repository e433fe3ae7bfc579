"""MSPG-SEN's networks for low-dimensional data (the 2-D mixtures): an MLP whose hidden vector is
read as a short sequence of tokens, so that GCTDRN and DEMA keep their meaning, and AFE's
auxiliary critic on a point read out from a middle hidden layer.

Multi-scale and progressive growth have no meaning for a 2-D point and are not used here.
"""
from __future__ import annotations

import torch
from torch import nn

from mspgsen.nn.gctdrn import GCTDRNBlock, GlobalEnhancement, token_mixer
from mspgsen.nn.layers import Norm, minibatch_std, norm1d, spectral
from mspgsen.nn.multiscale import GeneratorOutput


class TokenMLPGenerator(nn.Module):
    """z → linear → `depth - 1` GCTDRN blocks over `tokens` tokens → global enhancement → point."""

    def __init__(self, latent_dim: int, out_features: int, width: int, depth: int, tokens: int, *,
                 gctdrn: bool = True, dema: bool = True, afe: bool = False, norm: Norm = "batch", pre: bool = False):
        super().__init__()
        if width % tokens:
            raise ValueError(f"mlp_width {width} does not split into {tokens} tokens")
        self.token_shape = (width // tokens, tokens)
        self.project = nn.Sequential(nn.Linear(latent_dim, width), norm1d(norm, width), nn.ReLU())
        channels = width // tokens
        mixer = token_mixer(tokens, False)
        self.blocks = nn.ModuleList(GCTDRNBlock(channels, channels, 1, mixer, gctdrn=gctdrn, dema=dema, norm=norm, pre=pre)
                                    for _ in range(max(depth - 1, 1)))
        self.enhance = GlobalEnhancement(channels) if gctdrn else None
        self.afe_block = len(self.blocks) // 2 if afe else None
        self.middle_head = nn.Linear(width, out_features) if afe else None
        self.out = nn.Linear(width, out_features)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> GeneratorOutput:
        x = self.project(z).view(len(z), *self.token_shape)
        paths, middle = [], None
        for i, block in enumerate(self.blocks):
            if i == self.afe_block:
                middle = self.middle_head(x.flatten(1))
            x, block_paths = block(x)
            if block_paths is not None:
                paths.append(block_paths)
        if self.enhance is not None:
            x = self.enhance(x)
        final = self.out(x.flatten(1))
        return GeneratorOutput({0: final}, final, middle, paths)


class PointDiscriminator(nn.Module):
    """A LeakyReLU MLP critic; with `diversity`, the minibatch spread joins the first hidden layer."""

    def __init__(self, in_features: int, width: int, depth: int, *, diversity: bool = False,
                 spectral_norm: bool = False):
        super().__init__()
        self.diversity = diversity
        self.first = nn.Sequential(spectral(nn.Linear(in_features, width), spectral_norm), nn.LeakyReLU(0.2))
        layers: list[nn.Module] = []
        for i in range(depth - 1):
            layers += [spectral(nn.Linear(width + (diversity and i == 0), width), spectral_norm), nn.LeakyReLU(0.2)]
        self.rest = nn.Sequential(*layers)
        self.head = spectral(nn.Linear(width + (diversity and depth == 1), 1), spectral_norm)

    def forward(self, x: torch.Tensor | dict[int, torch.Tensor], labels: torch.Tensor | None = None,
                groups: int = 1) -> torch.Tensor:
        """`groups`: the batch is that many equal parts (real, generated) with their own minibatch spread."""
        return self.head(self.layer_features(x, groups)[-1]).squeeze(1)

    def embed(self, x: torch.Tensor | dict[int, torch.Tensor]) -> torch.Tensor:
        return self.layer_features(x)[-1]

    def layer_features(self, x: torch.Tensor | dict[int, torch.Tensor], groups: int = 1) -> list[torch.Tensor]:
        """φ_i of eq. 12: the output of each hidden layer."""
        if isinstance(x, dict):  # the main critic is handed the one-scale "pyramid" of a point batch
            x = x[0]
        h = self.first(x)
        if self.diversity:
            h = minibatch_std(h, groups)
        layers = [h]
        for module in self.rest:
            h = module(h)
            if isinstance(module, nn.LeakyReLU):
                layers.append(h)
        return layers
