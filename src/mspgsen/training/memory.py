"""How much memory one training step needs, known before the first step: a batch size the machine
cannot hold is refused in a second with the figure it needs, not after a minute with a traceback.

The estimate runs each phase of the family's step once on a small probe batch, on fresh copies of
its networks, and counts the bytes autograd keeps for the backward pass (`saved_tensors_hooks`).
Those grow in proportion to the batch; parameters, their gradients and Adam's two moments do not.
Global random state is restored after the probe, so a run's numbers do not change by it.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from mspgsen.config import RunConfig
from mspgsen.contracts import Family, StepContext
from mspgsen.errors import UserError
from mspgsen.training.device import autocast

PROBE_BATCH = 16
# backward holds the saved activations and, while it runs, gradients of about their size
BACKWARD_FACTOR = 2.0
PARAMETER_COPIES = 5  # weights, gradients, Adam's two moments, the EMA copy of G


def step_bytes(family: Family, config: RunConfig, source: Any, device: torch.device,
               precision: str, batch_size: int) -> int:
    """Bytes one training step at `batch_size` (per process) holds at its peak, estimated."""
    probe = _probe_batch(family, batch_size)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        probe_family = copy.deepcopy(family)  # phases may keep state (DynGAN's partition)
        nets = torch.nn.ModuleDict(probe_family.build_networks()).to(device)
        parameters = sum(p.numel() * p.element_size() for p in nets.parameters())
        ctx = StepContext(nets, probe_family.default_knobs(), source.stream(probe, config.train.seed, device),
                          probe_family.latent_dim(), probe, device, _Silent())
        saved = max((_saved_bytes(phase, nets, ctx, device, precision) for phase in probe_family.phases()),
                    default=0)
    return int(PARAMETER_COPIES * parameters + BACKWARD_FACTOR * saved * batch_size / probe)


def available_bytes(device: torch.device) -> int | None:
    """Memory a new allocation can still have on `device`; None where the system does not say."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    limits = [_meminfo_available(), _cgroup_room()]
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def check_step_fits(family: Family, config: RunConfig, source: Any, device: torch.device,
                    precision: str, batch_size: int) -> None:
    """UserError naming the figures when one step at `batch_size` cannot fit in memory."""
    available = available_bytes(device)
    if available is None:
        return
    needed = step_bytes(family, config, source, device, precision, batch_size)
    if needed > available:
        raise UserError(f"a training step of {family.name} at batch size {batch_size} needs about "
                        f"{_gib(needed)} of memory, but {device} has {_gib(available)} free; "
                        "lower --batch-size (or --image-size).")


def _probe_batch(family: Family, batch_size: int) -> int:
    """The smallest batch from PROBE_BATCH up that the family accepts (packing needs multiples)."""
    for probe in (PROBE_BATCH, 2 * PROBE_BATCH, 4 * PROBE_BATCH):
        if probe <= batch_size:
            try:
                family.check_batch(probe)
                return probe
            except UserError:
                continue
    return batch_size


def _saved_bytes(phase, nets: torch.nn.ModuleDict, ctx: StepContext, device: torch.device, precision: str) -> int:
    """Bytes autograd saves for the backward pass of one phase (each storage counted once)."""
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    for name, net in nets.items():
        net.requires_grad_(name in phase.trains)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), autocast(device, precision):
        phase.compute(ctx)
    return sum(storages.values())


class _Silent:
    def report(self, name: str, value) -> None:
        pass


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """What a cgroup v2 memory limit leaves (containers); None without one."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB" if size >= 2**30 else f"{size / 2**20:.0f} MiB"
