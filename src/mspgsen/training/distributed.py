"""Training on several processes through torchrun and DistributedDataParallel.

`torchrun --nproc_per_node N -m mspgsen train ...` starts N copies of the same command; each
finds its rank in the environment torchrun sets and joins the process group here (NCCL on
GPUs, gloo on CPU). The run is then the one-process run with the same global batch:

- every rank draws the same global batch of data indices and of latents (same seed) and keeps
  its own slice, so the ranks see disjoint samples and together the one-process batch;
- in each phase the networks it trains are called through DDP, which averages their gradients
  over the ranks (the mean of the local means = the global mean); the others are called bare,
  since a frozen network must not wait on a gradient all-reduce;
- the indicators are averaged over the ranks before anyone reads them, so controllers, the
  divergence guard and the progress bar see the global numbers and act alike on every rank;
- a stop (signal or time limit) is agreed on every step over a small gloo group, so all ranks
  leave the loop after the same step;
- rank 0 alone writes the run folder: logs, samples, evaluations and checkpoints.

Per-sample randomness drawn inside a family (instance noise, gradient-penalty mixing, label
dropout) is drawn at the local size from the shared seed, so it repeats across ranks; only
families whose randomness is data and latents match one process exactly (up to float order).
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mspgsen.contracts import Batch, BatchStream, StepContext
from mspgsen.errors import UserError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    _stop_group: Any = field(default=None, repr=False)

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The average of `values` over the ranks (in place on the values' device)."""
        if self.distributed:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
            values /= self.size
        return values

    def any(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag, true when it is true on any rank (a CPU collective: no GPU sync)."""
        if not self.distributed:
            return flags
        tensor = torch.tensor([int(f) for f in flags], dtype=torch.int32)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=self._stop_group)
        return tuple(bool(v) for v in tensor.tolist())

    def broadcast(self, value: Any) -> Any:
        """Rank 0's `value` on every rank."""
        if not self.distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0, group=self._stop_group)
        return box[0]

    def leave(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


SINGLE = World()


def join_world(device_name: str) -> tuple[World, str]:
    """The world this process is part of (torchrun's environment), and the device it should use."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE, device_name
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name in ("auto", "cuda") and torch.cuda.is_available()
    if device_name.startswith("cuda:"):
        raise UserError("under torchrun each process takes the GPU of its local rank; pass --device cuda, not "
                        f"{device_name}.")
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"local rank {local_rank} has no GPU: this node has {torch.cuda.device_count()}; "
                            "lower --nproc_per_node.")
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    world = World(rank, size, local_rank, dist.new_group(backend="gloo"))
    return world, f"cuda:{local_rank}" if use_cuda else "cpu"


def local_batch_size(global_batch: int, world: World) -> int:
    if global_batch % world.size:
        raise UserError(f"the batch size {global_batch} is the global batch and must split evenly over the "
                        f"{world.size} processes; choose a multiple of {world.size}.")
    return global_batch // world.size


class ShardedStream:
    """A distributed sampler over any stream: every rank draws the same global batch (same seed,
    same position) and keeps its own contiguous slice of it."""

    def __init__(self, stream: BatchStream, world: World):
        self.stream, self.world = stream, world

    def next(self) -> Batch:
        batch = self.stream.next()
        local = len(batch.x) // self.world.size
        part = slice(self.world.rank * local, (self.world.rank + 1) * local)
        return Batch(batch.x[part], None if batch.y is None else batch.y[part],
                     None if batch.index is None else batch.index[part])

    def state_dict(self) -> dict[str, Any]:
        return self.stream.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stream.load_state_dict(state)


class DistributedNet(DistributedDataParallel):
    """DDP that still answers for its network's own attributes (`D.read_scales`, `D.features`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def wrap_networks(nets: nn.ModuleDict, world: World, device: torch.device) -> dict[str, nn.Module]:
    """A DDP wrapper of each network that has parameters to train. Unused parameters are allowed
    because families leave some out in some steps (inactive scales, dropped labels)."""
    if not world.distributed:
        return {}
    device_ids = [device.index] if device.type == "cuda" else None
    return {name: DistributedNet(net, device_ids=device_ids, broadcast_buffers=False,
                                 find_unused_parameters=True)
            for name, net in nets.items() if any(p.requires_grad for p in net.parameters())}


def phase_view(ctx: StepContext, trains: tuple[str, ...], nets: nn.ModuleDict, wrapped: dict[str, nn.Module]
               ) -> StepContext:
    """The context a phase computes in: in a distributed run its trained networks answer through DDP
    (gradients averaged over processes), the frozen ones bare; in one process, `ctx` itself."""
    return dataclasses.replace(ctx, nets=PhaseNets(nets, wrapped, trains)) if wrapped else ctx


class PhaseNets(Mapping):
    """The networks as one phase sees them: DDP wrappers for those it trains, the bare rest."""

    def __init__(self, nets: nn.ModuleDict, wrapped: dict[str, nn.Module], trains: tuple[str, ...]):
        self.nets, self.wrapped, self.trains = nets, wrapped, trains

    def __getitem__(self, name: str) -> nn.Module:
        return self.wrapped[name] if name in self.trains and name in self.wrapped else self.nets[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.nets)

    def __len__(self) -> int:
        return len(self.nets)
