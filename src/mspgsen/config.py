"""Run configuration: typed dataclasses, YAML files and `--set key=value` overrides.

A run's configuration has three sections. `model` is the family's own dataclass (each family
extends `FamilyConfig` with its defaults and extra keys), `data` and `train` are shared. The
resolved configuration is written to every run folder, so a run can be resumed, sampled or
evaluated from that file alone.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from mspgsen.errors import UserError


def setting(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, low: float = 0,
            low_open: bool = False, high: float | None = None, high_open: bool = False, resumable: bool = False,
            flag: str | None = None) -> Any:
    """A config field with its rules, read by validation, `--resume` and the API's flags.

    Every number must lie in [low, high] (open ends by `low_open` / `high_open`); `low` is 0
    unless said, so a plain number field needs no declaration to refuse a negative. `resumable`
    keys may differ between a run and its resumption; `flag` names the `configure()` keyword
    (and CLI option) that sets the key."""
    metadata = {"low": low, "low_open": low_open, "high": high, "high_open": high_open, "resumable": resumable,
                "flag": flag}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


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
        return _plain(dataclasses.asdict(self))


def resolve(sources: list[dict[str, Any]], overrides: list[str] = ()) -> RunConfig:
    """Merge config mappings (later wins) and `key=value` overrides into a validated RunConfig."""
    from mspgsen.families import FAMILIES  # families subclass FamilyConfig, so import late

    raw = _merged(sources, overrides)
    model_raw = dict(raw.get("model") or {})
    family = FAMILIES.get(model_raw.get("name", FamilyConfig.name))
    model_raw["name"] = family.name
    unknown = set(raw) - {"model", "data", "train"}
    if unknown:
        _unknown_key(sorted(unknown)[0], ["model", "data", "train"], "")
    config = RunConfig(
        model=from_mapping(family.Config, model_raw, "model"),
        data=from_mapping(DataConfig, raw.get("data") or {}, "data"),
        train=from_mapping(TrainConfig, raw.get("train") or {}, "train"),
    )
    check_ranges(config.model, "model")
    check_ranges(config.data, "data")
    check_ranges(config.train, "train")
    return config


def check_shared_sections(sources: list[dict[str, Any]], overrides: list[str] = ()) -> None:
    """Validate what can be checked without the families (and so without importing torch): the
    `--set` syntax, the top-level sections, and every key and range of `data` and `train`. The
    command line runs this first, so a typo is reported at once even on a busy machine."""
    raw = _merged(sources, overrides)
    unknown = set(raw) - {"model", "data", "train"}
    if unknown:
        _unknown_key(sorted(unknown)[0], ["model", "data", "train"], "")
    check_ranges(from_mapping(DataConfig, raw.get("data") or {}, "data"), "data")
    check_ranges(from_mapping(TrainConfig, raw.get("train") or {}, "train"), "train")


def _merged(sources: list[dict[str, Any]], overrides: list[str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for source in sources:
        _merge(raw, _expand_shorthand(source))
    for item in overrides:
        key, value = parse_override(item)
        _set_path(raw, key, value)
    return raw


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} does not exist; check the path given to --config.")
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"config file {path} is not valid YAML: {err}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UserError(f"config file {path} must hold a mapping with sections model/data/train.")
    return loaded


def save_yaml(config: RunConfig, path: Path, notes: list[str] = ()) -> None:
    """The config as YAML; `notes` (e.g. what `auto` settings chose on this machine) as comments on top."""
    header = "".join(f"# {note}\n" for note in notes)
    path.write_text(header + yaml.safe_dump(config.to_dict(), sort_keys=False))


def parse_override(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set expects key=value (e.g. train.steps=500), got {item!r}.")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def from_mapping(cls: type, mapping: Any, prefix: str) -> Any:
    """Build dataclass `cls` from a mapping, naming the full key of anything wrong."""
    if not isinstance(mapping, dict):
        raise UserError(f"config section {prefix!r} must be a mapping, got {mapping!r}.")
    hints = get_type_hints(cls)
    by_name = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in mapping.items():
        if key not in by_name:
            _unknown_key(key, list(by_name), prefix)
        if is_dataclass(hints[key]) and isinstance(value, dict):
            # a partial section overrides this class's own default (e.g. WGAN's RMSprop), not the bare type's
            value = {**dataclasses.asdict(_default_of(by_name[key])), **value}
        values[key] = _coerce(value, hints[key], f"{prefix}.{key}")
    return cls(**values)


def _default_of(spec: dataclasses.Field) -> Any:
    return spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is Literal:
        if isinstance(value, bool) and "off" in args:  # YAML reads `off` / `on` as booleans
            value = "default" if value and "default" in args else "off"
        if value not in args:
            raise UserError(f"config key {key!r} must be one of {', '.join(map(str, args))}; got {value!r}.")
        return value
    if is_dataclass(tp):
        return from_mapping(tp, value, key)
    if origin in (tuple, list):
        items = value.split(",") if isinstance(value, str) else value
        if origin is tuple and (not isinstance(items, (list, tuple)) or len(items) != len(args)):
            raise UserError(f"config key {key!r} needs {len(args)} values separated by commas, got {value!r}.")
        if not isinstance(items, (list, tuple)):
            raise UserError(f"config key {key!r} must be a list, got {value!r}.")
        item_types = args if origin is tuple else [args[0]] * len(items)
        coerced = [_coerce(v, t, key) for v, t in zip(items, item_types)]
        return tuple(coerced) if origin is tuple else coerced
    return _coerce_scalar(value, tp, key)


def _coerce_scalar(value: Any, tp: type, key: str) -> Any:
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if tp is int:
            if isinstance(value, bool):
                raise ValueError
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            return int(number)
        if tp is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if tp is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise UserError(f"config key {key!r} must be {tp.__name__}, got {value!r}.") from None
    return value


def _unknown_key(key: str, valid: list[str], prefix: str) -> None:
    full = f"{prefix}.{key}" if prefix else key
    close = difflib.get_close_matches(str(key), valid, n=1)
    hint = f" Did you mean {(prefix + '.' if prefix else '') + close[0]!r}?" if close else ""
    where = f"under {prefix!r}" if prefix else "at the top level"
    raise UserError(f"unknown config key {full!r}.{hint} Valid keys {where}: {', '.join(valid)}.")


def check_ranges(section: Any, prefix: str) -> None:
    """Every number of a config section (and its sub-sections) within its declared range; a loss
    weight may be 0 (off) but never negative, which would turn its term into one to maximise."""
    for spec in fields(section):
        value, key = getattr(section, spec.name), f"{prefix}.{spec.name}"
        if is_dataclass(value):
            check_ranges(value, key)
            continue
        for number in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                _check_number(number, key, _rule(type(section), spec))


def _rule(cls: type, spec: dataclasses.Field) -> Any:
    """A field's declared rule; a subclass that only changes the default (WGAN's n_critic = 5)
    keeps its base class's rule."""
    if spec.metadata:
        return spec.metadata
    for base in cls.__mro__[1:]:
        inherited = getattr(base, "__dataclass_fields__", {}).get(spec.name)
        if inherited is not None and inherited.metadata:
            return inherited.metadata
    return {}


def _check_number(value: float, key: str, rule: Any) -> None:
    low, high = rule.get("low", 0), rule.get("high")
    too_low = value <= low if rule.get("low_open") else value < low
    too_high = high is not None and (value >= high if rule.get("high_open") else value > high)
    if not (too_low or too_high):
        return
    if key.endswith("_weight"):
        raise UserError(f"{key} weights a loss term and must be 0 (off) or more, got {value}.")
    if high is None:
        bound = f"above {low:g}" if rule.get("low_open") else f"at least {low:g}"
    else:
        bound = f"in {'(' if rule.get('low_open') else '['}{low:g}, {high:g}{')' if rule.get('high_open') else ']'}"
    raise UserError(f"config key {key!r} must be {bound}, got {value}.")


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


def _expand_shorthand(source: dict[str, Any]) -> dict[str, Any]:
    """Allow `model: dcgan` and `data: mnist` as short for `{name: ...}`."""
    expanded = dict(source)
    for section in ("model", "data"):
        if isinstance(expanded.get(section), str):
            expanded[section] = {"name": expanded[section]}
    return expanded


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _set_path(raw: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserError(f"cannot set {dotted!r}: {part!r} is not a section.")
        node = child
    node[parts[-1]] = value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
