"""Exponential moving average of the generator's weights (Karras et al.; Yazıcı et al. 2019)."""
from __future__ import annotations

import copy

import torch
from torch import nn

EMA_WARMUP = 10  # early on, average over about `step` steps instead of 1/(1-decay)


class EMA:
    """The average of `model`'s weights (its buffers copied as they are), updated after each step."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        # the tensors each update reads and writes, listed once: walking the module trees every step
        # cost as much as the update itself on small networks (a network's tensors never change;
        # compiling and channels-last keep them)
        self._params = (list(self.model.parameters()), list(model.parameters()))
        self._buffers = list(zip(self.model.buffers(), model.buffers()))

    @torch.no_grad()
    def update(self, step: int, decay: float | None = None) -> None:
        """`decay`: this step's, where a controller moved it (Knobs.ema_decay); else the configured one."""
        decay = min(self.decay if decay is None else decay, (1 + step) / (EMA_WARMUP + step))
        torch._foreach_lerp_(*self._params, 1.0 - decay)
        for ema_buffer, buffer in self._buffers:
            ema_buffer.copy_(buffer)
