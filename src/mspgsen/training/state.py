"""Everything a run is made of at a given step, and its exact save / restore."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mspgsen.config import RunConfig
from mspgsen.contracts import BatchStream, Controller, Family, Knobs, StepContext
from mspgsen.nn.spectral_norm import power_iterations
from mspgsen.training.distributed import SINGLE, World, local_batch_size, wrap_networks
from mspgsen.training.ema import EMA
from mspgsen.training.fast import speed_up
from mspgsen.training.optim import build_optimizer, match_parameter_layouts
from mspgsen.training.progress import TrainingProgress
from mspgsen.training.seeding import capture_rng, restore_rng
from mspgsen.training.stats import StatsCollector
from mspgsen.training.trends import Trends


class TrainingState:
    def __init__(self, family: Family, config: RunConfig, device: torch.device, stream: BatchStream,
                 controllers: list[Controller] = (), world: World = SINGLE):
        self.family, self.shape, self.device, self.stream, self.world = family, family.shape, device, stream, world
        self.controllers = list(controllers)
        self.batch_size = local_batch_size(config.train.batch_size, world)
        self.nets = nn.ModuleDict(family.build_networks()).to(device)
        if world.distributed and device.type == "cuda":  # batch statistics over the global batch
            self.nets = nn.SyncBatchNorm.convert_sync_batchnorm(self.nets)
        plans = family.optimizers()
        self.base_lrs = {name: plan.config.lr for name, plan in plans.items()}
        self.optimizers = {
            name: build_optimizer(plan.config, [{"params": list(self.nets[net].parameters()),
                                                 "lr_ratio": plan.lr_ratios.get(net, 1.0)} for net in plan.networks],
                                  device)
            for name, plan in plans.items()}
        self.knobs: Knobs = family.default_knobs()
        for name in plans:  # every optimiser is listed, so lr controllers know what they act on
            self.knobs.lr_scale.setdefault(name, 1.0)
        decay = config.model.ema_decay
        self.ema = EMA(self.nets[family.generator_key], decay) if decay > 0 else None  # before compiling
        self.fast_path = speed_up(self.nets, device, config.train.compile, config.train.channels_last)
        self.wrapped = wrap_networks(self.nets, world, device)  # DDP views; {} in one process
        # what each update's power iteration refreshes, found once (the networks never change)
        self.spectral_norms = {name: power_iterations(net) for name, net in self.nets.items()}
        self.parameters = {name: list(net.parameters()) for name, net in self.nets.items()}
        self.stats = StatsCollector(world.mean)  # averaged over the processes (as is, in one)
        self.trends = Trends()
        self.step = 0
        self.progress = TrainingProgress(config.train.steps, config.train.time_limit)
        # the autocast precision of the steps; `auto` is settled by the caller (training/hardware.py)
        self.precision = config.train.precision if config.train.precision != "auto" else "fp32"
        self.latest_metrics: dict[str, float] = {}  # the last periodic evaluation, for controllers
        self.best: dict[str, float] = {}  # the best periodic evaluation so far and its step

    def step_context(self) -> StepContext:
        """What the family's phases compute with (in a distributed run, DDP views are set per phase)."""
        return StepContext(self.nets, self.knobs, self.stream, self.family.latent_dim(), self.batch_size,
                           self.device, self.stats, self.world)

    def sampling_generator(self) -> nn.Module:
        return self.ema.model if self.ema else self.nets[self.family.generator_key]

    def controller_states(self) -> dict[str, dict[str, Any]]:
        return {controller.name: controller.state_dict() for controller in self.controllers}

    def load_controller_states(self, states: dict[str, dict[str, Any]]) -> None:
        for controller in self.controllers:
            if controller.name in states:
                controller.load_state_dict(states[controller.name])

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "nets": self.nets.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema else {},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "knobs": self.knobs.state_dict(),
            "family": self.family.state_dict(),
            "stream": self.stream.state_dict(),
            "stats": self.stats.state_dict(),
            "trends": self.trends.state_dict(),
            "rng": capture_rng(),
            "latest_metrics": dict(self.latest_metrics),
            "best": dict(self.best),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.nets.load_state_dict(state["nets"])
        if self.ema:
            self.ema.model.load_state_dict(state["ema"])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
            match_parameter_layouts(optimizer)
        self.knobs.load_state_dict(state["knobs"])
        # before 2026-12-05 DynGAN's partition was kept among the knobs
        legacy = {"partition": state["knobs"]["partition"]} if state["knobs"].get("partition") else {}
        self.family.load_state_dict(state.get("family") or legacy)
        self.stream.load_state_dict(state["stream"])
        self.stats.load_state_dict({k: _to(v, self.device) for k, v in state["stats"].items()})
        self.trends.load_state_dict(state.get("trends", {"fast": {}, "slow": {}}))
        restore_rng(state["rng"])
        self.latest_metrics = dict(state.get("latest_metrics", {}))
        self.best = dict(state.get("best", {}))


def _to(value: Any, device: torch.device) -> Any:
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value.to(device) if isinstance(value, torch.Tensor) else value
