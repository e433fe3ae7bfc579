"""MSPG-SEN's settings (the `model` section of an mspgsen run): one flag per component, and the
training choices docs/design.md gives with their measurements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from mspgsen.config import FamilyConfig, OptimizerConfig, setting


def adamw_g() -> OptimizerConfig:
    return OptimizerConfig(name="adamw", lr=4e-4, betas=(0.5, 0.99), weight_decay=0.01)


def adamw_d() -> OptimizerConfig:
    """A slow D against a fast G (dcgan's Stacked MNIST recipe): at 2e-4 on both sides the model
    covered 430 of 1000 modes in 4 minutes where this gave 756 (docs/benchmarks.md)."""
    return OptimizerConfig(name="adamw", lr=5e-5, betas=(0.5, 0.99), weight_decay=0.01)


@dataclass
class MSPGSENConfig(FamilyConfig):
    name: str = "mspgsen"
    optim_g: OptimizerConfig = field(default_factory=adamw_g)
    optim_d: OptimizerConfig = field(default_factory=adamw_d)
    ema_decay: float = 0.9999
    # conv width; None: 12 for images up to 32x32 (a training step within 3x our dcgan's per image, issue
    # 19's budget: benchmarks/mspgsen_cost.py), 64 for larger ones. The FLOPs per image grow with its square.
    width: int | None = setting(None, low=1)
    # D's (and D_aux's) conv width; None: 16 for images up to 32x32, G's width for larger ones
    d_width: int | None = setting(None, low=1)
    # D's minibatch standard deviation over groups of this many samples (Karras et al.); 0: off
    minibatch_std_group: int = setting(0, low=0)
    g_norm: Literal["batch", "pixel", "none"] = "batch"  # G's normalisation layers
    g_pre: bool = False  # a conv-norm-ReLU before each block's body (two nonlinear layers per block)
    # how G's features grow from one scale to the next, before the block's dilated branches read them:
    # nearest leaves 2x2 blocks of copies that a dilated conv samples in a grid (blocky samples); with
    # bilinear the 10-minute Stacked MNIST seeds 0-2 covered 916, 942, 992 modes against 937, 704, 801
    # (docs/benchmarks.md, 2026-12-07)
    g_upsample: Literal["nearest", "bilinear"] = "bilinear"
    d_norm: Literal["batch", "none"] = "batch"  # batch norm in D below the full size, per part (real, generated)
    dema: bool = True  # DEMA attention in G's blocks and at one stage of D, with L_LGCL
    gctdrn: bool = True  # selective 3/5/7 branches and global enhancement (off: plain residual blocks)
    afe: bool = True  # the auxiliary critic on G's middle scale (a middle hidden layer on points)
    multiscale: bool = True  # images: G emits, and D reads, every scale
    # images: grow the active scale with a linear fade-in (controller "progressive-growth"); None: for
    # images larger than 32x32 only (at 28x28 growing over half of a 4-minute run ended at 1-2 of
    # 1000 Stacked MNIST modes where the same model at full size covered 900-922: docs/benchmarks.md)
    progressive: bool | None = None
    conditional: bool = True  # use class labels where the data has them (projection D)
    apfl: bool = True  # the adaptive feedback loop (controller "apfl", settings under train.apfl)
    balance: bool = True  # the DQN balancer (controller "balance", settings under train.balance)
    aux_weight: float = 0.5  # λ_aux of eq. 20
    contrastive_weight: float = 0.1  # weight of L_LGCL in G's loss
    contrastive_temperature: float = setting(0.1, low_open=True)  # τ of eq. 7
    label_dropout: float = setting(0.1, high=1)  # share of labels replaced by the null label
    # std of the noise on D's inputs at step 0, falling linearly to 0 ("linear-noise"): the paper's linear noise
    # plan, off by default (at 0.1 the model covered 603 of 1000 modes in 4 minutes, 735 without)
    instance_noise: float = 0.0
    grow_fraction: float = setting(0.5, low_open=True)  # share of the run over which progressive growth reaches full size
    tokens: int = setting(8, low=1)  # points: the hidden vector is read as this many tokens
    # the sides that get spectral norm: D and D_aux, or none (D's batch norm does its work: with
    # both, 430 modes in 4 minutes against 591 without spectral norm)
    spectral_norm: Literal["d", "none"] = "none"
    lr_decay: bool = True  # both learning rates fall linearly to 0 over the run ("linear-lr-decay")
    # γ of the R1 penalty (γ/2)·E‖∇D(x)‖² on real samples (not in the seed; 0: off)
    r1_weight: float = setting(0.0, low=0)
    r1_every: int = setting(1, low=1)  # R1 on every N-th step, weighted N× (StyleGAN2's lazy regularisation)
    # a key of runs saved before 2026-12-05, read as the new one
    renamed_keys: ClassVar[dict] = {"d_spectral": ("spectral_norm", lambda on: "d" if on else "none")}
