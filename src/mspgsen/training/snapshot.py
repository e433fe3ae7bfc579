"""The two kinds of save: a resume checkpoint (everything) and a sampling snapshot (G + config)."""
from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any

from safetensors.torch import save_file

from mspgsen.config import RunConfig
from mspgsen.contracts import DataShape
from mspgsen.errors import UserError
from mspgsen.support.checkpoint import (DamagedCheckpoint, atomic_write, load_state, metadata_checksum, read_metadata,
                                         save_state, short_reason, tensor_checksum, verified_tensors)
from mspgsen.training.logger import DISK_ERRNOS
from mspgsen.support.rundir import RunDir
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
                "step": str(state.step), "ema": str(state.ema is not None), "checksum": str(tensor_checksum(tensors))}
    metadata["metadata_checksum"] = str(metadata_checksum(metadata))
    atomic_write(path, lambda temporary: save_file(tensors, str(temporary), metadata=metadata))


def resume_run(state: TrainingState, run: RunDir) -> None:
    """Load the run's checkpoint into `state`. A latest checkpoint that is missing, damaged or does
    not fit the run's networks gives way to the one before it, saying so; when neither can be
    used, the message names each file and why, and what can still be done."""
    problems = []
    for path in (run.checkpoint, run.previous_checkpoint):
        if not path.is_file():
            problems.append(f"{path.name} is missing")
            continue
        try:
            saved = load_state(path, state.device)
            state.load_state_dict(saved)
        except DamagedCheckpoint as err:
            problems.append(str(err))
            continue
        except (KeyError, RuntimeError, ValueError) as err:  # a state that does not fit: torch's load_state_dict
            problems.append(f"{path} does not fit this run's networks ({short_reason(err)})")
            continue
        if problems:
            print(f"warning: {'; '.join(problems)}. Resuming from {path.name} (step {int(saved['step'])}) instead.",
                  flush=True)
        state.load_controller_states(saved.get("controllers", {}))
        state.progress.load_state_dict(saved.get("progress", {}))
        return
    raise UserError(f"the run in {run.path} cannot be resumed: {'; '.join(problems)}. "
                    + (f"Its trained generator is still in {run.snapshot.name}: sample from it with `mspgsen sample "
                       f"--run {run.path}`. " if run.snapshot.is_file() else "")
                    + "To train again, choose another --out (or delete the folder).")


@contextlib.contextmanager
def disk_errors_stop_the_run(run: RunDir, state: TrainingState):
    """Any writer of the run (TensorBoard's thread, stats, sample grids, figures) that finds the
    disk full or failing stops the run with one line naming the disk and the last good checkpoint,
    which no failed write touches (checkpoints are written aside and renamed)."""
    try:
        yield
    except OSError as err:
        if err.errno not in DISK_ERRNOS:
            raise
        raise UserError(f"could not write to {run.path} at step {state.step} ({err.strerror or err}); training "
                        f"stopped. {_last_checkpoint(run)} Free some space (or fix the disk), then continue with "
                        f"`mspgsen train --resume --out {run.path}`.") from None


def _last_checkpoint(run: RunDir) -> str:
    for path in (run.checkpoint, run.previous_checkpoint):
        try:
            step = json.loads(read_metadata(path).get("info", "{}")).get("step")
        except UserError:
            continue
        return f"The last checkpoint, {path} (step {step}), is intact."
    return "No checkpoint had been written yet."


def load_snapshot(run: RunDir) -> tuple[DataShape, dict[str, Any], dict[str, str]]:
    """The data shape, generator weights and metadata saved by `save_run`."""
    metadata = read_metadata(run.snapshot)
    try:
        weights = verified_tensors(run.snapshot, metadata)
    except DamagedCheckpoint as err:
        raise DamagedCheckpoint(f"{err}{_rewrite_hint(run)}") from None
    shape = json.loads(metadata["shape"])
    shape = DataShape(shape["kind"], tuple(shape["dims"]), shape["num_classes"], shape.get("samples", 0))
    return shape, weights, metadata


def _rewrite_hint(run: RunDir) -> str:
    return (f" The run's {run.checkpoint.name} is kept: resuming it for more steps (`mspgsen train --resume --out "
            f"{run.path} --steps N`) writes a new one." if run.checkpoint.is_file() else "")
