"""CIFAR-10 from torchvision's python batches, a folder of class folders, or the JPEG archive."""
from __future__ import annotations

from pathlib import Path

import torch

CIFAR10_ARCHIVE = "cifar10-jpeg.tar.gz"


def find_cifar10(root: Path, split: str) -> tuple[str, Path] | None:
    """Which copy of CIFAR-10 sits under `root`: ('batches' | 'folder' | 'archive', path), or None."""
    if (root / "cifar-10-batches-py").is_dir():
        return "batches", root
    for candidate in (root / "cifar10" / split, root / split):
        if candidate.is_dir() and any(candidate.iterdir()):
            return "folder", candidate
    if (root / CIFAR10_ARCHIVE).is_file():
        return "archive", root / CIFAR10_ARCHIVE
    return None


def load_batches(root: Path, split: str, download: bool) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    import torchvision

    dataset = torchvision.datasets.CIFAR10(str(root), train=split == "train", download=download)
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(dataset.targets, dtype=torch.int64), list(dataset.classes)
