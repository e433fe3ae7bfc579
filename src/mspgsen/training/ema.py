"""Exponential moving average of the generator's weights (Karras et al.; Yazıcı et al. 2019)."""
from __future__ import annotations

import copy

import torch
from torch import nn

EMA_WARMUP = 10  # early on, average over about `step` steps instead of 1/(1-decay)


class EMA:
    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        # the tensors each update reads and writes, listed once: walking the module tree every step
        # cost as much as the update itself on small networks (a network's tensors never change)
        self._averaged = (list(self.model.parameters()), list(self.model.buffers()))
        self._source: tuple[int, list[torch.Tensor], list[torch.Tensor]] | None = None

    @torch.no_grad()
    def update(self, model: nn.Module, step: int, decay: float | None = None) -> None:
        """`decay`: this step's, where a controller moved it (Knobs.ema_decay); else the configured one."""
        decay = min(self.decay if decay is None else decay, (1 + step) / (EMA_WARMUP + step))
        if self._source is None or self._source[0] != id(model):
            self._source = (id(model), list(model.parameters()), list(model.buffers()))
        (ema_params, ema_buffers), (_, params, buffers) = self._averaged, self._source
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_buffer, buffer in zip(ema_buffers, buffers):
            ema_buffer.copy_(buffer)
