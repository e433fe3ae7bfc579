"""Data sources by name or path: `load_data(DataConfig(...))` gives a shape and a batch stream."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from mspgsen.config import DataConfig
from mspgsen.data.base import DataSource
from mspgsen.data.cifar10 import find_cifar10, load_batches
from mspgsen.data.folder import DecodeOptions, DecodedImages, load_image_archive, load_image_folder
from mspgsen.data.images import ImageTensorSource
from mspgsen.data.mnist import load_idx_dataset
from mspgsen.data.npz import load_npz_images
from mspgsen.data.paths import data_root
from mspgsen.data.points import GaussianMixture, grid_centers, ring_centers
from mspgsen.data.stacked import DEFAULT_SIZE as STACKED_SIZE, stack_digits
from mspgsen.data.transforms import fit_images, match_channels, parse_image_size
from mspgsen.errors import UserError
from mspgsen.registry import Registry

__all__ = ["DataSource", "DATASETS", "load_data", "GaussianMixture",
           "ImageTensorSource", "parse_image_size"]


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    description: str
    load: Callable[[DataConfig], DataSource]


DATASETS: Registry[DatasetEntry] = Registry("data set")


def register_dataset(name: str, description: str):
    def decorate(load: Callable[[DataConfig], DataSource]):
        DATASETS.register(name, DatasetEntry(name, description, load))
        return load
    return decorate


def load_data(config: DataConfig) -> DataSource:
    """Resolve `config.name` as a registered data set, a folder of images or an .npz file."""
    if config.name in DATASETS:
        source = DATASETS.get(config.name).load(config)
        if source.shape.kind == "points":
            _refuse_image_options(config)
        return source
    path = Path(config.name).expanduser()
    if path.is_dir():
        return _folder_source(path, config)
    if path.is_file() and path.suffix == ".npz":
        images, labels = load_npz_images(path)
        classes = [str(c) for c in range(int(labels.max()) + 1)] if labels is not None else None
        return finish_images(path.name, images, labels, classes, config)
    if path.exists():
        raise UserError(f"data {config.name!r} is a file but not an .npz archive; give a folder of images, "
                        "an .npz file or a data set name.")
    close = difflib.get_close_matches(config.name, DATASETS.names(), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UserError(f"data {config.name!r} is neither a known data set nor an existing folder or .npz file.{hint} "
                    f"Known data sets: {', '.join(DATASETS.names())}.")


def finish_images(name: str, images: torch.Tensor, labels: torch.Tensor | None, class_names: list[str] | None,
                  config: DataConfig, skipped: int = 0, conditionable: bool = True) -> ImageTensorSource:
    """Apply the shared options (limit, channels, size) to a freshly loaded uint8 image tensor."""
    if config.limit is not None:
        images = images[:config.limit]
        labels = None if labels is None else labels[:config.limit]
    images = match_channels(images, config.channels)
    size = parse_image_size(config.image_size)
    if size is not None:
        images = fit_images(images, size, config.resize)
    return ImageTensorSource(name, images, labels, class_names, skipped, conditionable)


def _folder_source(path: Path, config: DataConfig, name: str | None = None) -> ImageTensorSource:
    return _decoded_source(name or path.name, load_image_folder(path, _decode_options(config)), config)


def _decode_options(config: DataConfig) -> DecodeOptions:
    if config.channels not in (None, 1, 3):
        raise UserError(f"data.channels must be 1 or 3, got {config.channels}.")
    return DecodeOptions(parse_image_size(config.image_size), config.channels, config.resize, config.on_corrupt)


def _decoded_source(name: str, decoded: DecodedImages, config: DataConfig) -> ImageTensorSource:
    return finish_images(name, decoded.images, decoded.labels, decoded.class_names or None, config,
                         decoded.skipped)


def _refuse_image_options(config: DataConfig) -> None:
    for key in ("image_size", "channels", "limit"):
        if getattr(config, key) is not None:
            raise UserError(f"data.{key} applies to images, but {config.name} is a set of 2-D points; drop it.")


def _positive(value: float | None, default: float, key: str) -> float:
    value = default if value is None else value
    if value <= 0:
        raise UserError(f"data.{key} must be positive, got {value}.")
    return value


@register_dataset("ring8", "8 Gaussians at angles 2πk/8 on a circle (radius 1, std 0.01; PacGAN's protocol)")
def _ring8(config: DataConfig) -> GaussianMixture:
    centers = ring_centers(8, _positive(config.radius, 1.0, "radius"))
    return GaussianMixture("ring8", centers, _positive(config.std, 0.01, "std"), config.size or 0)


@register_dataset("grid25", "25 Gaussians on {-4,-2,0,2,4}² (spacing 2, std 0.05; PacGAN's protocol)")
def _grid25(config: DataConfig) -> GaussianMixture:
    centers = grid_centers(5, _positive(config.spacing, 2.0, "spacing"))
    return GaussianMixture("grid25", centers, _positive(config.std, 0.05, "std"), config.size or 0)


def _idx_loader(name: str):
    def load(config: DataConfig) -> ImageTensorSource:
        images, labels, classes = load_idx_dataset(name, data_root(config.root), config.split, config.download)
        return finish_images(name, images, labels, classes, config)
    return load


@register_dataset("stacked-mnist", "three MNIST digits as RGB channels, 3x28x28, 1000 modes (60,000 samples; "
                                   "data.limit sets another count)")
def _stacked_mnist(config: DataConfig) -> ImageTensorSource:
    images, labels, _ = load_idx_dataset("mnist", data_root(config.root), config.split, config.download)
    stacked, modes = stack_digits(images, labels, config.limit or STACKED_SIZE, config.split)
    # Its labels are its 1000 modes: a model conditioned on them would cover every mode by construction.
    return finish_images("stacked-mnist", stacked, modes, [f"{m:03d}" for m in range(1000)], config,
                         conditionable=False)


register_dataset("mnist", "MNIST digits, 1x28x28, 10 classes (IDX files under the data root)")(_idx_loader("mnist"))
register_dataset("fashion-mnist", "Fashion-MNIST, 1x28x28, 10 classes (IDX files under the data root)")(
    _idx_loader("fashion-mnist"))


@register_dataset("cifar10", "CIFAR-10, 3x32x32, 10 classes (python batches, class folders or cifar10-jpeg.tar.gz)")
def _cifar10(config: DataConfig) -> ImageTensorSource:
    root = data_root(config.root)
    found = find_cifar10(root, config.split)
    if found and found[0] == "folder":
        return _folder_source(found[1], config, name="cifar10")
    if found and found[0] == "archive":
        decoded = load_image_archive(found[1], f"cifar10/{config.split}", _decode_options(config))
        return _decoded_source("cifar10", decoded, config)
    if found or config.download:
        try:
            images, labels, classes = load_batches(root, config.split, download=not found)
            return finish_images("cifar10", images, labels, classes, config)
        except Exception as err:  # torchvision raises several kinds for missing files or network
            if found:
                raise UserError(f"cannot read CIFAR-10 from {root / 'cifar-10-batches-py'}: {err}") from None
    raise UserError(f"cifar10 not found under {root}. Put torchvision's cifar-10-batches-py folder, a "
                    f"cifar10/{config.split}/<class>/ image folder or cifar10-jpeg.tar.gz there, or point "
                    "--data-root (or MSPGSEN_DATA) at the folder that holds them.")
