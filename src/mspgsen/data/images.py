"""Image data held in memory as uint8, streamed in seeded, resumable shuffled epochs."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import torch

from mspgsen.contracts import Batch, DataShape
from mspgsen.errors import UserError

# Keep a data set on the GPU when it takes at most this share of the card's memory.
DEVICE_RESIDENT_SHARE = 0.25


class ImageTensorSource:
    """`images` is uint8 `[N, C, H, W]`; `labels` int64 `[N]` or None."""

    def __init__(self, name: str, images: torch.Tensor, labels: torch.Tensor | None = None,
                 class_names: list[str] | None = None, skipped: int = 0, conditionable: bool = True):
        """`conditionable=False` keeps the labels for evaluation but hides them from conditional models."""
        self.name = name
        self.images = images.contiguous()
        self.labels = labels
        self.class_names = class_names or []
        self.skipped = skipped
        num_classes = len(self.class_names) if labels is not None and conditionable else 0
        self.shape = DataShape("images", tuple(images.shape[1:]), num_classes, len(images))

    def __len__(self) -> int:
        return len(self.images)

    def stream(self, batch_size: int, seed: int, device: torch.device) -> "ShuffledStream":
        if batch_size > len(self):
            raise UserError(f"{self.name} has {len(self)} images, fewer than the batch size {batch_size}; "
                            "lower --batch-size.")
        return ShuffledStream(self.images, self.labels, batch_size, seed, device, pixels_to_unit)

    def describe(self) -> str:
        classes = f", {self.shape.num_classes} classes" if self.shape.num_classes else ""
        skipped = f", {self.skipped} unreadable skipped" if self.skipped else ""
        return f"{self.name}: {len(self)} {self.shape.describe()}{classes}{skipped}"


def pixels_to_unit(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.float() / 127.5 - 1.0


class ShuffledStream:
    """Epochs of a fresh permutation each over a finite set (images, or a fixed sample of points);
    the permutation is a function of (seed, epoch), so the stream's state is just two integers.
    Batches carry the indices of their samples."""

    def __init__(self, items: torch.Tensor, labels: torch.Tensor | None, batch_size: int, seed: int,
                 device: torch.device, to_float: Callable[[torch.Tensor], torch.Tensor] = lambda x: x.float()):
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.to_float = to_float
        resident = _fits_on_device(items, device)
        self.images = items.to(device) if resident else items
        self.labels = labels
        if self.labels is not None and resident:
            self.labels = self.labels.to(device)
        self.epoch, self.position = 0, 0
        self.order = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.images), generator=generator).to(self.images.device)

    def next(self) -> Batch:
        if self.position + self.batch_size > len(self.order):
            self.epoch, self.position = self.epoch + 1, 0
            self.order = self._permutation(self.epoch)
        index = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return self._batch(index)

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        """The whole set once, in index order (a full pass); the stream's own position is untouched."""
        for start in range(0, len(self.images), batch_size):
            yield self._batch(torch.arange(start, min(start + batch_size, len(self.images)), device=self.images.device))

    def _batch(self, index: torch.Tensor) -> Batch:
        pixels = self.images[index].to(self.device, non_blocking=True)
        labels = None if self.labels is None else self.labels[index].to(self.device, non_blocking=True)
        return Batch(self.to_float(pixels), labels, index.to(self.device, non_blocking=True))

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self.order = self._permutation(self.epoch)


def _fits_on_device(images: torch.Tensor, device: torch.device) -> bool:
    if device.type != "cuda":
        return False
    total = torch.cuda.get_device_properties(device).total_memory
    return images.numel() * images.element_size() <= DEVICE_RESIDENT_SHARE * total
