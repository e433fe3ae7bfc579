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

    @torch.no_grad()
    def update(self, model: nn.Module, step: int, decay: float | None = None) -> None:
        """`decay`: this step's, where a controller moved it (Knobs.ema_decay); else the configured one."""
        decay = min(self.decay if decay is None else decay, (1 + step) / (EMA_WARMUP + step))
        ema_params = list(self.model.parameters())
        torch._foreach_lerp_(ema_params, [p.detach() for p in model.parameters()], 1.0 - decay)
        for ema_buffer, buffer in zip(self.model.buffers(), model.buffers()):
            ema_buffer.copy_(buffer)
