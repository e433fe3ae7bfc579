"""The one training loop. It knows phases, knobs and controllers; it never knows the family."""
from __future__ import annotations

from typing import Callable

import torch

from mspgsen.config import RunConfig
from mspgsen.contracts import Phase, StepContext
from mspgsen.nn.spectral_norm import power_iterations
from mspgsen.training.device import autocast
from mspgsen.training.distributed import phase_view
from mspgsen.training.guard import DivergenceGuard, KNOB
from mspgsen.training.interrupt import GracefulStop
from mspgsen.training.logger import RunLogger
from mspgsen.support.rundir import RunDir
from mspgsen.training.snapshot import save_run
from mspgsen.training.state import TrainingState


def train_loop(state: TrainingState, config: RunConfig, run: RunDir, logger: RunLogger,
               on_sample: Callable[[TrainingState], None],
               on_eval: Callable[[TrainingState], dict[str, float]] | None = None) -> bool:
    """Train up to `config.train.steps`; False when a signal stopped it early (after a checkpoint)."""
    train, world = config.train, state.world
    phases = state.family.phases()
    ctx = state.step_context()
    progress = state.progress
    progress.start()
    guard = DivergenceGuard(train.nan_lr_factor, train.max_rollbacks)
    guard.remember(state)
    stopping = False
    with GracefulStop() as stop:
        while state.step < train.steps:
            # agreed by every process, so all leave after the same step
            # out of time: this step is the last that ends within the time limit
            stopping, out_of_time = world.any(stop.requested, progress.last_step_due())
            if stopping:
                break
            run_step(state, phases, ctx, state.precision)
            state.step += 1
            if state.ema:
                state.ema.update(state.step, state.knobs.ema_decay)
            logger.advance()
            last = state.step == train.steps or out_of_time
            if last and state.step < train.steps:
                logger.event(state.step, f"time limit of {train.time_limit:g}s reached after "
                                         f"{progress.elapsed():.0f}s of training")
            checkpoint_due = _due(state.step, train.checkpoint_every, last)
            if _due(state.step, train.log_every, last):
                # A last step off the tick grid is logged without closing the window, so a run
                # resumed from here sees the same ticks (and controllers act alike) as a straight one.
                regular = state.step % train.log_every == 0
                if not tick(state, logger, guard, regular):
                    _roll_back(state, guard, logger, run)
                    continue
                if regular:
                    guard.remember(state)
            elif checkpoint_due and not guard.healthy(state):  # never write a diverged state to disk
                _roll_back(state, guard, logger, run)
                continue
            if world.is_main and _due(state.step, train.sample_every, last):
                on_sample(state)
            if on_eval and train.eval_every and _due(state.step, train.eval_every, last):
                state.latest_metrics = world.broadcast(on_eval(state) if world.is_main else None)
                logger.log_metrics(state.step, state.latest_metrics)
            if checkpoint_due and world.is_main:
                save_run(state, run, config)
            progress.mark_step()
            if last:
                break
        if stopping:
            if world.is_main:
                save_run(state, run, config)
            logger.event(state.step, f"stopped by signal; checkpoint saved in {run.path}")
    return not stopping


def run_step(state: TrainingState, phases: list[Phase], ctx: StepContext, precision: str) -> None:
    knobs = state.knobs
    ctx.step = state.step
    for phase in phases:
        phase_ctx = phase_view(ctx, phase.trains, state.nets, state.wrapped)
        optimizer = state.optimizers[phase.optimizer]
        for group in optimizer.param_groups:
            group["lr"] = knobs.lr(phase.optimizer, state.base_lrs[phase.optimizer]) * group.get("lr_ratio", 1.0)
        for name, parameters in state.parameters.items():  # the lists, not Module.requires_grad_'s tree walk
            trains = name in phase.trains
            for parameter in parameters:
                parameter.requires_grad_(trains)
        for _ in range(knobs.repeats.get(phase.name, 1)):
            optimizer.zero_grad(set_to_none=True)
            with autocast(state.device, precision):
                terms = phase.compute(phase_ctx)
            sum(knobs.weight(name) * term.float() for name, term in terms.items()).backward()
            ctx.report(f"grad/{phase.name}", gradient_norm(optimizer))
            if len(phase.trains) > 1:  # each network's share (D and D_aux in mspgsen's D phase)
                for name in (n for n in phase.trains if n in state.nets):
                    ctx.report(f"grad/net/{name}", network_gradient_norm(state.nets[name]))
            optimizer.step()
            for name in (n for n in phase.trains if n in state.nets):  # spectral norm's power iteration: once per update
                for step, weight in state.spectral_norms[name]:
                    step.power_iteration(weight)
            if phase.after_step:
                phase.after_step(phase_ctx)
            for name, term in terms.items():
                ctx.report(name, term)


def tick(state: TrainingState, logger: RunLogger, guard: DivergenceGuard | None = None, regular: bool = True) -> bool:
    """Collect the tick's indicators, let controllers act on them, log both; False (and nothing
    acted on or logged) when the guard finds a NaN or Inf."""
    indicators = state.stats.collect(reset=regular)
    if guard and not guard.healthy(state, indicators):
        return False
    indicators.update({f"lr/{name}": state.knobs.lr(name, lr) for name, lr in state.base_lrs.items()})
    indicators.update({f"eval/{name}": value for name, value in state.latest_metrics.items()})
    indicators["progress"] = state.progress.fraction(state.step)  # what every schedule reads
    if regular:
        indicators.update(state.trends.update(indicators))
    for controller in state.controllers if regular else ():
        actions = controller.act(state.step, indicators, state.knobs)
        if actions:
            logger.log_actions(state.step, controller.name, actions)
        indicators.update({f"{controller.name}/{key}": value for key, value in actions.items()})
    logger.log(state.step, indicators)
    return True


def _roll_back(state: TrainingState, guard: DivergenceGuard, logger: RunLogger, run: RunDir) -> None:
    action = guard.roll_back(state, run.checkpoint if run.checkpoint.is_file() else None)
    logger.log_actions(int(action["failed_at"]), KNOB, action)
    logger.event(int(action["failed_at"]), f"NaN/Inf found: rolled back to step {state.step}, learning rates "
                                           f"now x{action['lr_factor']:g}")
    logger.rewind(state.step)


def gradient_norm(optimizer) -> torch.Tensor:
    """The L2 norm of all gradients an optimiser is about to apply (stays on the device)."""
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def network_gradient_norm(network: torch.nn.Module) -> torch.Tensor:
    grads = [p.grad for p in network.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def _due(step: int, every: int, last: bool) -> bool:
    return last or step % every == 0
