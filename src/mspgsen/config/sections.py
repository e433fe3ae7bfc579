"""The sections of a run's configuration: `model` (each family extends FamilyConfig), `data`,
`train`, and the RunConfig that holds them; every field declares its rules with `setting`."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, get_type_hints

from mspgsen.config.controllers import APFLConfig, BalanceConfig
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

    name: str = setting("dcgan", flag="model", help="model family (see `mspgsen list`)")
    latent_dim: int | None = setting(None, low=1)  # None: 100 for images, 8 for 2-D points
    width: int = setting(64, low=1)  # channels of the widest-resolution conv stage (DCGAN's ngf/ndf)
    mlp_width: int = setting(128, low=1)  # hidden units of the MLP networks used on 2-D points
    mlp_depth: int = setting(3, low=1)  # hidden layers of those MLPs
    n_critic: int = setting(1, low=1)  # discriminator steps per training step
    g_steps: int = setting(1, low=1)  # generator steps per training step (after the discriminator's)
    optim_g: OptimizerConfig = field(default_factory=OptimizerConfig)
    optim_d: OptimizerConfig = field(default_factory=OptimizerConfig)
    ema_decay: float = setting(0.999, high=1, high_open=True)  # EMA of generator weights; 0 turns it off


@dataclass
class DataConfig:
    name: str = setting("grid25", flag="data", help="a data set (see `mspgsen list`), a folder of images or an .npz file")
    root: str | None = setting(None, resumable=True, flag="data_root",
                               help="folder holding named data sets; default $MSPGSEN_DATA, else ./data")
    download: bool = True  # let torchvision fetch a named set whose files are missing
    split: Literal["train", "test"] = "train"
    image_size: str | None = setting(None, flag="image_size",
                                     help="S or HxW: images are resized and cropped to it; default: their own size")
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
class TrainConfig:
    steps: int = setting(3000, low=1, high=1e12, resumable=True, flag="steps", help="generator updates")
    batch_size: int = setting(128, low=1, flag="batch_size", help="samples per batch")
    seed: int = setting(0, flag="seed", help="random seed")
    device: str = setting("auto", resumable=True, flag="device", help="auto | cpu | cuda | cuda:N")
    # bf16 autocasts the forward passes; auto: bf16 where the device computes bf16 natively (a CUDA GPU,
    # a CPU with AMX or AVX-512 BF16) and the networks are convolutional, fp32 elsewhere (training/hardware.py)
    precision: Literal["auto", "fp32", "bf16"] = setting(
        "auto", resumable=True, flag="precision",
        help="auto: bf16 for image networks on a GPU or a CPU with AMX or AVX-512 BF16, fp32 elsewhere")
    threads: int = setting(0, resumable=True, flag="threads",
                           help="CPU threads; 0: OMP_NUM_THREADS, else 1 for small networks and the free cores "
                                "for large ones")
    # torch.compile of every network: auto = on CUDA only; off; or a torch.compile mode
    compile: Literal["auto", "off", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = \
        setting("auto", resumable=True, flag="compile", help="torch.compile: auto (on CUDA only), off, or a mode")
    # channels-last memory format for convolutions (oneDNN's and cuDNN's fastest)
    channels_last: bool = setting(True, resumable=True)
    out: str | None = setting(None, resumable=True, flag="out", help="run folder; default runs/NNNNN-<model>-<data>")
    init_from: str | None = setting(None, flag="init_from",  # commands/warm_start.py
                                    help="a run whose network weights this new run starts from (same family and "
                                         "model settings; fresh optimisers, step 0)")
    # steps between indicator collection (progress bar, TensorBoard, controllers)
    log_every: int = setting(50, low=1, resumable=True)
    sample_every: int = setting(500, low=1, resumable=True)  # steps between sample grids / scatter plots
    checkpoint_every: int = setting(1000, low=1, resumable=True)  # steps between resume checkpoints
    eval_samples: int = setting(2500, low=1, resumable=True)  # samples for the 2-D mode metrics at the end of a run
    report: bool = setting(False, resumable=True)  # write RUN/report.html at the end (`mspgsen report RUN`)
    # images: samples for the classifier-feature FID at the end of a run (Stacked MNIST's modes: 26,000); 0: none
    final_eval_n: int = setting(10_000, resumable=True)
    # steps between evaluations during training (metrics.jsonl, best.safetensors); 0: none
    eval_every: int = setting(0, resumable=True)
    # samples per periodic evaluation (`mspgsen evaluate` for the full protocol)
    eval_n: int = setting(2000, low=1, resumable=True)
    eval_metrics: str = "fid"  # images: comma-separated fid,is,kid,prc,modes (points: always the mode metrics)
    eval_features: Literal["inception", "classifier"] = "inception"  # feature extractor of periodic image metrics
    eval_ref: str = "train"  # reference images: train, test, or a folder / .npz
    # training controllers, by name (their settings: the sections below)
    controllers: list[str] = field(default_factory=list)
    apfl: APFLConfig = setting(factory=APFLConfig)  # the adaptive feedback loop (controllers/apfl.py)
    balance: BalanceConfig = setting(factory=BalanceConfig)  # the DQN balancer (controllers/balance.py)
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


def config_keys(rule: str, sections: dict[str, type]) -> dict[str, Any]:
    """Every key of the `sections` (name → dataclass) whose field declares `rule` (resumable,
    flag), with the rule's value (mspgsen.resolve.run_config_keys gives a whole run's)."""
    found: dict[str, Any] = {}
    for section, section_cls in sections.items():
        found.update(_keys_of(rule, section_cls, section))
    return found


def _keys_of(rule: str, cls: type, prefix: str) -> dict[str, Any]:
    found = {}
    hints = get_type_hints(cls)
    for spec in fields(cls):
        key = f"{prefix}.{spec.name}"
        if is_dataclass(hints[spec.name]):
            found.update(_keys_of(rule, hints[spec.name], key))
        elif spec.metadata.get(rule):
            found[key] = spec.metadata[rule]
    return found
