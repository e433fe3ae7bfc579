"""The Python API: configure, train, sample, evaluate, and what is available. The CLI is a thin layer over it.
Experiments over many runs (ablate, sweep) build on it in `mspgsen.experiments`.

>>> from mspgsen import api
>>> config = api.configure(model="wgan-gp", data="grid25", steps=2000)
>>> result = api.train(config)
>>> result.metrics["modes_covered"]
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mspgsen.config import DataConfig, RunConfig, load_yaml, save_yaml
from mspgsen.resolve import resolve, run_config_keys
from mspgsen.diagnose import diagnose  # noqa: F401  (part of the API)
from mspgsen.reconstruct import interpolation_grid, reconstruct  # noqa: F401  (part of the API)
from mspgsen.controllers import build_controllers
from mspgsen.data import DATASETS, load_data
from mspgsen.errors import UserError
from mspgsen.evaluation import ImageEvaluator, load_sample_file, parse_metrics, to_uint8
from mspgsen.families import FAMILIES
from mspgsen.report.periodic import PeriodicEvaluator
from mspgsen.metrics.stacked_mnist import PROTOCOL_SAMPLES as STACKED_SAMPLES
from mspgsen.report.outputs import (finish_run, record_point_metrics, save_samples_figure, write_metrics,
                                    write_preview)
from mspgsen.sampling import draw, load_generator
from mspgsen.training.device import resolve_device
from mspgsen.training.distributed import ShardedStream, World, join_world, local_batch_size
from mspgsen.training.hardware import choose_precision, settle_machine
from mspgsen.training.logger import RunLogger, SilentLogger
from mspgsen.training.checkpoint import free_space_problem, state_bytes
from mspgsen.training.loop import train_loop
from mspgsen.training.rundir import RunDir, RunLock, existing_run_dir, new_run_dir
from mspgsen.training.seeding import seed_everything
from mspgsen.training.snapshot import resume_run
from mspgsen.training.state import TrainingState

DEFAULT_IMAGE_METRICS = ("fid", "is", "kid", "prc")
IMAGE_SAMPLES = 10_000  # generated images per image evaluation unless --n says otherwise

# Flags of `configure` and the config keys they set, and what may differ between a run and its
# resumption: both declared on the config's fields (config.setting).
FLAG_KEYS = {flag: key for key, flag in run_config_keys("flag").items()}
RESUMABLE_KEYS = set(run_config_keys("resumable"))


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    completed: bool  # False when a signal stopped the run early (it can be resumed)
    metrics: dict[str, Any] | None  # the final metrics (metrics.json): 2-D modes, or what images could get


def configure(config_file: str | Path | None = None, overrides: list[str] = (), base_run: str | Path | None = None,
              **flags: Any) -> RunConfig:
    """Resolve a RunConfig: family defaults < base run's config < config file < flags < `key=value` overrides."""
    unknown = set(flags) - set(FLAG_KEYS)
    if unknown:
        raise TypeError(f"unknown flags: {', '.join(sorted(unknown))}")
    sources = []
    if base_run is not None:
        sources.append(load_yaml(existing_run_dir(base_run).config))
    if config_file is not None:
        sources.append(load_yaml(config_file))
    flag_overrides = [f"{FLAG_KEYS[name]}={value}" for name, value in flags.items() if value is not None]
    return resolve(sources, [*flag_overrides, *overrides])


def train(config: RunConfig, resume: bool = False) -> TrainResult:
    """Train `config`; with `resume`, continue the run in `config.train.out` exactly where it stopped."""
    world, device_name = join_world(config.train.device)  # torchrun: this process's rank and GPU
    try:
        return _train(config, resume, world, resolve_device(device_name))
    finally:
        world.leave()


def _train(config: RunConfig, resume: bool, world: World, device: torch.device) -> TrainResult:
    family_class = FAMILIES.get(config.model.name)
    source = load_data(config.data)
    family = family_class(config.model, source.shape)
    family.check_batch(local_batch_size(config.train.batch_size, world))  # the global batch must split too
    if world.distributed and family.single_process_only:
        raise UserError(f"{family.name} trains in one process only: {family.single_process_only}. "
                        "Run it without torchrun.")
    # built before the run folder, so a missing weights file or classifier leaves nothing behind
    evaluator = PeriodicEvaluator(config, source, device) if config.train.eval_every and world.is_main else None
    controllers = build_controllers(config, family.default_controllers())  # may read another run
    if resume:
        if not config.train.out:
            raise UserError("--resume needs --out naming the run folder to continue.")
        run = existing_run_dir(config.train.out, need_checkpoint=True)
        _check_resumable(load_yaml(run.config), config)
        if not run.checkpoint.is_file():  # stopped before its first checkpoint: nothing to lose, start over
            if world.is_main:
                print(f"{run.path} has no checkpoint yet; training it from step 0", flush=True)
            resume = False
    else:  # rank 0 makes the folder (the next numbered one when --out is not given); the rest follow
        run = RunDir(Path(world.broadcast(
            str(new_run_dir(config.train.out, family.name, config.data.name).path) if world.is_main else None)))
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, out=str(run.path)))
    lock = RunLock(run).acquire() if world.is_main else None  # before anything in the folder is touched
    try:
        if world.is_main:
            run.remove_stale_partials()  # a killed writer's; never a live one's, which would hold the lock
        return _train_in(run, config, resume, world, device, family, source, evaluator, controllers)
    finally:
        if lock:
            lock.release()


