"""PacGAN's packing (Lin et al. 2018): the discriminator judges `m` samples at once.

The paper concatenates `m` samples drawn from the same source (all real or all generated) and
gives D the pack: "D : X^m → [0, 1]" with its input layer widened m times, nothing else changed.
A generator that puts many samples on few modes makes packs whose members resemble one another,
which D learns to tell from real packs, so collapse is penalised where a one-sample D cannot see it.

Samples `i·m … i·m + m - 1` of a batch form pack `i`, stacked along channels (images) or features
(points); a batch must hold a whole number of packs.
"""
from __future__ import annotations

import torch
from torch import nn

from mspgsen.contracts import DataShape


def packed_shape(shape: DataShape, pack: int) -> DataShape:
    """The shape one pack of `pack` samples of `shape` has: `pack` times the channels (or features)."""
    return DataShape(shape.kind, (shape.dims[0] * pack, *shape.dims[1:]), shape.num_classes, shape.samples)


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """`[N, C, ...]` → `[N / pack, pack·C, ...]`, consecutive samples side by side."""
    if len(x) % pack:
        raise ValueError(f"a packed discriminator judges whole packs of {pack}; got a batch of {len(x)}")
    return x.reshape(len(x) // pack, pack * x.shape[1], *x.shape[2:])


class PackedDiscriminator(nn.Module):
    """Wraps a D built for `packed_shape(shape, pack)`: one score per pack of `pack` samples."""

    def __init__(self, inner: nn.Module, pack: int):
        super().__init__()
        self.inner = inner
        self.pack = pack

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(pack_samples(x, self.pack))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(pack_samples(x, self.pack))

    def per_sample(self, x: torch.Tensor) -> torch.Tensor:
        """A score for every sample (its pack's), for readers that want one per sample (diagnose,
        FLOP counting): a batch short of whole packs is completed by repeating its samples."""
        n = len(x)
        whole = -(-n // self.pack) * self.pack
        padded = x.repeat((-(-whole // n),) + (1,) * (x.dim() - 1))[:whole]
        return self(padded).repeat_interleave(self.pack)[:n]
