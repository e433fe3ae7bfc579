"""The contracts every part of a run meets, in one place below everything else.

- data: `DataShape` (one sample's shape), `Batch`, `BatchStream` (a resumable stream of batches);
- a step: `Knobs` (the only state controllers may change), `StepContext` (what a phase may use),
  `Phase` (the networks it trains, the optimiser that steps them, its named loss terms);
- the two kinds of plug-in: `Family` (networks, optimisers and phases for a data shape) and
  `Controller` (reads a tick's indicators, turns knobs).

This module imports nothing of training, families or controllers: they all import it, so the
loop, the families and the controllers meet here and never import one another to agree.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal, Mapping, Protocol

import torch
from torch import nn

from mspgsen.config import FamilyConfig, OptimizerConfig, RunConfig
from mspgsen.errors import UserError

IMAGE_LATENT_DIM = 100  # DCGAN's z
POINT_LATENT_DIM = 8


# --- data -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataShape:
    """The shape of one sample: `(2,)` for points, `(C, H, W)` for images."""

    kind: Literal["points", "images"]
    dims: tuple[int, ...]
    num_classes: int = 0
    samples: int = 0  # size of a finite training set (its batches carry indices); 0: drawn fresh

    @property
    def channels(self) -> int:
        return self.dims[0]

    @property
    def size(self) -> tuple[int, int]:
        return self.dims[1], self.dims[2]

    def describe(self) -> str:
        if self.kind == "points":
            return f"{self.dims[0]}-D points"
        channels, height, width = self.dims
        return f"{channels}x{height}x{width} images"


@dataclass
class Batch:
    x: torch.Tensor  # float on the training device; images scaled to [-1, 1]
    y: torch.Tensor | None = None  # class labels where the source has them
    index: torch.Tensor | None = None  # positions in a finite training set, for per-sample bookkeeping


class BatchStream(Protocol):
    """An endless, seeded sequence of batches whose position can be saved and restored exactly."""

    def next(self) -> Batch: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


# --- a step -----------------------------------------------------------------------------------
@dataclass
class Knobs:
    """What controllers may change while a run goes on; saved in every checkpoint."""

    lr_scale: dict[str, float] = field(default_factory=dict)  # per optimiser (each has one), set by schedules
    # Feedback controllers own a factor each (controller → optimiser → factor) instead of
    # rewriting lr_scale, so several can act on one learning rate without compounding.
    lr_factors: dict[str, dict[str, float]] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)  # per phase: runs per step (n_critic for "D")
    loss_weights: dict[str, float] = field(default_factory=dict)  # per named term; 1 when absent
    noise_std: float = 0.0  # instance noise added to the discriminator's inputs (set by schedules)
    noise_extra: dict[str, float] = field(default_factory=dict)  # controller → noise it adds on top
    level: float | None = None  # progressive growth: active scale + fade-in fraction; None: full size
    scales: int = 1  # how many scales `level` moves over (set by the family, read by controllers)
    ema_decay: float | None = None  # decay of the EMA of G's weights; None: model.ema_decay (BALANCE moves it)

    def optimizers(self) -> list[str]:
        """The optimisers a learning-rate controller can act on (the run lists each in lr_scale)."""
        return list(self.lr_scale)

    def weight(self, term: str) -> float:
        return self.loss_weights.get(term, 1.0)

    def lr(self, optimizer: str, base_lr: float) -> float:
        """base lr × schedule scale × every controller's factor."""
        lr = base_lr * self.lr_scale.get(optimizer, 1.0)
        for factors in self.lr_factors.values():
            lr *= factors.get(optimizer, 1.0)
        return lr

    def noise(self) -> float:
        """The instance-noise std D's inputs get: the schedule's plus what controllers add."""
        return max(0.0, self.noise_std + sum(self.noise_extra.values()))

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if key in self.__dataclass_fields__:  # a key older versions kept elsewhere is not a knob
                setattr(self, key, value)


class Ranks(Protocol):
    """The processes of a run as a step sees them (training/distributed.World in a torchrun run)."""

    rank: int
    size: int

    @property
    def distributed(self) -> bool: ...


@dataclass(frozen=True)
class OneProcess:
    rank: int = 0
    size: int = 1
    distributed: bool = False


class Reporter(Protocol):
    def report(self, name: str, value: torch.Tensor | float) -> None: ...


Terms = dict[str, torch.Tensor]


@dataclass
class StepContext:
    """What a phase may use: the networks, the knobs, real batches, latents, the stats stream."""

    nets: Mapping[str, nn.Module]  # in a distributed run: DDP views of the networks the phase trains
    knobs: Knobs
    stream: BatchStream
    latent_dim: int
    batch_size: int
    device: torch.device
    stats: Reporter
    world: Ranks = OneProcess()

    def real(self) -> Batch:
        return self.stream.next()

    def latents(self, n: int | None = None) -> torch.Tensor:
        """`n` latents (the local batch by default). In a distributed run every process draws the
        global batch's latents and keeps its slice, so together they are the one-process draw."""
        n = n or self.batch_size
        if not self.world.distributed:
            return torch.randn(n, self.latent_dim, device=self.device)
        every = torch.randn(n * self.world.size, self.latent_dim, device=self.device)
        return every[self.world.rank * n:(self.world.rank + 1) * n]

    def report(self, name: str, value: torch.Tensor) -> None:
        self.stats.report(name, value)


@dataclass(frozen=True)
class Phase:
    """One part of a step (after stylegan2-ada's `accumulate_gradients(phase, …)`): n_critic,
    weight clipping, extra networks and skipped phases are data here, never branches in the loop."""

    name: str  # also the key of its repeat count in Knobs.repeats
    optimizer: str
    trains: tuple[str, ...]  # networks whose parameters take gradients in this phase
    compute: Callable[[StepContext], Terms]  # named, unweighted loss terms
    after_step: Callable[[StepContext], None] | None = None


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
    Config: ClassVar[type[FamilyConfig]] = FamilyConfig
    generator_key: ClassVar[str] = "G"  # the network that samples; its EMA copy is kept
    # Why the family cannot train on several processes (state kept per training sample, say); None: it can.
    single_process_only: ClassVar[str | None] = None
    # what `mspgsen ablate` turns off one at a time by default: boolean model flags and controller names
    ablation_components: ClassVar[tuple[str, ...]] = ()

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


# --- a controller -----------------------------------------------------------------------------
class Controller:
    """A plug-in that reads the collected indicators and turns the loop's knobs.

    Once per tick (every `train.log_every` steps) the loop hands each controller the averaged
    indicators of the tick and the knobs. A controller changes knobs and nothing else, says what it
    did (a dict, logged beside the indicators), and keeps any state it needs in `state_dict`, which
    goes into checkpoints so that a resumed run continues exactly. What a family tells it comes as
    keyword arguments of its constructor (`Family.default_controllers`).
    """

    name: ClassVar[str] = ""
    # the dataclass of its settings, read from the `train.<name>` section (None: it has none); the
    # section joins TrainConfig when the config is resolved (mspgsen.resolve), so a new controller
    # with settings is one new file
    settings: ClassVar[type | None] = None

    def __init__(self, config: RunConfig):
        self.config = config

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        """Adjust `knobs`; return the actions taken as named numbers (empty when none)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def run_progress(indicators: dict[str, float], step: int, config: RunConfig) -> float:
    """How far the run is, in [0, 1]: the loop's `progress` indicator (steps or time limit, whichever
    is further: training/progress.py); step / train.steps for a controller driven without the loop."""
    return indicators.get("progress", step / config.train.steps)
