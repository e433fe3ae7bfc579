"""What a data source gives a run: the shape of one sample, batches, and a resumable stream of them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import torch

# --- data -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataShape:
    """The shape of one sample: `(2,)` for points, `(C, H, W)` for images."""

    kind: Literal["points", "images"]
    dims: tuple[int, ...]
    num_classes: int = 0
    samples: int = 0  # size of a finite training set (its batches carry indices); 0: drawn fresh

    @property
    def channels(self) -> int:
        return self.dims[0]

    @property
    def size(self) -> tuple[int, int]:
        return self.dims[1], self.dims[2]

    def describe(self) -> str:
        if self.kind == "points":
            return f"{self.dims[0]}-D points"
        channels, height, width = self.dims
        return f"{channels}x{height}x{width} images"


@dataclass
class Batch:
    x: torch.Tensor  # float on the training device; images scaled to [-1, 1]
    y: torch.Tensor | None = None  # class labels where the source has them
    index: torch.Tensor | None = None  # positions in a finite training set, for per-sample bookkeeping


class BatchStream(Protocol):
    """An endless, seeded sequence of batches whose position can be saved and restored exactly."""

    def next(self) -> Batch: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