def _train_in(run: RunDir, config: RunConfig, resume: bool, world: World, device: torch.device, family, source,
              evaluator, controllers) -> TrainResult:
    """Train in the run folder this process holds the lock of."""
    precision, machine = settle_machine(family, config, device)
    seed_everything(config.train.seed)
    stream = source.stream(config.train.batch_size, config.train.seed, device)
    if world.distributed:
        stream = ShardedStream(stream, world)
    state = TrainingState(family, config, device, stream, controllers, world)
    state.precision = precision
    if world.is_main:
        _check_free_space(run, state)
        save_yaml(config, run.config, notes=[choice for choice in machine])
    if evaluator:
        evaluator.run = run
    if resume:
        resume_run(state, run)
        if state.step >= config.train.steps:
            if world.is_main:
                print(f"{run.path} already finished its {state.step} steps; nothing to do. Raise --steps (e.g. "
                      f"--steps {2 * state.step}) to train it further.", flush=True)
            return TrainResult(run.path, state.step, True, None)
    if world.is_main:
        processes = f" x {world.size} processes" if world.distributed else ""
        fast = f" ({', '.join(state.fast_path)})" if state.fast_path else ""
        print(f"{'resuming' if resume else 'training'} {family.name} on {source.describe()} — "
              f"{config.train.steps} steps on {device}{processes}{fast} → {run.path}", flush=True)
        for line in machine:
            print(line, flush=True)
    logger = (RunLogger(run, config.train.steps, state.step, config.train.batch_size, config.train.progress,
                        config.train.time_limit > 0) if world.is_main else SilentLogger())
    if resume and world.is_main:
        dropped = f"; dropped {logger.dropped_rows} log row(s) written after it" if logger.dropped_rows else ""
        print(f"resuming from the checkpoint of step {state.step}{dropped}", flush=True)
    try:
        completed = train_loop(state, config, run, logger, lambda s: write_preview(s, run, source), evaluator)
    finally:
        logger.close()
    metrics = None
    if completed and world.is_main:
        trained_for, began = state.progress.elapsed(), time.perf_counter()
        metrics = finish_run(state, run, source, config)
        print(f"trained {state.step} steps in {trained_for:.0f}s; final samples, figures and metrics "
              f"{time.perf_counter() - began:.1f}s more (outside any time limit)", flush=True)
    return TrainResult(run.path, state.step, completed, metrics)


