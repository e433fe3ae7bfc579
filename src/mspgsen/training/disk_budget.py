"""How much disk a run will write, known before its first step, and the check against what is free.

Measured on finished runs (2026-12-07, docs/reliability.md): the checkpoint file is its tensors'
bytes plus a header of a few KiB; at its peak the folder holds the latest checkpoint, the previous
one and the temporary twin being written, and the generator snapshot with its own twin. Each logged
tick adds 1.2 KiB to stats.jsonl, 1.7 KiB to TensorBoard and under 0.1 KiB to controller.jsonl;
each preview is a PNG of 45-90 KiB (a 2-D scatter or an 8×8 grid of small images).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mspgsen.config import RunConfig
from mspgsen.contracts import DataShape

HEADER_BYTES = 64 * 2**10  # a safetensors header with the run's metadata, rounded up
BYTES_PER_LOGGED_TICK = 4 * 2**10  # stats.jsonl, TensorBoard and controller.jsonl (3 KiB measured)
BYTES_PER_POINTS_PREVIEW = 128 * 2**10  # a 2500-point scatter plot (measured 45-70 KiB)
FINAL_OUTPUTS = 2**20  # samples.png, training_curves.png, metrics.json, the report page
PREVIEW_IMAGES = 64  # images in a preview grid (report/outputs.py draws this many)
STEPS_COUNTED = 100_000  # logs of a longer (or time-limited) run are counted for its first this many steps
MARGIN = 0.25


@dataclass(frozen=True)
class DiskBudget:
    checkpoints: int  # latest + previous + the one being written, and the generator snapshot twice
    logs: int  # ticks logged and previews drawn in the first `steps_counted` steps, and the final outputs
    steps_counted: int

    @property
    def needed(self) -> int:
        return int((self.checkpoints + self.logs) * (1 + MARGIN))


def disk_budget(checkpoint_tensor_bytes: int, snapshot_tensor_bytes: int, shape: DataShape,
                config: RunConfig) -> DiskBudget:
    train = config.train
    steps = min(train.steps, STEPS_COUNTED)
    checkpoints = 3 * (checkpoint_tensor_bytes + HEADER_BYTES) + 2 * (snapshot_tensor_bytes + HEADER_BYTES)
    ticks = steps // train.log_every if train.log_every else 0
    previews = steps // train.sample_every if train.sample_every else 0
    if shape.kind == "points":
        preview = BYTES_PER_POINTS_PREVIEW
    else:  # a PNG of pixels that barely compress (noise early in training) is about its raw size
        height, width = shape.size
        preview = PREVIEW_IMAGES * shape.channels * height * width + 64 * 2**10
    return DiskBudget(checkpoints, ticks * BYTES_PER_LOGGED_TICK + previews * preview + FINAL_OUTPUTS, steps)


def free_space_problem(folder: Path, budget: DiskBudget) -> str | None:
    """Why `folder` cannot take what the run will write, or None when it can."""
    free = shutil.disk_usage(folder).free
    if free >= budget.needed:
        return None
    return (f"only {_mib(free)} free in {folder}, but the run needs about {_mib(budget.needed)}: checkpoints "
            f"{_mib(budget.checkpoints)}, logs and sample grids of its first {budget.steps_counted} steps "
            f"{_mib(budget.logs)}, and a {MARGIN:.0%} margin; free some space or choose another --out.")


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size < 10 * 2**20 else f"{size / 2**20:.0f} MiB"
