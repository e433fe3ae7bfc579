"""The family interface: networks for a data shape, their optimisers, the phases of a step.

A family registers itself by name with `@register_family`; the loop only talks to this
interface, so a new family is a new module here and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from mspgsen.config import FamilyConfig, OptimizerConfig
from mspgsen.data.base import DataShape
from mspgsen.errors import UserError
from mspgsen.registry import Registry
from mspgsen.training.knobs import Knobs
from mspgsen.objectives import AdversarialLoss
from mspgsen.training.phases import Phase, StepContext

IMAGE_LATENT_DIM = 100  # DCGAN's z
POINT_LATENT_DIM = 8


@dataclass(frozen=True)
class OptimizerPlan:
    networks: tuple[str, ...]
    config: OptimizerConfig
    lr_ratios: dict[str, float] = field(default_factory=dict)  # network → its lr / config.lr (1 when absent)


class Family:
    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str] = ""
    Config: ClassVar[type[FamilyConfig]] = FamilyConfig
    generator_key: ClassVar[str] = "G"  # the network that samples; its EMA copy is kept
    # Why the family cannot train on several processes (state kept per training sample, say); None: it can.
    single_process_only: ClassVar[str | None] = None

    def __init__(self, config: FamilyConfig):
        self.config = config
        self.shape: DataShape | None = None  # set by build_networks for families that need it later

    def latent_dim(self, shape: DataShape) -> int:
        if self.config.latent_dim is not None:
            return self.config.latent_dim
        return POINT_LATENT_DIM if shape.kind == "points" else IMAGE_LATENT_DIM

    def check_shape(self, shape: DataShape) -> None:
        """Raise UserError for a data shape this family cannot model."""
        if shape.kind == "images" and shape.channels not in (1, 3):
            raise UserError(f"{self.name} models 1- or 3-channel images, not {shape.channels}; "
                            "set data.channels=1 or 3.")

    def check_batch(self, batch_size: int) -> None:
        """Raise UserError for a per-process batch size this family's settings cannot use."""

    def build_networks(self, shape: DataShape) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, OptimizerPlan]:
        return {"G": OptimizerPlan(("G",), self.config.optim_g), "D": OptimizerPlan(("D",), self.config.optim_d)}

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def default_knobs(self) -> Knobs:
        # G/fm, feature matching, costs a D pass on real data: off until a controller (APFL) asks for it.
        return Knobs(repeats={"D": self.config.n_critic, "G": 1}, loss_weights={"G/fm": 0.0})

    def default_controllers(self, shape: DataShape) -> list[str]:
        """Controllers the family's own settings need (a noise schedule, progressive growth)."""
        return []

    def sample_conditions(self, n: int, rng: torch.Generator, generator: nn.Module | None = None
                          ) -> torch.Tensor | None:
        """Conditions (class labels) to sample `generator` with, for a conditional one; None otherwise."""
        return None

    def discriminate(self, nets: nn.ModuleDict | dict[str, nn.Module], samples: torch.Tensor,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's raw scores `[B]` for full-size samples (real or generated), given their labels if any."""
        return nets["D"](samples)

    @torch.no_grad()
    def generate(self, nets: nn.ModuleDict | dict[str, nn.Module], latents: torch.Tensor,
                 conditions: torch.Tensor | None = None) -> torch.Tensor:
        return nets[self.generator_key](latents)


def discriminator_loss(ctx: StepContext, loss: AdversarialLoss, real_scores: torch.Tensor, fake_scores: torch.Tensor,
                       shown_fake: torch.Tensor | None = None) -> torch.Tensor:
    """D's adversarial term, after reporting the indicators every family gives controllers:
    D(x), D(G(z)) (of `shown_fake`, when only part of the fake batch is G(z)), accuracy per side."""
    ctx.report("D(x)", loss.readout(real_scores))
    ctx.report("D(G(z))", loss.readout(fake_scores if shown_fake is None else shown_fake))
    accuracy_real, accuracy_fake = loss.accuracy(real_scores, fake_scores)
    ctx.report("acc/real", accuracy_real)
    ctx.report("acc/fake", accuracy_fake)
    return loss.discriminator(real_scores, fake_scores)


FAMILIES: Registry[type[Family]] = Registry("model")


def register_family(cls: type[Family]) -> type[Family]:
    FAMILIES.register(cls.name, cls, cls.aliases)
    return cls
