"""The sections of a run's configuration: `model` (each family extends FamilyConfig), `data`,
`train`, and the RunConfig that holds them; every field declares its rules with `setting`."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, get_type_hints

from mspgsen.config.fields import plain, setting


@dataclass
class OptimizerConfig:
    name: Literal["adam", "adamw", "rmsprop"] = "adam"
    lr: float = setting(2e-4, low_open=True)
    betas: tuple[float, float] = setting((0.5, 0.999), high=1, high_open=True)  # Adam/AdamW only
    weight_decay: float = 0.0


@dataclass
class FamilyConfig:
    """Keys every family has; a family subclasses this to change defaults and add its own."""

    name: str = setting("dcgan", flag="model")
    latent_dim: int | None = setting(None, low=1)  # None: 100 for images, 8 for 2-D points
    width: int = setting(64, low=1)  # channels of the widest-resolution conv stage (DCGAN's ngf/ndf)
    mlp_width: int = setting(128, low=1)  # hidden units of the MLP networks used on 2-D points
    mlp_depth: int = setting(3, low=1)  # hidden layers of those MLPs
    n_critic: int = setting(1, low=1)  # discriminator steps per generator step
    optim_g: OptimizerConfig = field(default_factory=OptimizerConfig)
    optim_d: OptimizerConfig = field(default_factory=OptimizerConfig)
    ema_decay: float = setting(0.999, high=1, high_open=True)  # EMA of generator weights; 0 turns it off


@dataclass
class DataConfig:
    name: str = setting("grid25", flag="data")  # a data set (see `mspgsen list`), a folder of images or an .npz file
    # where named data sets live; default $MSPGSEN_DATA, else ./data
    root: str | None = setting(None, resumable=True, flag="data_root")
    download: bool = True  # let torchvision fetch a named set whose files are missing
    split: Literal["train", "test"] = "train"
    image_size: str | None = setting(None, flag="image_size")  # "S" or "HxW"; default: the source's own size
    resize: Literal["resize-crop", "resize", "center-crop"] = "resize-crop"
    channels: int | None = None  # 1 or 3; default: the source's own
    on_corrupt: Literal["error", "skip"] = "error"  # what an unreadable image does
    limit: int | None = setting(None, low=1)  # keep only the first N images (quick experiments)
    std: float | None = setting(None, low_open=True)  # 2-D mixtures: std of each Gaussian (ring8 0.01, grid25 0.05)
    radius: float | None = setting(None, low_open=True)  # ring8: radius of the circle of centres (1)
    spacing: float | None = setting(None, low_open=True)  # grid25: distance between neighbouring centres (2)
    # 2-D mixtures: a fixed training set of this many points; default: fresh every batch
    size: int | None = setting(None, low=1)


@dataclass
class APFLConfig:
    """The APFL feedback loop (seed 001, eq. 8-14); read by the `apfl` controller."""

    early_fraction: float = setting(0.1, high=1)  # share of the run in the early phase (simplified D feedback)
    late_fraction: float = setting(0.7, high=1)  # the late phase (regularisation, noise annealing) starts here
    early_noise: float = 0.1  # instance-noise floor in the early phase
    lr_gamma: float = setting(0.99, low_open=True, high=1)  # eq. 8-9: lr ← lr·γ^(1/t) at tick t
    step_every: int = 0  # StepLR: multiply the lr by step_gamma every this many steps; 0: off
    step_gamma: float = setting(0.5, low_open=True, high=1)
    d_strong_accuracy: float = 0.9  # D's mean accuracy above this: D is too strong
    d_weak_accuracy: float = 0.55  # below this: D is too weak, its lr is restored towards the base
    # how much a too-strong D's lr is cut per tick (floor: min_lr_scale)
    d_lr_factor: float = setting(0.8, low_open=True, high=1)
    min_lr_scale: float = setting(0.05, low_open=True, high=1)
    noise_step: float = 0.02  # instance noise added per tick while D is too strong
    max_noise: float = 0.3
    g_stall_ticks: int = 4  # ticks without a falling G loss (and no better metric) make a stall
    fm_step: float = 0.5  # L_FM weight added per stalled tick
    fm_max: float = 5.0
    fm_decay: float = setting(0.9, high=1)  # L_FM weight multiplied by this per tick once G moves again
    late_fm: float = 1.0  # L_FM floor in the late phase (feature matching as regulariser)


@dataclass
class BalanceConfig:
    """The DQN balancer (seed 001, BALANCE); read by the `balance` controller."""

    target_accuracy: float = setting(0.7, high=1)  # reward peaks when D's mean accuracy is here
    quality_weight: float = 1.0  # weight of the quality term of the reward
    hidden: int = setting(64, low=1)  # Q-network width
    gamma: float = setting(0.9, high=1)  # discount
    lr: float = setting(1e-3, low_open=True)
    batch_size: int = setting(32, low=1)  # replay minibatch
    replay_size: int = setting(10_000, low=1)
    target_sync: int = setting(50, low=1)  # learning updates between target-network copies
    epsilon_start: float = setting(1.0, high=1)
    epsilon_end: float = setting(0.05, high=1)
    epsilon_decay: int = 0  # ticks over which ε falls linearly; 0: the first 30% of the run's ticks
    lr_factor: float = setting(1.25, low=1)  # what lr up / down multiply or divide by
    max_extra_steps: int = 3  # cap on extra D or G steps per step
    # a run whose balancer (weights and replay) to start from
    load_from: str | None = setting(None, flag="balancer_from")


@dataclass
class TrainConfig:
    steps: int = setting(3000, low=1, resumable=True, flag="steps")  # generator updates
    batch_size: int = setting(128, low=1, flag="batch_size")
    seed: int = setting(0, flag="seed")
    device: str = setting("auto", resumable=True, flag="device")  # auto | cpu | cuda | cuda:N
    # bf16 autocasts the forward passes; auto: bf16 where the device has bf16 matrix units (a CUDA GPU,
    # a CPU with AMX) and the networks are convolutional, fp32 elsewhere (training/hardware.py)
    precision: Literal["auto", "fp32", "bf16"] = setting("auto", resumable=True, flag="precision")
    # CPU threads; 0: OMP_NUM_THREADS if set, else chosen from the work and the free cores
    threads: int = setting(0, resumable=True, flag="threads")
    # torch.compile of every network: auto = on CUDA only; off; or a torch.compile mode
    compile: Literal["auto", "off", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = \
        setting("auto", resumable=True, flag="compile")
    # channels-last memory format for convolutions (oneDNN's and cuDNN's fastest)
    channels_last: bool = setting(True, resumable=True)
    out: str | None = setting(None, resumable=True, flag="out")  # run folder; default runs/NNNNN-<model>-<data>
    # steps between indicator collection (progress bar, TensorBoard, controllers)
    log_every: int = setting(50, low=1, resumable=True)
    sample_every: int = setting(500, low=1, resumable=True)  # steps between sample grids / scatter plots
    checkpoint_every: int = setting(1000, low=1, resumable=True)  # steps between resume checkpoints
    eval_samples: int = setting(2500, low=1, resumable=True)  # samples for the 2-D mode metrics at the end of a run
    # images: samples for the classifier-feature FID at the end of a run (Stacked MNIST's modes: 26,000); 0: none
    final_eval_n: int = setting(10_000, resumable=True)
    # steps between evaluations during training (metrics.jsonl, best.safetensors); 0: none
    eval_every: int = setting(0, resumable=True)
    # samples per periodic evaluation (`mspgsen evaluate` for the full protocol)
    eval_n: int = setting(2000, low=1, resumable=True)
    eval_metrics: str = "fid"  # images: comma-separated fid,is,kid,prc,modes (points: always the mode metrics)
    eval_features: Literal["inception", "classifier"] = "inception"  # feature extractor of periodic image metrics
    eval_ref: str = "train"  # reference images: train, test, or a folder / .npz
    controllers: list[str] = field(default_factory=list)  # training controllers, by name
    apfl: APFLConfig = field(default_factory=APFLConfig)
    balance: BalanceConfig = field(default_factory=BalanceConfig)
    # a NaN/Inf rolls back to the last healthy tick and multiplies the lrs by this
    nan_lr_factor: float = setting(0.5, low_open=True, high=1, resumable=True)
    # NaN/Inf rollbacks in a row (no healthy tick between) before the run stops
    max_rollbacks: int = setting(3, resumable=True)
    # seconds of training (across resumes) after which the run ends as if its steps were done; 0: none
    time_limit: float = setting(0.0, resumable=True)
    progress: bool = setting(True, resumable=True)  # show a progress bar (plain lines when not on a terminal)


@dataclass
class RunConfig:
    model: FamilyConfig
    data: DataConfig
    train: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return plain(dataclasses.asdict(self))


def config_keys(rule: str, cls: type = None, prefix: str = "") -> dict[str, Any]:
    """Every key of the shared sections (and FamilyConfig's) whose field declares `rule`
    (resumable, flag), with the rule's value: the one place these lists come from."""
    if cls is None:
        found: dict[str, Any] = {}
        for section, section_cls in (("model", FamilyConfig), ("data", DataConfig), ("train", TrainConfig)):
            found.update(config_keys(rule, section_cls, section))
        return found
    found = {}
    hints = get_type_hints(cls)
    for spec in fields(cls):
        key = f"{prefix}.{spec.name}"
        if is_dataclass(hints[spec.name]):
            found.update(config_keys(rule, hints[spec.name], key))
        elif spec.metadata.get(rule):
            found[key] = spec.metadata[rule]
    return found
