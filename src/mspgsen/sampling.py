"""Drawing samples from a generator, in training (previews) and from a finished run's snapshot."""
from __future__ import annotations

import json
from dataclasses import dataclass

import torch
from torch import nn

from mspgsen.config import RunConfig
from mspgsen.contracts import DataShape, Family
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES
from mspgsen.resolve import resolve
from mspgsen.support.console import progress_bar
from mspgsen.training.device import autocast
from mspgsen.support.rundir import RunDir
from mspgsen.training.snapshot import load_snapshot

SAMPLE_BATCH = {"cpu": 1000, "cuda": 4096}  # samples per generator call, by device type


@dataclass
class LoadedGenerator:
    config: RunConfig
    family: Family
    shape: DataShape
    generator: nn.Module
    step: int
    ema: bool


def load_generator(run: RunDir, device: torch.device | str = "cpu") -> LoadedGenerator:
    shape, weights, metadata = load_snapshot(run)
    config = resolve([json.loads(metadata["config"])])
    family = FAMILIES.get(config.model.name)(config.model, shape)
    generator = family.build_networks()[family.generator_key]
    check_weights(generator, weights, f"the generator weights in {run.snapshot}")
    generator.load_state_dict(weights)
    return LoadedGenerator(config, family, shape, generator.to(device).eval(), int(metadata["step"]),
                           metadata["ema"] == "True")


@dataclass
class LoadedNetworks:
    config: RunConfig
    family: Family
    shape: DataShape
    nets: nn.ModuleDict  # every network of the run at its last checkpoint, in eval mode
    saved: dict  # the whole checkpoint (knobs, controllers, ...)
    step: int


def load_networks(run: RunDir, device: torch.device | str = "cpu") -> LoadedNetworks:
    """All networks of a run from its resume checkpoint (D, E, ... as well as G)."""
    from mspgsen.support.checkpoint import load_state

    shape, _, metadata = load_snapshot(run)
    config = resolve([json.loads(metadata["config"])])
    family = FAMILIES.get(config.model.name)(config.model, shape)
    nets = nn.ModuleDict(family.build_networks())
    saved = load_state(run.checkpoint)
    check_weights(nets, saved["nets"], f"the network weights in {run.checkpoint}")
    nets.load_state_dict(saved["nets"])
    family.load_state_dict(saved.get("family") or {})  # its own state (a partition, where it keeps one)
    return LoadedNetworks(config, family, shape, nets.to(device).eval(), saved, int(saved["step"]))


@torch.no_grad()
def draw(family: Family, generator: nn.Module, n: int, seed: int,
         device: torch.device | str, precision: str = "fp32", show_progress: bool = False) -> torch.Tensor:
    """`n` samples from fixed-seed latents, in eval mode, without touching the global RNG.

    `precision` bf16 autocasts the generator (as in training); samples come back in fp32."""
    device = torch.device(device)
    was_training = generator.training
    generator.eval()
    rng = torch.Generator().manual_seed(seed)
    latent_dim = family.latent_dim()
    batch = SAMPLE_BATCH.get(device.type, SAMPLE_BATCH["cpu"])
    chunks = []
    with progress_bar(n, "sampling", "sample", enabled=show_progress and n > batch) as bar:
        for start in range(0, n, batch):
            latents = torch.randn(min(batch, n - start), latent_dim, generator=rng).to(device)
            conditions = family.sample_conditions(len(latents), rng, generator)
            conditions = conditions.to(device) if conditions is not None else None
            with autocast(device, precision):
                samples = family.generate({family.generator_key: generator}, latents, conditions)
            chunks.append(samples.float().cpu())
            bar.update(len(latents))
    generator.train(was_training)
    return torch.cat(chunks)


def check_weights(module: nn.Module, weights: dict[str, torch.Tensor], what: str) -> None:
    """One clear error when saved weights do not fit the networks this version builds for their
    config (a run trained before the family's networks changed), instead of torch's list of keys."""
    expected = {name: tensor.shape for name, tensor in module.state_dict().items()}
    missing = [name for name in expected if name not in weights]
    unexpected = [name for name in weights if name not in expected]
    reshaped = [name for name in expected if name in weights and tuple(weights[name].shape) != tuple(expected[name])]
    if missing or unexpected or reshaped:
        example = (missing or unexpected or reshaped)[0]
        raise UserError(f"{what} do not fit the networks this version of mspgsen builds for the run's config "
                        f"({len(missing)} tensors missing, {len(unexpected)} unexpected, {len(reshaped)} of another "
                        f"shape; e.g. {example!r}): the run was most likely trained by an earlier version whose "
                        "networks differ. Sample or evaluate it with that version, or train it again.")

