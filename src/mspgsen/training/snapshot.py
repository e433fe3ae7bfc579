"""The two kinds of save: a resume checkpoint (everything) and a sampling snapshot (G + config)."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from safetensors.torch import load_file, save_file

from mspgsen.config import RunConfig
from mspgsen.contracts import DataShape
from mspgsen.errors import UserError
from mspgsen.training.checkpoint import DamagedCheckpoint, atomic_write, load_state, read_metadata, save_state
from mspgsen.training.rundir import RunDir
from mspgsen.training.state import TrainingState


def save_run(state: TrainingState, run: RunDir, config: RunConfig) -> None:
    info = {"step": state.step}
    # training time goes in the checkpoint but not in state_dict: a divergence rollback restores
    # the weights, never the clock
    save_state(run.checkpoint, {**state.state_dict(), "controllers": state.controller_states(),
                                "progress": state.progress.state_dict()}, info, keep_previous=run.previous_checkpoint)
    save_snapshot(state, run.snapshot, config)


def save_snapshot(state: TrainingState, path, config: RunConfig) -> None:
    """The sampling generator (EMA when kept) with the config and data shape in its metadata."""
    generator = state.sampling_generator()
    tensors = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    metadata = {"config": json.dumps(config.to_dict()), "shape": json.dumps(dataclasses.asdict(state.shape)),
                "step": str(state.step), "ema": str(state.ema is not None)}
    atomic_write(path, lambda temporary: save_file(tensors, str(temporary), metadata=metadata))


def resume_run(state: TrainingState, run: RunDir) -> None:
    """Load the run's checkpoint into `state`; a damaged latest one gives way to the one before it,
    with a warning."""
    try:
        saved = load_state(run.checkpoint, state.device)
    except DamagedCheckpoint as err:
        if not run.previous_checkpoint.is_file():
            raise UserError(f"{err} No earlier checkpoint is kept in {run.path}; the run cannot be resumed. "
                            "Start a new run, or sample from its generator.safetensors.") from None
        saved = load_state(run.previous_checkpoint, state.device)
        print(f"warning: {err} Resuming from the previous checkpoint (step {int(saved['step'])}) instead.",
              flush=True)
    state.load_state_dict(saved)
    state.load_controller_states(saved.get("controllers", {}))
    state.progress.load_state_dict(saved.get("progress", {}))


def load_snapshot(run: RunDir) -> tuple[DataShape, dict[str, Any], dict[str, str]]:
    """The data shape, generator weights and metadata saved by `save_run`."""
    metadata = read_metadata(run.snapshot)
    shape = json.loads(metadata["shape"])
    shape = DataShape(shape["kind"], tuple(shape["dims"]), shape["num_classes"], shape.get("samples", 0))
    return shape, load_file(str(run.snapshot)), metadata
