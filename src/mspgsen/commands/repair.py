"""`mspgsen repair`: continue a trained run as a generator conditioned on the partitions it misses.

The repaired run is a new run folder that says where it came from (`model.repaired_from`):
- a one-G, one-D run (dcgan, wgan, wgan-gp, sagan, sagan-wgangp) becomes a `dyngan` run with the
  base run's networks (`model.base_model`: its family's NetSpec, width, latent size), G given a
  one-hot partition input and D a projection head;
- an `mspgsen` run becomes an `mspgsen-repaired` one (families/mspgsen_repaired.py): the same model
  config, the partition index carried by mspgsen's conditional path;
- a `vaegan` run becomes a `vaegan-repaired` one (families/vaegan_repaired.py): the same model
  config, the encoder kept, a one-hot partition input on G (the decoder) and a projection on D.
Either way both start from the base run's weights, the new inputs' weights and the projection at
zero, so before its first step the repaired G and D compute exactly what the base run's did; data,
optimisers and seed are the base run's. Before that step the detector (a full pass of the base D
over the training set) makes the first partitions; from then on the run repartitions on its own
(`model.repartition_every`).

A run that partitions itself already (dyngan, or a repaired run) is trained longer with `--resume`.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mspgsen.commands.train import TrainResult, train
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES
from mspgsen.families.adversarial import AdversarialFamily
from mspgsen.families.mspgsen import MSPGSEN
from mspgsen.families.partitioned import PartitionedTraining
from mspgsen.families.vaegan import VAEGAN
from mspgsen.resolve import resolve
from mspgsen.sampling import LoadedNetworks, load_networks
from mspgsen.training.rundir import existing_run_dir
from mspgsen.training.state import TrainingState

# the family a run of each kind is repaired as (the first that matches)
REPAIRED_AS = ((MSPGSEN, "mspgsen-repaired"), (VAEGAN, "vaegan-repaired"), (AdversarialFamily, "dyngan"))
# what a repaired dyngan run keeps of the base run's model config (the rest is DynGAN's own)
KEPT_MODEL_KEYS = ("latent_dim", "width", "mlp_width", "mlp_depth", "n_critic", "g_steps", "optim_g", "optim_d",
                   "ema_decay", "g_norm", "d_norm", "spectral_norm", "bias", "minibatch_std", "r1_weight", "d_width")


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
    """The family a run of `family` is repaired as; None when it cannot be."""
    if issubclass(family, PartitionedTraining):
        return None
    return next((name for kind, name in REPAIRED_AS if issubclass(family, kind)), None)


def repaired_config(base: LoadedNetworks, path: Path, steps: int | None, time_limit: float | None, out: str | None,
                    data_root: str | None, device: str | None, overrides: list[str]):
    old = base.config.to_dict()
    name = repaired_name(type(base.family))
    if name != "dyngan":  # the whole model config: the networks and losses stay the base family's
        model = dict(old["model"], name=name, repaired_from=str(path.resolve()))
    else:
        model = {key: old["model"][key] for key in KEPT_MODEL_KEYS if key in old["model"]}
        model.update(name="dyngan", base_model=base.family.name, repaired_from=str(path.resolve()))
    # the base run's training settings, less its folder, its start and its controllers (with their
    # sections; mspgsen's own controllers, APFL and BALANCE, keep theirs)
    kept_sections = ("apfl", "balance") if isinstance(base.family, MSPGSEN) else ()
    dropped = ("out", "controllers", "init_from")
    train = {key: value for key, value in old["train"].items()
             if key not in dropped and (not isinstance(value, dict) or key in kept_sections)}
    if steps is not None:
        train["steps"] = steps
    if time_limit is not None:
        train["time_limit"] = time_limit
    data = dict(old["data"], **({"root": data_root} if data_root else {}))
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
