"""`mspgsen repair`: continue any one-G, one-D run as a DynGAN over the partitions its generator misses.

The repaired run is a new run folder whose config is a `dyngan` one that says where it came from
(`model.repaired_from`, `model.base_model`): the base run's networks (its family's NetSpec, width,
latent size), data, optimisers and seed, with G given a one-hot partition input and D a projection
head. Both start from the base run's weights, the new input's weights and the projection at zero,
so before its first step the repaired G and D compute exactly what the base run's did. Before that
step DynGAN's detector (a full pass of the base D over the training set) makes the first partitions;
from then on the run repartitions on its own (`model.repartition_every`).

Families with other networks (`mspgsen`'s pyramid, `vaegan`'s encoder) are not repairable yet; a
DynGAN run partitions itself already (train it longer with `--resume`).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mspgsen.commands.train import TrainResult, train
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES
from mspgsen.families.adversarial import AdversarialFamily
from mspgsen.families.dyngan import DynGAN
from mspgsen.resolve import resolve
from mspgsen.sampling import LoadedNetworks, load_networks
from mspgsen.training.rundir import existing_run_dir
from mspgsen.training.state import TrainingState

# what the repaired run keeps of the base run's model config (the rest is DynGAN's own)
KEPT_MODEL_KEYS = ("latent_dim", "width", "mlp_width", "mlp_depth", "n_critic", "g_steps", "optim_g", "optim_d",
                   "ema_decay", "g_norm", "d_norm", "spectral_norm", "bias", "minibatch_std", "r1_weight", "d_width")


def repair(run_dir: str | Path, steps: int | None = None, time_limit: float | None = None,
           out: str | None = None, data_root: str | None = None, device: str | None = None,
           overrides: list[str] = ()) -> TrainResult:
    run = existing_run_dir(run_dir, need_checkpoint=True)
    base = load_networks(run)
    check_repairable(base)
    config = repaired_config(base, run.path, steps, time_limit, out, data_root, device, list(overrides))
    print(f"repairing {run.path} ({base.family.name}, step {base.step}) as a partition-conditioned dyngan", flush=True)
    return train(config, start=lambda state: start_from(state, base))


def check_repairable(base: LoadedNetworks) -> None:
    family = type(base.family)
    if issubclass(family, DynGAN):
        raise UserError(f"{base.family.name} runs partition themselves already; train this one further with "
                        "`mspgsen train --resume --out RUN --steps N` instead.")
    if not issubclass(family, AdversarialFamily):
        repairable = sorted(name for name in FAMILIES.names()
                            if issubclass(FAMILIES.get(name), AdversarialFamily) and not issubclass(FAMILIES.get(name), DynGAN))
        raise UserError(f"repair continues one-G, one-D runs ({', '.join(repairable)}); {base.family.name}'s "
                        "networks are not of that kind yet.")
    if base.config.model.pack > 1:
        raise UserError("this run's D judges packs of samples (model.pack > 1); a repaired D scores each sample "
                        "against its own partition, so it cannot start from it.")


def repaired_config(base: LoadedNetworks, path: Path, steps: int | None, time_limit: float | None, out: str | None,
                    data_root: str | None, device: str | None, overrides: list[str]):
    old = base.config.to_dict()
    model = {key: old["model"][key] for key in KEPT_MODEL_KEYS if key in old["model"]}
    model.update(name="dyngan", base_model=base.family.name, repaired_from=str(path.resolve()))
    # the base run's training settings, less its folder and its controllers (with their sections)
    train = {key: value for key, value in old["train"].items()
             if key not in ("out", "controllers") and not isinstance(value, dict)}
    if steps is not None:
        train["steps"] = steps
    if time_limit is not None:
        train["time_limit"] = time_limit
    data = dict(old["data"], **({"root": data_root} if data_root else {}))
    flags = [f"train.{key}={value}" for key, value in (("out", out), ("device", device)) if value is not None]
    return resolve([{"model": model, "data": data, "train": train}], [*flags, *overrides])


def start_from(state: TrainingState, base: LoadedNetworks) -> None:
    """Load the base run's G and D into the conditional ones (new inputs and projection at zero),
    the same into the EMA, and make the first partitions with the base D."""
    generator, discriminator = state.nets["G"], state.nets["D"]
    widen_into(generator.base, base.nets["G"].state_dict())
    discriminator.base.load_state_dict(base.nets["D"].state_dict())
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
