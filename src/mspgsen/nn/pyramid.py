"""Image pyramids for multi-scale G and D, and the progressive fade-in between their scales.

A pyramid is a dict from scale index (0 = smallest) to a `[B, C, h, w]` batch. The progressive
level is a float: its integer part is the finest scale fully grown, its fraction how far the
next scale has faded in. Scales above the active one show the active image upsampled, so the
generator and real images look the same to the discriminator at every level (ProGAN's rule).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

Pyramid = dict[int, torch.Tensor]


def downsample_pyramid(images: torch.Tensor, sizes: list[tuple[int, int]], scales: list[int]) -> Pyramid:
    """Real images at every scale in `scales` (area averaging, so any size ratio works)."""
    return {i: shrink(images, sizes[i]) for i in scales}


def shrink(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area averaging to `size`: a plain k×k average pool where the size divides exactly (the
    usual halving; on a CPU about twice as fast as the adaptive pool, forward and backward), the
    adaptive pool otherwise (an odd side such as 7 → 4)."""
    height, width = images.shape[-2:]
    if (height, width) == tuple(size):
        return images
    if height % size[0] == 0 and width % size[1] == 0 and height // size[0] == width // size[1]:
        return F.avg_pool2d(images, height // size[0])
    return F.adaptive_avg_pool2d(images, size)


def upsample(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest neighbour, centred: the same as "nearest" where the ratio is whole (7 → 14), and
    where it is not (5 → 9) it repeats rows evenly from both borders, where "nearest" rounds
    down and repeats them towards the top and left (tests/test_mspgsen.py, every border alike)."""
    return images if tuple(images.shape[-2:]) == tuple(size) else F.interpolate(images, size=size, mode="nearest-exact")


def fade_pyramid(pyramid: Pyramid, sizes: list[tuple[int, int]], level: float) -> Pyramid:
    """The pyramid as seen at progressive `level`; needs every scale up to the active one."""
    top = len(sizes) - 1
    if level >= top:
        return pyramid
    grown = max(int(math.floor(level)), 0)
    fraction = level - grown
    active_index = grown + 1 if fraction > 0 else grown
    active = pyramid[grown]
    if fraction > 0:
        active = torch.lerp(upsample(active, sizes[active_index]), pyramid[active_index], fraction)
    faded = {i: image for i, image in pyramid.items() if i < active_index}
    faded.update({i: upsample(active, sizes[i]) for i in pyramid if i >= active_index})
    return faded


def active_scale(level: float, scales: int) -> int:
    """The finest scale a network runs at progressive `level`: the one fading in, or the last grown."""
    return scales - 1 if level >= scales - 1 else max(math.ceil(level), 0)


def grown_pyramid(computed: Pyramid, sizes: list[tuple[int, int]], level: float) -> Pyramid:
    """Every scale as shown at `level`, from the scales a growing generator computed (those up to
    `active_scale`): the active one faded in over the one below it, the rest its upsampled copy."""
    top = active_scale(level, len(sizes))
    shown = {i: computed[i] for i in range(top + 1)}
    fraction = level - math.floor(level)
    if top > 0 and level < len(sizes) - 1 and fraction > 0:
        shown[top] = torch.lerp(upsample(computed[top - 1], sizes[top]), computed[top], fraction)
    shown.update({i: upsample(shown[top], sizes[i]) for i in range(top + 1, len(sizes))})
    return shown
