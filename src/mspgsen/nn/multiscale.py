"""MSPG-SEN's image networks: a multi-scale progressive generator built of GCTDRN blocks, a
discriminator that reads every scale (MSG-GAN style), and the AFE auxiliary discriminator.

The generator grows from the smallest stage of `generator_sizes` (4x4 for 32 and 64, 7x7 for
28) to the full size, one GCTDRN block per stage, with a to-image head at each scale it emits.
It keeps the progressive level as a buffer, so its EMA copy and its snapshot show exactly what
it showed in training.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from mspgsen.contracts import DataShape
from mspgsen.nn.conv import generator_sizes, stage_widths
from mspgsen.nn.dema import DEMA, DemaOutput
from mspgsen.nn.gctdrn import GCTDRNBlock, GlobalEnhancement, conv3x3_mixer, norm_nd
from mspgsen.nn.layers import Norm, PartBatchNorm2d, minibatch_std, spectral
from mspgsen.nn.pyramid import Pyramid, active_scale, grown_pyramid, shrink, upsample

CONDITION_DIM = 128  # class embedding size (DEMA's task embedding T)
# DEMA runs in G's blocks and at one stage of D on maps of at most this many positions: its many
# small convolutions and element-wise steps cost a CPU more than the rest of a 32x32 network's
# largest stage (docs/benchmarks.md, "MSPG-SEN's cost"), while its expansion path already sees the
# whole map from 16x16.
ATTENTION_MAX_POSITIONS = 16 * 16


@dataclass
class GeneratorOutput:
    pyramid: Pyramid  # every emitted scale, faded to the current progressive level
    final: torch.Tensor  # the full-size sample
    middle: torch.Tensor | None = None  # what AFE's auxiliary discriminator reads
    paths: list[DemaOutput] = field(default_factory=list)  # DEMA paths, for L_LGCL


def scale_sizes(shape: DataShape) -> list[tuple[int, int]]:
    return generator_sizes(*shape.size)


def middle_scale(sizes: list[tuple[int, int]]) -> int:
    return len(sizes) // 2


class ClassEmbedding(nn.Module):
    """Class labels as vectors; index `num_classes` is the null label that label dropout uses."""

    def __init__(self, num_classes: int, dim: int):
        super().__init__()
        self.null = num_classes
        self.embed = nn.Embedding(num_classes + 1, dim)

    def forward(self, labels: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
        if labels is None:
            labels = torch.full((batch,), self.null, dtype=torch.long, device=device)
        return self.embed(labels)


class MultiScaleGenerator(nn.Module):
    def __init__(self, shape: DataShape, latent_dim: int, width: int, *, head_scales: list[int],
                 num_classes: int = 0, gctdrn: bool = True, dema: bool = True, afe: bool = False,
                 norm: Norm = "batch", pre: bool = False, upsampling: str = "nearest"):
        super().__init__()
        self.sizes = scale_sizes(shape)
        self.upsampling = upsampling
        widths = stage_widths(width, len(self.sizes))
        self.head_scales = sorted(head_scales)
        self.afe_scale = middle_scale(self.sizes) if afe else None
        condition_dim = CONDITION_DIM if num_classes else 0
        self.classes = ClassEmbedding(num_classes, condition_dim) if num_classes else None
        self.base_shape = (widths[0], *self.sizes[0])
        self.project = nn.Sequential(nn.Linear(latent_dim + condition_dim, widths[0] * self.sizes[0][0] * self.sizes[0][1]))
        self.project_act = nn.Sequential(norm_nd(norm, widths[0], 2), nn.ReLU())
        mixer = conv3x3_mixer(False)
        self.blocks = nn.ModuleList(
            GCTDRNBlock(widths[max(i - 1, 0)], widths[i], 2, mixer, gctdrn=gctdrn, norm=norm, pre=pre,
                        dema=dema and size[0] * size[1] <= ATTENTION_MAX_POSITIONS,
                        condition_dim=condition_dim) for i, size in enumerate(self.sizes))
        self.enhance = GlobalEnhancement(widths[-1]) if gctdrn else None
        self.to_image = nn.ModuleDict(
            {str(i): nn.Sequential(nn.Conv2d(widths[i], shape.channels, 1), nn.Tanh()) for i in self.head_scales})
        self.register_buffer("level", torch.tensor(float(len(self.sizes) - 1)))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> GeneratorOutput:
        """A growing generator (a head at every scale) runs only the scales its level has reached;
        the level is read on the host once per call to choose them."""
        condition = self.classes(labels, len(z), z.device) if self.classes else None
        latent = z if condition is None else torch.cat([z, condition], dim=1)
        x = self.project_act(self.project(latent).view(-1, *self.base_shape))
        last = len(self.sizes) - 1
        growing = len(self.to_image) == len(self.sizes)
        level = float(self.level) if growing else float(last)
        pyramid, paths = {}, []
        for i in range(active_scale(level, len(self.sizes)) + 1):
            x, block_paths = self.blocks[i](self._grow(x, self.sizes[i]), condition)
            if block_paths is not None:
                paths.append(block_paths)
            if i == last and self.enhance is not None:
                x = self.enhance(x)
            if str(i) in self.to_image:
                pyramid[i] = self.to_image[str(i)](x)
        if growing:
            pyramid = grown_pyramid(pyramid, self.sizes, level)
        middle = pyramid[self.afe_scale] if self.afe_scale is not None else None
        return GeneratorOutput(pyramid, pyramid[last], middle, paths)


    def _grow(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Features to the next scale's size: nearest (centred), or bilinear, which leaves no repeated
        pixels for the dilated branches to sample in a grid."""
        if self.upsampling == "nearest" or tuple(x.shape[-2:]) == tuple(size):
            return upsample(x, size)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class DownBlock(nn.Module):
    """Residual: a 3x3 conv at the input's size, area-downsampling to the next scale, a 3x3 conv
    there (StyleGAN2's D block order: a quarter of the work of two convs before the downsampling),
    and a downsampled 1x1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int, size: tuple[int, int], spectral_norm: bool):
        super().__init__()
        self.size = size
        self.first = spectral(nn.Conv2d(in_channels, in_channels, 3, padding=1), spectral_norm)
        self.second = spectral(nn.Conv2d(in_channels, out_channels, 3, padding=1), spectral_norm)
        self.shortcut = spectral(nn.Conv2d(in_channels, out_channels, 1), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        body = self.second(shrink(F.leaky_relu(self.first(x), 0.2), self.size))
        return F.leaky_relu(body + self.shortcut(shrink(x, self.size)), 0.2)


class Downsample(nn.Module):
    """DCGAN's downsampling, before its norm and activation: one 4x4 convolution of stride 2 (a 3x3
    one and area pooling where the size does not halve exactly). A quarter of the work of a
    residual block's 3x3 convolution at the input's size, which is where a CPU spends D's time."""

    def __init__(self, in_channels: int, out_channels: int, in_size: tuple[int, int], size: tuple[int, int],
                 spectral_norm: bool):
        super().__init__()
        self.size = size
        self.halves = tuple(in_size) == (2 * size[0], 2 * size[1])
        self.conv = spectral(nn.Conv2d(in_channels, out_channels, 4, 2, 1) if self.halves
                             else nn.Conv2d(in_channels, out_channels, 3, padding=1), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) if self.halves else shrink(self.conv(x), self.size)