def sample(run_dir: str | Path, n: int, out: str | Path, seed: int = 0, device: str = "cpu") -> Path:
    """Write `n` samples of a run's generator (EMA when kept) to a .png grid or an .npz array."""
    out = Path(out)
    if out.suffix not in (".png", ".npz"):
        raise UserError(f"--out must end in .png (a grid or scatter plot) or .npz (an array), got {out.name!r}.")
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}.")
    torch_device = resolve_device(device)
    loaded = load_generator(existing_run_dir(run_dir), torch_device)
    samples = draw(loaded.family, loaded.generator, n, seed, torch_device,
                   _sampling_precision(loaded, torch_device), show_progress=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npz":
        _save_npz(samples, out)
    else:
        source = load_data(loaded.config.data) if loaded.shape.kind == "points" else None
        save_samples_figure(samples, out, source, f"{loaded.family.name}, step {loaded.step}, {n} samples")
    return out


def evaluate(run_dir: str | Path | None = None, samples: str | Path | None = None, num_samples: int | None = None,
             metrics: str | None = None, ref: str = "train", features: str = "inception", data: str | None = None,
             data_root: str | None = None, inception_weights: str | None = None, classifier: str | None = None, seed: int = 0,
             device: str = "cpu") -> dict[str, Any]:
    """Measure a run's generator (EMA when kept), or a file of samples made elsewhere.

    Point runs get the 2-D mode metrics; image runs FID, IS, KID and precision/recall on Inception
    (or, with features="classifier", labelled classifier) features, and Stacked MNIST modes.
    Results are also written to the run's metrics.json.
    """
    torch_device = resolve_device(device)
    if (run_dir is None) == (samples is None):
        raise UserError("give either --run DIR or --samples FILE.npz.")
    run = existing_run_dir(run_dir) if run_dir is not None else None
    loaded = load_generator(run, torch_device) if run else None
    if loaded and loaded.shape.kind == "points":
        return _evaluate_points(run, loaded, num_samples, seed, torch_device)
    data_config = loaded.config.data if loaded else DataConfig(name=data or ref, root=data_root)
    wanted = parse_metrics(metrics, DEFAULT_IMAGE_METRICS + (("modes",) if data_config.name == "stacked-mnist" else ()))
    count = num_samples or (STACKED_SAMPLES if "modes" in wanted else IMAGE_SAMPLES)
    def evaluator_for(size: tuple[int, int], channels: int) -> ImageEvaluator:
        return ImageEvaluator(wanted, features, data_config, ref, size, channels, torch_device, inception_weights,
                              classifier)

    if loaded:  # the evaluator first: missing weights or classifier are reported before any sampling
        evaluator = evaluator_for(loaded.shape.size, loaded.shape.channels)
        images = to_uint8(draw(loaded.family, loaded.generator, count, seed, torch_device,
                               _sampling_precision(loaded, torch_device), show_progress=True))
    else:
        images = load_sample_file(samples)
        evaluator = evaluator_for(tuple(images.shape[-2:]), images.shape[1])
    results: dict[str, Any] = {"samples": len(images)}
    if set(wanted) - {"modes"}:  # Stacked MNIST's mode count reads no reference set and no extractor's features
        results.update(reference=ref, features=features)
    results.update(evaluator(images))
    if run:
        write_metrics(run, {"images": {**results, "step": loaded.step, "generator": "ema" if loaded.ema else "raw"}})
    return results


def _sampling_precision(loaded, device: torch.device) -> str:
    """The precision the run's own setting gives on this device (bf16 on an AMX CPU for images)."""
    return choose_precision(loaded.config.train.precision, device, loaded.shape.kind).value


def _evaluate_points(run, loaded, num_samples, seed, device) -> dict[str, Any]:
    return record_point_metrics(run, loaded.family, loaded.generator, load_data(loaded.config.data),
                                device, num_samples or loaded.config.train.eval_samples, loaded.step, loaded.ema,
                                seed)


def train_classifier(data: str, data_root: str | None = None, epochs: int = 3, out: str | Path | None = None,
                     device: str = "auto", image_size: str | None = None) -> Path:
    """Train and save the classifier whose features `--features classifier` uses for `data`."""
    from mspgsen import classifier as classifiers

    config = DataConfig(name=data, root=data_root, image_size=image_size)
    trained = classifiers.train_classifier(config, epochs=epochs, device=resolve_device(device))
    return classifiers.save_classifier(trained, Path(out) if out else classifiers.default_path(data))


def models() -> list[dict[str, Any]]:
    """Every registered family with its aliases, summary and default config."""
    return [{"name": name, "aliases": FAMILIES.aliases_of(name), "summary": cls.summary,
             "defaults": dataclasses.asdict(cls.Config())} for name, cls in FAMILIES]


def datasets() -> list[dict[str, str]]:
    return [{"name": name, "description": entry.description} for name, entry in DATASETS]


def _check_free_space(run, state: TrainingState) -> None:
    """Known before the first step: room for a checkpoint, the previous one kept beside it, its
    temporary twin while it is written, and the snapshots (logs and sample grids are small next to these)."""
    checkpoint = state_bytes(state.state_dict())
    snapshot = state_bytes(state.sampling_generator().state_dict())
    problem = free_space_problem(run.path, 3 * checkpoint + 4 * snapshot + 16 * 2**20)
    if problem:
        raise UserError(problem)


def _check_resumable(saved: dict[str, Any], config: RunConfig) -> None:
    before, after = _flat(resolve([saved]).to_dict()), _flat(config.to_dict())
    changed = [key for key in after if key not in RESUMABLE_KEYS and before.get(key) != after[key]]
    if changed:
        key = changed[0]
        raise UserError(f"cannot change {key} when resuming (the run has {before.get(key)!r}, got {after[key]!r}); "
                        f"only {', '.join(sorted(RESUMABLE_KEYS))} may change. Start a new run instead.")


def _flat(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _save_npz(samples: torch.Tensor, out: Path) -> None:
    if samples.dim() == 2:
        np.savez(out, points=samples.numpy().astype(np.float32))
        return
    np.savez(out, images=to_uint8(samples).permute(0, 2, 3, 1).numpy())
