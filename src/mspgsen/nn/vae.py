"""Parts of the VAE-GAN hybrid (seed 003): encoders, the self-supervised reconstruction network,
and the feature losses (perceptual and Gram-matrix style) on a network's intermediate layers."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mspgsen.contracts import DataShape
from mspgsen.errors import UserError
from mspgsen.nn.conv import MAX_WIDTH_MULTIPLIER


class ConvEncoder(nn.Module):
    """3x3 stride-2 convs (batch norm, LeakyReLU) down to a map under 8 px, then μ and log σ²."""

    def __init__(self, shape: DataShape, latent_dim: int, width: int):
        super().__init__()
        layers: list[nn.Module] = []
        channels, size, out = shape.channels, shape.size, width
        while min(size) >= 8:
            layers += [nn.Conv2d(channels, out, 3, 2, 1), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            channels, size = out, ((size[0] + 1) // 2, (size[1] + 1) // 2)
            out = min(out * 2, width * MAX_WIDTH_MULTIPLIER)
        self.features = nn.Sequential(*layers)
        self.to_latent = nn.Linear(channels * size[0] * size[1], 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.to_latent(self.features(x).flatten(1)).chunk(2, dim=1)
        return mean, log_var.clamp(-20, 10)


class MLPEncoder(nn.Module):
    def __init__(self, in_features: int, latent_dim: int, width: int, depth: int):
        super().__init__()
        layers: list[nn.Module] = []
        features = in_features
        for _ in range(depth):
            layers += [nn.Linear(features, width), nn.LeakyReLU(0.2)]
            features = width
        self.features = nn.Sequential(*layers)
        self.to_latent = nn.Linear(features, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.to_latent(self.features(x)).chunk(2, dim=1)
        return mean, log_var.clamp(-20, 10)


def reparameterise(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


def kl_to_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per sample, summed over latent dimensions, averaged over the batch."""
    return (-0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)).mean()


class ReconstructionNet(nn.Module):
    """Seed 003's self-supervised task network: three convs down, three transposed convs up."""

    def __init__(self, channels: int, width: int = 32):
        super().__init__()
        widths = [channels, width, 2 * width, 4 * width]
        down = [m for i in range(3) for m in (nn.Conv2d(widths[i], widths[i + 1], 3, 2, 1), nn.LeakyReLU(0.2))]
        up = [m for i in range(3, 0, -1)
              for m in (nn.ConvTranspose2d(widths[i], widths[i - 1], 3, 2, 1, output_padding=1),
                        nn.LeakyReLU(0.2) if i > 1 else nn.Tanh())]
        self.net = nn.Sequential(*down, *up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out if out.shape[-2:] == x.shape[-2:] else F.interpolate(out, size=x.shape[-2:], mode="bilinear")


class PointReconstructionNet(nn.Sequential):
    """The same task on points: three linear layers in, three out."""

    def __init__(self, features: int, width: int = 64):
        sizes = [features, width, width, width, width, width, features]
        layers: list[nn.Module] = []
        for i in range(6):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < 5:
                layers.append(nn.LeakyReLU(0.2))
        super().__init__(*layers)


def layer_features(network: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every activation of `network.features` (a Sequential) for input x."""
    return layers_and_last(network, x)[0]


def layers_and_last(network: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The activations of `network.features` and its output (what the network's head reads)."""
    outputs = []
    for layer in network.features:
        x = layer(x)
        if isinstance(layer, (nn.LeakyReLU, nn.ReLU)):
            outputs.append(x)
    return outputs, x


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """`[B, C, C]` channel correlations of a `[B, C, *positions]` map, normalised by C·positions."""
    flat = features.flatten(2).float()
    return flat @ flat.transpose(1, 2) / flat[0].numel()


def perceptual_loss(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    return sum(F.mse_loss(a.float(), b.detach().float()) for a, b in zip(fake, real))


def style_loss(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """Seed 003 eq. 5: squared distance of Gram matrices, summed over the maps (2-D layers only)."""
    pairs = [(a, b) for a, b in zip(fake, real) if a.dim() > 2]
    if not pairs:
        return fake[0].new_zeros(())
    return sum(F.mse_loss(gram_matrix(a), gram_matrix(b.detach())) for a, b in pairs)


class PretrainedFeatures(nn.Module):
    """VGG-16 features from a torchvision state-dict file, for perceptual and style losses when a
    user has one (nothing is downloaded): relu1_2, relu2_2, relu3_3 on ImageNet-normalised input."""

    LAYERS = (3, 8, 15)

    def __init__(self, path: str):
        super().__init__()
        from torchvision.models import vgg16

        if not Path(path).is_file():
            raise UserError(f"model.perceptual_extractor {path} does not exist; give the path of a torchvision "
                            "VGG-16 state dict (vgg16-397923af.pth), or leave it unset to use D's features.")
        model = vgg16()
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except (RuntimeError, KeyError) as err:
            raise UserError(f"{path} is not a torchvision VGG-16 state dict ({err}).") from None
        self.features = model.features[:self.LAYERS[-1] + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x.expand(-1, 3, -1, -1) + 1) / 2 - self.mean) / self.std
        outputs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.LAYERS:
                outputs.append(x)
        return outputs
