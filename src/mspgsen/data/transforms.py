"""Bring uint8 image tensors to the requested size and channel count."""
from __future__ import annotations

import re

import torch
import torchvision.transforms.v2.functional as TF

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
        return TF.resize(images, list(size), antialias=True)
    if mode == "center-crop":
        if height < size[0] or width < size[1]:
            raise UserError(f"cannot center-crop {height}x{width} images to {size[0]}x{size[1]}: they are "
                            "smaller; use data.resize=resize-crop or a smaller --image-size.")
        return TF.center_crop(images, list(size))
    scale = max(size[0] / height, size[1] / width)
    scaled = (max(size[0], round(height * scale)), max(size[1], round(width * scale)))
    return TF.center_crop(TF.resize(images, list(scaled), antialias=True), list(size))


def match_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    if channels is None or images.shape[1] == channels:
        return images
    if channels == 3 and images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    if channels == 1 and images.shape[1] == 3:
        return TF.rgb_to_grayscale(images)
    raise UserError(f"cannot turn {images.shape[1]}-channel images into {channels} channels; "
                    "data.channels must be 1 or 3.")
