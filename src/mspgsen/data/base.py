"""What every data source gives the training loop: a shape and a resumable stream of batches
(the shape, batch and stream contracts themselves are in mspgsen.contracts)."""
from __future__ import annotations

from typing import Protocol

import torch

from mspgsen.contracts import BatchStream, DataShape


class DataSource(Protocol):
    name: str
    shape: DataShape

    def stream(self, batch_size: int, seed: int, device: torch.device) -> BatchStream: ...

    def describe(self) -> str: ...
