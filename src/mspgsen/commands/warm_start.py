"""`train.init_from`: a new run whose networks start from another run's trained weights.

Only the weights come over (every network, and the EMA generator where both runs keep one):
the new run has fresh optimisers, starts at step 0 and follows its own schedules and controllers.
That is fine-tuning, and the like-for-like control of `mspgsen repair` (the same restart
without the partitions: benchmarks/collapse_repair.py's `restarted` arm). The two runs must build
the same networks: the same family, with the same model settings.
"""
from __future__ import annotations

from typing import Callable

from mspgsen.errors import UserError
from mspgsen.sampling import load_networks
from mspgsen.support.rundir import existing_run_dir
from mspgsen.training.state import TrainingState


def warm_start_from(source: str, family: str) -> Callable[[TrainingState], None]:
    """Read `source`'s checkpoint now (a bad folder or another family fails before the new run's
    folder exists); the returned function loads it into a new run's state before its first step."""
    base = load_networks(existing_run_dir(source, need_checkpoint=True))
    if base.family.name != family:
        raise UserError(f"train.init_from {source!r} is a {base.family.name} run; this run is {family}. Start from "
                        "a run of the same family (or, for a partition-conditioned one, `mspgsen repair --run RUN`).")
    weights, ema = base.saved["nets"], base.saved.get("ema") or {}

    def start(state: TrainingState) -> None:
        mismatch = _first_mismatch(state.nets.state_dict(), weights)
        if mismatch:
            raise UserError(f"train.init_from {source!r}: its networks differ from this run's ({mismatch}); "
                            "give this run the same model settings as that one (`--set model.KEY=VALUE`).")
        state.nets.load_state_dict(weights)
        if state.ema:  # the base run's average where it kept one, else its generator
            state.ema.model.load_state_dict(ema or state.nets[state.family.generator_key].state_dict())
        print(f"starting from the weights of {source} (its step {base.step}); fresh optimisers", flush=True)

    return start


def _first_mismatch(own: dict, theirs: dict) -> str | None:
    for name, tensor in own.items():
        if name not in theirs:
            return f"{name} is missing there"
        if tuple(theirs[name].shape) != tuple(tensor.shape):
            return f"{name} is {tuple(theirs[name].shape)} there, {tuple(tensor.shape)} here"
    extra = next((name for name in theirs if name not in own), None)
    return f"{extra} is there, not here" if extra else None
