"""MNIST and Fashion-MNIST from their IDX files (gzipped or not), torchvision's layout."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from mspgsen.errors import UserError

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def load_idx_dataset(name: str, root: Path, split: str, download: bool) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Images `[N, 1, 28, 28]` uint8, labels `[N]`, class names."""
    classes = MNIST_CLASSES if name == "mnist" else FASHION_CLASSES
    raw = _find_raw_folder(name, root, split)
    if raw is None and download:
        raw = _download(name, root)
    if raw is None:
        folder = _TORCHVISION_FOLDER[name]
        raise UserError(f"{name} not found under {root}. Put the four IDX files (train-images-idx3-ubyte.gz, "
                        f"train-labels-idx1-ubyte.gz, t10k-…) in {root / folder / 'raw'}, or point --data-root "
                        "(or MSPGSEN_DATA) at the folder that holds them.")
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_idx_file(raw, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_idx_file(raw, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise UserError(f"the {name} IDX files in {raw} do not match ({images.shape} images, {labels.shape} labels).")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)), classes


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (the format of MNIST's official files)."""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as handle:
            content = handle.read()
    except (OSError, EOFError) as err:
        raise UserError(f"cannot read {path}: {err}. Replace it with an intact copy.") from None
    magic = int.from_bytes(content[:4], "big")
    if magic >> 8 != 0x08:
        raise UserError(f"{path} is not an IDX file of unsigned bytes; replace it with an intact copy.")
    ndim = magic & 0xFF
    dims = [int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise UserError(f"{path} is truncated ({body.size} bytes of data for shape {dims}); replace it.")
    return body.reshape(dims)


def _find_raw_folder(name: str, root: Path, split: str) -> Path | None:
    folder = _TORCHVISION_FOLDER[name]
    prefix = "train" if split == "train" else "t10k"
    for candidate in (root / folder / "raw", root / name / folder / "raw", root / folder, root):
        if _idx_file(candidate, f"{prefix}-images-idx3-ubyte", required=False):
            return candidate
    return None


def _idx_file(folder: Path, stem: str, required: bool = True) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    if required:
        raise UserError(f"{folder / stem}[.gz] is missing; the IDX files must be together in one folder.")
    return None


def _download(name: str, root: Path) -> Path | None:
    import torchvision

    cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception:  # no network, no write access…: reported by the caller's message
        return None
    return root / _TORCHVISION_FOLDER[name] / "raw"