def colour_statistics(images: torch.Tensor) -> torch.Tensor:
    """Each image's mean and standard deviation per channel, `[B, 2C]`: what D's batch norm takes
    away from a whole batch (a colour cast shared by every generated image), read per sample."""
    flat = images.flatten(2)
    return torch.cat([flat.mean(dim=2), flat.std(dim=2)], dim=1)


class MultiScaleDiscriminator(nn.Module):
    """Reads the full image and, with `multiscale`, adds each smaller scale where its features reach
    that size (MSG-GAN); a projection head (Miyato & Koyama 2018) brings in the class label.

    D enters at the full size (or, growing, at the active scale a) with h_a = lrelu(FromImage_a(x_a)),
    without batch norm on the input layer (DCGAN's rule: there it would take away the brightness and
    contrast that tell a generated batch from a real one, and a growing D learned nothing at its
    first level). Each scale s below it is h_s = lrelu(BN_s(Down(h_{s+1}) [+ FromImage_s(x_s)])): the
    smaller scales join before the batch norm (by part: real and generated apart), so what G's small
    heads get back passes through it too (without that, adding the scales made G collapse).

    With `progressive`, the stage being grown into blends that layer with its own entry by the
    fade fraction f (ProGAN): h_{a-1} = f·lrelu(BN(…)) + (1 − f)·lrelu(FromImage_{a-1}(x_{a-1})),
    so the features are continuous in the level at both ends.

    It ends as ProGAN's and StyleGAN's critics do, at its smallest scale whatever the level: the
    minibatch standard deviation (groups of `minibatch_std_group` samples; 0: none), a 3x3 conv, and
    a dense layer over the whole flattened map, so that D sees where things are at every level (a
    head that sums over positions after 1x1 convs scores a shuffled image as the image itself, which
    is all it read at the first growth level)."""

    def __init__(self, shape: DataShape, width: int, *, multiscale: bool = True, progressive: bool = False,
                 num_classes: int = 0, dema: bool = True, spectral_norm: bool = True, minibatch_std_group: int = 0,
                 batch_norm: bool = True):
        super().__init__()
        self.sizes = scale_sizes(shape)
        last = len(self.sizes) - 1
        widths = stage_widths(width, len(self.sizes))  # widest at the smallest scale
        self.read_scales = list(range(len(self.sizes))) if multiscale else [last]  # added at every level
        entries = range(len(self.sizes)) if multiscale or progressive else [last]  # where D may start
        self.from_image = nn.ModuleDict(
            {str(i): spectral(nn.Conv2d(shape.channels, widths[i], 1), spectral_norm) for i in entries})
        self.down = nn.ModuleList(Downsample(widths[i], widths[i - 1], self.sizes[i], self.sizes[i - 1], spectral_norm)
                                  for i in range(last, 0, -1))
        self.norms = nn.ModuleList(PartBatchNorm2d(widths[i]) if batch_norm else nn.Identity() for i in range(last))
        fitting = [i for i, (h, w) in enumerate(self.sizes) if h * w <= ATTENTION_MAX_POSITIONS]
        self.attention_scale = fitting[-1] if dema and fitting else None
        self.attention = (DEMA(widths[self.attention_scale], spectral_norm=spectral_norm, contrastive=False)
                          if self.attention_scale is not None else None)
        self.minibatch_std_group = minibatch_std_group
        self.final_conv = spectral(nn.Conv2d(widths[0] + bool(minibatch_std_group), widths[0], 3, padding=1),
                                   spectral_norm)
        self.final_dense = spectral(nn.Linear(widths[0] * self.sizes[0][0] * self.sizes[0][1], widths[0]),
                                    spectral_norm)
        self.colour = spectral(nn.Linear(2 * shape.channels, widths[0]), spectral_norm)
        self.head = spectral(nn.Linear(widths[0], 1), spectral_norm)
        self.classes = spectral(nn.Embedding(num_classes + 1, widths[0]), spectral_norm) if num_classes else None

    def forward(self, pyramid: Pyramid, labels: torch.Tensor | None = None, level: float | None = None,
                groups: int = 1) -> torch.Tensor:
        """`groups`: the batch is that many equal parts (real, generated), each with its own batch statistics."""
        features = self.embed(pyramid, level, groups)
        score = self.head(features).squeeze(1)
        if self.classes is not None and labels is not None:
            score = score + (self.classes(labels) * features).sum(dim=1)
        return score

    def embed(self, pyramid: Pyramid, level: float | None = None, groups: int = 1) -> torch.Tensor:
        """The feature vector the head reads: the epilogue over the smallest scale's map."""
        h = self.layer_features(pyramid, level, groups)[-1]
        if self.minibatch_std_group:
            h = minibatch_std(h, groups, self.minibatch_std_group)
        h = F.leaky_relu(self.final_conv(h), 0.2)
        return F.leaky_relu(self.final_dense(h.flatten(1)) + self.colour(colour_statistics(pyramid[len(self.sizes) - 1])),
                            0.2)

    def layer_features(self, pyramid: Pyramid, level: float | None = None, groups: int = 1) -> list[torch.Tensor]:
        """φ_i of eq. 12: the feature map at each stage D runs, from its entry scale down. `level`
        None or at the top: the full size; below it, the active scale (progressive growth)."""
        last = len(self.sizes) - 1
        level = float(last) if level is None else min(float(level), float(last))
        top = active_scale(level, len(self.sizes))
        fading = level - math.floor(level) if level < last else 0.0
        layers = [self._attend(self._entry(pyramid, top), top)]
        for scale in range(top - 1, -1, -1):
            h = self.down[last - 1 - scale](layers[-1])
            if scale in self.read_scales:
                h = h + self.from_image[str(scale)](pyramid[scale])
            norm = self.norms[scale]
            h = F.leaky_relu(norm(h, groups) if isinstance(norm, PartBatchNorm2d) else norm(h), 0.2)
            if scale == top - 1 and fading > 0:  # the stage being grown into: blend it with its own entry
                h = fading * h + (1 - fading) * self._entry(pyramid, scale)
            layers.append(self._attend(h, scale))
        return layers

    def _entry(self, pyramid: Pyramid, scale: int) -> torch.Tensor:
        """Where D starts reading: the image at `scale` through its 1x1 conv, without batch norm
        (which would take away the very statistics, brightness and contrast, that tell a batch apart)."""
        return F.leaky_relu(self.from_image[str(scale)](pyramid[scale]), 0.2)

    def _attend(self, h: torch.Tensor, scale: int) -> torch.Tensor:
        return h + self.attention(h).out if scale == self.attention_scale else h


class AuxiliaryDiscriminator(nn.Module):
    """AFE's D_aux: a small conv critic of the generator's middle scale with a diversity feature."""

    def __init__(self, channels: int, size: tuple[int, int], width: int, spectral_norm: bool = True):
        super().__init__()
        layers: list[nn.Module] = [spectral(nn.Conv2d(channels, width, 1), spectral_norm), nn.LeakyReLU(0.2)]
        while min(size) >= 8:
            size = ((size[0] + 1) // 2, (size[1] + 1) // 2)
            layers.append(DownBlock(width, width, size, spectral_norm))
        self.features = nn.Sequential(*layers)
        self.judge = nn.Sequential(spectral(nn.Conv2d(width + 1, width, 3, padding=1), spectral_norm),
                                   nn.LeakyReLU(0.2))
        self.head = spectral(nn.Linear(width, 1), spectral_norm)

    def forward(self, x: torch.Tensor, groups: int = 1) -> torch.Tensor:
        """`groups`: the batch is that many equal parts (real, generated) with their own minibatch spread."""
        return self.head(self.judge(minibatch_std(self.features(x), groups)).sum(dim=(2, 3))).squeeze(1)
