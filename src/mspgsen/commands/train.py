"""`mspgsen train`: resolve a run's config, make (or reopen) its folder, build its state and run the loop.

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
from typing import Any, Callable

import torch

from mspgsen.commands.warm_start import warm_start_from
from mspgsen.config import RunConfig, dotted_items, load_yaml, save_yaml
from mspgsen.config.flags import as_sources, config_flags
from mspgsen.controllers import build_controllers
from mspgsen.data import load_data
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES
from mspgsen.report.outputs import finish_run, write_preview, write_report_page
from mspgsen.report.periodic import PeriodicEvaluator
from mspgsen.resolve import resolve, run_config_keys
from mspgsen.support.checkpoint import short_reason, state_bytes
from mspgsen.training.device import resolve_device
from mspgsen.training.disk_budget import disk_budget, free_space_problem
from mspgsen.training.distributed import ShardedStream, World, join_world, local_batch_size
from mspgsen.training.hardware import settle_machine
from mspgsen.training.logger import RunLogger, SilentLogger
from mspgsen.training.loop import train_loop
from mspgsen.training.memory import check_step_fits
from mspgsen.support.rundir import RunDir, RunLock, existing_run_dir, new_run_dir
from mspgsen.training.seeding import seed_everything
from mspgsen.training.snapshot import disk_errors_stop_the_run, resume_run
from mspgsen.training.state import TrainingState

# Flags of `configure` and the config keys they set, and what may differ between a run and its
# resumption: both declared on the config's fields (config.setting, config/flags.py).
FLAG_KEYS = {flag.name: flag.key for flag in config_flags()}
RESUMABLE_KEYS = set(run_config_keys("resumable"))


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    completed: bool  # False when a signal stopped the run early (it can be resumed)
    metrics: dict[str, Any] | None  # the final metrics (metrics.json): 2-D modes, or what images could get


def configure(config_file: str | Path | None = None, overrides: list[str] = (), base_run: str | Path | None = None,
              **flags: Any) -> RunConfig:
    """Resolve a RunConfig: family defaults < base run's config < config file < flags < `key=value` overrides.
    Flags are typed values (`steps=2000`), read as the fields' types."""
    unknown = set(flags) - set(FLAG_KEYS)
    if unknown:
        raise TypeError(f"unknown flags: {', '.join(sorted(unknown))}")
    sources = []
    if base_run is not None:
        sources.append(load_yaml(existing_run_dir(base_run).config))
    if config_file is not None:
        sources.append(load_yaml(config_file))
    return resolve([*sources, as_sources(flags)], list(overrides))


def train(config: RunConfig, resume: bool = False, start: Callable[[TrainingState], None] | None = None
          ) -> TrainResult:
    """Train `config`; with `resume`, continue the run in `config.train.out` exactly where it stopped.
    `start` prepares a new run's state before its first step (`mspgsen repair` loads another run's weights)."""
    world, device_name = join_world(config.train.device)  # torchrun: this process's rank and GPU
    try:
        return _train(config, resume, world, resolve_device(device_name), start)
    finally:
        world.leave()


