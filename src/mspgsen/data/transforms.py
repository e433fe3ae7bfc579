"""Bring uint8 image tensors to the requested size and channel count."""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F

from mspgsen.errors import UserError

MIN_SIDE, MAX_SIDE = 4, 2048
_CHUNK = 4096  # images resized at a time, to bound memory on large sets


def parse_image_size(text: str | None) -> tuple[int, int] | None:
    """'32' → (32, 32); '218x178' → (218, 178) as height x width."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*", str(text))
    if not match:
        raise UserError(f"image size {text!r} is not understood; use S (e.g. 64) or HxW (e.g. 218x178).")
    height = int(match.group(1))
    width = int(match.group(2) or height)
    if not (MIN_SIDE <= height <= MAX_SIDE and MIN_SIDE <= width <= MAX_SIDE):
        raise UserError(f"image size {height}x{width} is impossible: each side must be between "
                        f"{MIN_SIDE} and {MAX_SIDE} pixels (e.g. --image-size 32).")
    return height, width


def fit_images(images: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Resize and/or crop `[N, C, H, W]` uint8 images to `size` (height, width).

    resize-crop scales the shorter side to fit, then takes the centre (aspect kept);
    resize stretches to the size; center-crop cuts the centre without scaling.
    """
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return torch.cat([_fit_chunk(chunk, size, mode) for chunk in images.split(_CHUNK)])


def _fit_chunk(images: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    height, width = images.shape[-2:]
    if mode == "resize":
        return resize(images, size)
    if mode == "center-crop":
        if height < size[0] or width < size[1]:
            raise UserError(f"cannot center-crop {height}x{width} images to {size[0]}x{size[1]}: they are "
                            "smaller; use data.resize=resize-crop or a smaller --image-size.")
        return center_crop(images, size)
    scale = max(size[0] / height, size[1] / width)
    scaled = (max(size[0], round(height * scale)), max(size[1], round(width * scale)))
    return center_crop(resize(images, scaled), size)


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bilinear resize of uint8 images: torchvision's `resize(..., antialias=True)`
    computes exactly this kernel; calling it directly spares a run torchvision's 1.5 s import."""
    return F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)


def center_crop(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The centre `size` of each image, placed as torchvision's `center_crop` places it."""
    top = int(round((images.shape[-2] - size[0]) / 2.0))
    left = int(round((images.shape[-1] - size[1]) / 2.0))
    return images[..., top:top + size[0], left:left + size[1]]


def match_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    if channels is None or images.shape[1] == channels:
        return images
    if channels == 3 and images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    if channels == 1 and images.shape[1] == 3:
        import torchvision.transforms.v2.functional as TF  # rarely needed: imported only here

        return TF.rgb_to_grayscale(images)
    raise UserError(f"cannot turn {images.shape[1]}-channel images into {channels} channels; "
                    "data.channels must be 1 or 3.")
