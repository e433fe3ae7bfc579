"""A family: networks for a data shape, their optimisers and the phases of a step."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

from mspgsen.config import FamilyConfig, OptimizerConfig
from mspgsen.contracts.data import DataShape
from mspgsen.contracts.step import Knobs, Phase
from mspgsen.errors import UserError

IMAGE_LATENT_DIM = 100  # DCGAN's z
POINT_LATENT_DIM = 8


# --- a family ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptimizerPlan:
    networks: tuple[str, ...]
    config: OptimizerConfig
    lr_ratios: dict[str, float] = field(default_factory=dict)  # network → its lr / config.lr (1 when absent)


class Family:
    """Networks for one data shape, their optimisers and the phases of a step. A family is built
    for its data: `Family(config, shape)` refuses a shape it cannot model (UserError)."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str] = ""
    # training settings this family takes by default in place of TrainConfig's (a config file or flag still wins)
    train_defaults: ClassVar[dict[str, Any]] = {}
    rank: ClassVar[int] = 50  # where `mspgsen list` and studies of every family show it (lower first)
    Config: ClassVar[type[FamilyConfig]] = FamilyConfig
    generator_key: ClassVar[str] = "G"  # the network that samples; its EMA copy is kept
    # Why the family cannot train on several processes (state kept per training sample, say); None: it can.
    single_process_only: ClassVar[str | None] = None
    # what `mspgsen ablate` turns off one at a time by default: boolean model flags and controller names
    ablation_components: ClassVar[tuple[str, ...]] = ()
    # the family a trained run of this one is repaired as (`mspgsen repair`); None: it cannot be. The
    # twin's config takes every field of this family's config, but those it names in `drops_on_repair`
    repaired_as: ClassVar[str | None] = None
    drops_on_repair: ClassVar[dict[str, str]] = {}  # field → why a repaired run does not keep it
    # the levers of contracts/levers.py its step reads (instance noise, G/fm, ...); the loop's own come on top
    applies: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: FamilyConfig, shape: DataShape):
        self.config, self.shape = config, shape
        self.check_shape(shape)

    def latent_dim(self) -> int:
        if self.config.latent_dim is not None:
            return self.config.latent_dim
        return POINT_LATENT_DIM if self.shape.kind == "points" else IMAGE_LATENT_DIM

    def check_shape(self, shape: DataShape) -> None:
        """Raise UserError for a data shape this family cannot model."""
        if shape.kind == "images" and shape.channels not in (1, 3):
            raise UserError(f"{self.name} models 1- or 3-channel images, not {shape.channels}; "
                            "set data.channels=1 or 3.")

    def check_batch(self, batch_size: int) -> None:
        """Raise UserError for a per-process batch size this family's settings cannot use."""

    def build_networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, OptimizerPlan]:
        return {"G": OptimizerPlan(("G",), self.config.optim_g), "D": OptimizerPlan(("D",), self.config.optim_d)}

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def levers(self) -> frozenset[str]:
        """Every lever a controller may move on this family with an effect: the family's own and the loop's."""
        names = {phase.name for phase in self.phases()}
        loop = {"lr"} | ({"repeats"} if {"D", "G"} <= names else set()) | (
            {"ema_decay"} if self.config.ema_decay > 0 else set())
        return frozenset(loop) | self.applies

    def default_knobs(self) -> Knobs:
        # G/fm, feature matching, costs a D pass on real data: off until a controller (APFL) asks for it.
        return Knobs(repeats={"D": self.config.n_critic, "G": self.config.g_steps}, loss_weights={"G/fm": 0.0})

    def default_controllers(self) -> dict[str, dict[str, Any]]:
        """The controllers this family's settings need, each with the keyword arguments the family
        hands it (a noise schedule's start, the partition a partitioner splits). A controller the
        config names gets the same arguments when the family lists it here."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """State the family keeps besides its networks (DynGAN's partition); saved in checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def timelines(self) -> dict[str, list[dict[str, Any]]]:
        """Named histories of that state (DynGAN: `partitions`), written to RUN/<name>.json and drawn."""
        return {}

    def sample_conditions(self, n: int, rng: torch.Generator, generator: nn.Module | None = None
                          ) -> torch.Tensor | None:
        """Conditions (class labels) to sample `generator` with, for a conditional one; None otherwise."""
        return None

    def discriminate(self, nets: Mapping[str, nn.Module], samples: torch.Tensor,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's raw scores `[B]` for full-size samples (real or generated), given their labels if any."""
        return nets["D"](samples)

    @torch.no_grad()
    def generate(self, nets: Mapping[str, nn.Module], latents: torch.Tensor,
                 conditions: torch.Tensor | None = None) -> torch.Tensor:
        return nets[self.generator_key](latents)