def _train(config: RunConfig, resume: bool, world: World, device: torch.device,
           start: Callable[[TrainingState], None] | None = None) -> TrainResult:
    family_class = FAMILIES.get(config.model.name)
    source = load_data(config.data)
    family = family_class(config.model, source.shape)
    batch_size = local_batch_size(config.train.batch_size, world)
    family.check_batch(batch_size)  # the global batch must split too
    if world.distributed and family.single_process_only:
        raise UserError(f"{family.name} trains in one process only: {family.single_process_only}. "
                        "Run it without torchrun.")
    # before the run folder, so an impossible size, a missing weights file or classifier leaves nothing behind
    check_step_fits(family, config, source, device, config.train.precision, batch_size)
    evaluator = PeriodicEvaluator(config, source, device) if config.train.eval_every and world.is_main else None
    controllers = build_controllers(config, family)  # may read another run
    if config.train.init_from and not resume:
        if start:
            raise UserError("train.init_from cannot be combined with a run that starts from weights of its own "
                            "(mspgsen repair); leave it out.")
        start = warm_start_from(config.train.init_from, family.name)
    made_here = False  # a folder this call made, removed again if it stops before its first step
    if resume:
        if not config.train.out:
            raise UserError("--resume needs --out naming the run folder to continue.")
        run = existing_run_dir(config.train.out, need_checkpoint=True)
        _check_resumable(load_yaml(run.config), config)
        if not run.checkpoint.is_file() and not run.previous_checkpoint.is_file():  # stopped before its first: start over
            if world.is_main:
                print(f"{run.path} has no checkpoint yet; training it from step 0", flush=True)
            resume = False
    else:  # rank 0 makes the folder (the next numbered one when --out is not given); the rest follow
        made_here = not (config.train.out and Path(config.train.out).exists())
        run = RunDir(Path(world.broadcast(
            str(new_run_dir(config.train.out, family.name, config.data.name).path) if world.is_main else None)))
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, out=str(run.path)))
    lock = RunLock(run).acquire() if world.is_main else None  # before anything in the folder is touched
    try:
        if world.is_main:
            run.remove_stale_partials()  # a killed writer's; never a live one's, which would hold the lock
        return _train_in(run, config, resume, world, device, family, source, evaluator, controllers, start)
    except BaseException as err:
        if lock:
            lock.release()
            lock = None
            if not resume and made_here:
                run.remove_if_untrained()  # an error before the first step leaves no folder behind
        if _out_of_memory(err):
            raise UserError(f"not enough memory on {device} for a step at batch size {config.train.batch_size} "
                            f"({short_reason(err)}); lower --batch-size (or --image-size).") from None
        raise
    finally:
        if lock:
            lock.release()


def _train_in(run: RunDir, config: RunConfig, resume: bool, world: World, device: torch.device, family, source,
              evaluator, controllers, start: Callable[[TrainingState], None] | None = None) -> TrainResult:
    """Train in the run folder this process holds the lock of."""
    precision, machine = settle_machine(family, config, device)
    seed_everything(config.train.seed)
    stream = source.stream(config.train.batch_size, config.train.seed, device)
    if world.distributed:
        stream = ShardedStream(stream, world)
    state = TrainingState(family, config, device, stream, controllers, world)
    state.precision = precision
    if world.is_main:
        _check_free_space(run, state, config)
        save_yaml(config, run.config, notes=[choice for choice in machine])
    if evaluator:
        evaluator.run = run
    if start and not resume:
        start(state)
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
    with disk_errors_stop_the_run(run, state):
        try:
            completed = train_loop(state, config, run, logger, lambda s: write_preview(s, run, source), evaluator)
        finally:
            logger.close()
        metrics = None
        if completed and world.is_main:
            trained_for, began = state.progress.elapsed(), time.perf_counter()
            metrics = finish_run(state, run, source, config)
            if config.train.report:
                write_report_page(run)
            print(f"trained {state.step} steps in {trained_for:.0f}s; final samples, figures and metrics "
                  f"{time.perf_counter() - began:.1f}s more (outside any time limit)", flush=True)
    return TrainResult(run.path, state.step, completed, metrics)


def _out_of_memory(err: BaseException) -> bool:
    """An allocation that failed: CUDA's OutOfMemoryError, or the CPU allocator's RuntimeError."""
    return isinstance(err, torch.OutOfMemoryError) or (
        isinstance(err, RuntimeError) and "can't allocate memory" in str(err))


def _check_free_space(run, state: TrainingState, config: RunConfig) -> None:
    """Known before the first step: room for what the run will write (training/disk_budget.py)."""
    budget = disk_budget(state_bytes(state.state_dict()), state_bytes(state.sampling_generator().state_dict()),
                         state.shape, config)
    problem = free_space_problem(run.path, budget)
    if problem:
        raise UserError(problem)


def _check_resumable(saved: dict[str, Any], config: RunConfig) -> None:
    before, after = dotted_items(resolve([saved]).to_dict()), dotted_items(config.to_dict())
    changed = [key for key in after if key not in RESUMABLE_KEYS and before.get(key) != after[key]]
    if changed:
        key = changed[0]
        raise UserError(f"cannot change {key} when resuming (the run has {before.get(key)!r}, got {after[key]!r}); "
                        f"only {', '.join(sorted(RESUMABLE_KEYS))} may change. Start a new run instead.")

