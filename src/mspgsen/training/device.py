"""Device choice and mixed precision."""
from __future__ import annotations

import contextlib

import torch

from mspgsen.errors import UserError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"device {name!r} is not understood; use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA is not available on this machine; use --device cpu (or auto).")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"there is no {name}: this machine has {torch.cuda.device_count()} CUDA device(s).")
    return device


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast of forward passes; weights, optimiser state and losses stay fp32."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
