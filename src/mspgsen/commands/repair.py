"""`mspgsen repair`: continue a trained run as a generator conditioned on the partitions it misses.

The repaired run is a new run folder that says where it came from (`model.repaired_from`). Each
family declares its repaired twin (`Family.repaired_as`) and the twin takes every field of the base
run's model config that it has (contracts/family.py; a test holds that none is lost):
- a one-G, one-D run (dcgan, wgan, wgan-gp, sagan, sagan-wgangp) becomes a `dyngan` run with the
  base run's networks and loss (`model.base_model`), its gradient penalty or clipping, G given a
  one-hot partition input and D a projection head;
- an `mspgsen` run becomes an `mspgsen-repaired` one (families/mspgsen_repaired.py), the partition
  index carried by mspgsen's conditional path;
- a `vaegan` run becomes a `vaegan-repaired` one (families/vaegan_repaired.py): the encoder kept, a
  one-hot partition input on G (the decoder) and a projection on D.
Either way both start from the base run's weights, the new inputs' weights and the projection at
zero, so before its first step the repaired G and D compute exactly what the base run's did; data,
training settings and seed are the base run's (a run on fresh 2-D points gets a fixed set of them).
Before that step the detector (a full pass of the base D over the training set) makes the first
partitions; from then on the run repartitions on its own (`model.repartition_every`).

A run that partitions itself already (dyngan, or a repaired run) is trained longer with `--resume`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from mspgsen.commands.train import TrainResult, train
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES
from mspgsen.families.mspgsen import MSPGSEN
from mspgsen.families.partitioned import PartitionedTraining
from mspgsen.resolve import resolve
from mspgsen.sampling import LoadedNetworks, load_networks
from mspgsen.support.rundir import existing_run_dir
from mspgsen.training.state import TrainingState

# a base run that drew fresh points (ring8, grid25 without data.size) is repaired on a fixed set of
# this many: partitions are of a finite training set
REPAIR_POINTS = 20_000


def repair(run_dir: str | Path, steps: int | None = None, time_limit: float | None = None,
           out: str | None = None, data_root: str | None = None, device: str | None = None,
           overrides: list[str] = ()) -> TrainResult:
    run = existing_run_dir(run_dir, need_checkpoint=True)
    base = load_networks(run)
    check_repairable(base)
    config = repaired_config(base, run.path, steps, time_limit, out, data_root, device, list(overrides))
    print(f"repairing {run.path} ({base.family.name}, step {base.step}) as a partition-conditioned "
          f"{config.model.name}", flush=True)
    return train(config, start=lambda state: start_from(state, base))


def check_repairable(base: LoadedNetworks) -> None:
    family = type(base.family)
    if issubclass(family, PartitionedTraining):
        raise UserError(f"{base.family.name} runs partition themselves already; train this one further with "
                        "`mspgsen train --resume --out RUN --steps N` instead.")
    if repaired_name(family) is None:
        repairable = sorted(name for name in FAMILIES.names() if repaired_name(FAMILIES.get(name)))
        raise UserError(f"repair continues runs of {', '.join(repairable)}; {base.family.name}'s networks are "
                        "none of these.")
    if isinstance(base.family, MSPGSEN) and base.family.num_classes:
        raise UserError("this mspgsen run is conditioned on the data's classes; a repaired run conditions its "
                        "networks on partitions instead, so it cannot start from this one. Repair an unconditional "
                        "run (trained with --set model.conditional=false).")
    if getattr(base.config.model, "pack", 1) > 1:
        raise UserError("this run's D judges packs of samples (model.pack > 1); a repaired D scores each sample "
                        "against its own partition, so it cannot start from it.")


def repaired_name(family: type) -> str | None:
    """The family a run of `family` is repaired as (its `repaired_as`); None when it cannot be."""
    return family.repaired_as


def repaired_config(base: LoadedNetworks, path: Path, steps: int | None, time_limit: float | None, out: str | None,
                    data_root: str | None, device: str | None, overrides: list[str]):
    """The base run's config, every setting kept: the model's fields that the twin family has (all but
    those it names in `drops_on_repair`), the training settings less the folder and the start."""
    old = base.config.to_dict()
    twin = FAMILIES.get(repaired_name(type(base.family)))
    fields = {field.name for field in dataclasses.fields(twin.Config)}
    model = {key: value for key, value in old["model"].items() if key in fields and key not in twin.drops_on_repair}
    model.update(name=twin.name, repaired_from=str(path.resolve()))
    if "base_model" in fields:  # dyngan: networks and loss of the base family
        model["base_model"] = base.family.name
    train = {key: value for key, value in old["train"].items() if key not in ("out", "init_from")}
    if steps is not None:
        train["steps"] = steps
    if time_limit is not None:
        train["time_limit"] = time_limit
    data = dict(old["data"], **({"root": data_root} if data_root else {}))
    if base.family.shape.kind == "points" and not data.get("size"):
        data["size"] = REPAIR_POINTS
        print(f"the base run drew fresh {data['name']} points; the repaired run trains on a fixed set of "
              f"{REPAIR_POINTS} of them (data.size), since its partitions are of a finite training set", flush=True)
    flags = [f"train.{key}={value}" for key, value in (("out", out), ("device", device)) if value is not None]
    return resolve([{"model": model, "data": data, "train": train}], [*flags, *overrides])


def start_from(state: TrainingState, base: LoadedNetworks) -> None:
    """Load the base run's G and D into the conditional ones (new inputs and projection at zero),
    its other networks (mspgsen's D_aux) as they are, the same G into the EMA, and make the first
    partitions with the base D."""
    generator, discriminator = state.nets["G"], state.nets["D"]
    widen_into(generator.base, base.nets["G"].state_dict())
    discriminator.base.load_state_dict(base.nets["D"].state_dict())
    for key in state.nets.keys() - {"G", "D"}:
        state.nets[key].load_state_dict(base.nets[key].state_dict())
    if state.ema:
        state.ema.model.load_state_dict(generator.state_dict())
    actions = state.family.repartition(0, state.step_context())
    print(f"first partitions from the base run's D: {int(actions['partitions'])} "
          f"({100 * actions['flagged_share']:.1f}% of the training set flagged as missed)", flush=True)


@torch.no_grad()
def widen_into(network: nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Copy `weights` into `network`, whose first layer reads more inputs than the weights' did:
    those extra inputs get zero weights, so the network computes what the weights' own did."""
    own = network.state_dict()
    for key, value in weights.items():
        target = own[key]
        if target.shape == value.shape:
            target.copy_(value)
            continue
        wider = [d for d in range(value.dim()) if target.shape[d] != value.shape[d]]
        if len(wider) != 1 or target.shape[wider[0]] < value.shape[wider[0]]:
            raise UserError(f"cannot start {key} {tuple(target.shape)} from the base run's {tuple(value.shape)}.")
        target.zero_()
        target.narrow(wider[0], 0, value.shape[wider[0]]).copy_(value)
