"""Run folders: one per run, holding its config, checkpoints, logs, samples and metrics."""
from __future__ import annotations

import fcntl
import os
import shutil
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from mspgsen.errors import UserError

DEFAULT_RUNS_ROOT = "runs"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoint(self) -> Path:  # everything needed to resume exactly
        return self.path / "checkpoint.safetensors"

    @property
    def previous_checkpoint(self) -> Path:  # the one before, kept in case the latest is found damaged
        return self.path / "checkpoint.previous.safetensors"

    @property
    def snapshot(self) -> Path:  # the sampling generator (EMA when there is one) and its config
        return self.path / "generator.safetensors"

    @property
    def best_snapshot(self) -> Path:  # the generator at its best periodic evaluation
        return self.path / "best.safetensors"

    @property
    def metrics_log(self) -> Path:  # one line per periodic evaluation
        return self.path / "metrics.jsonl"

    @property
    def controller_log(self) -> Path:  # one line per controller action
        return self.path / "controller.jsonl"

    @property
    def stats(self) -> Path:
        return self.path / "stats.jsonl"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def lock_file(self) -> Path:  # held (flock) by the one process training the run
        return self.path / ".lock"

    def remove_if_untrained(self) -> bool:
        """Remove the folder of a new run that stopped before its first logged step (nothing in it
        but what a start writes: the config, the lock, an empty TensorBoard folder); True when gone."""
        if (self.checkpoint.exists() or self.previous_checkpoint.exists() or self.snapshot.exists()
                or (self.stats.exists() and self.stats.stat().st_size)):
            return False
        # the logger opens stats.jsonl and TensorBoard's file (a header, no scalar yet) before the first step
        expected = {self.config.name, self.lock_file.name, self.tensorboard.name, self.stats.name}
        if any(p.name not in expected for p in self.path.iterdir()):
            return False
        shutil.rmtree(self.path, ignore_errors=True)
        return True

    def remove_stale_partials(self) -> list[Path]:
        """Temporary files of writes a crash (kill -9, power loss) cut off; the real files are intact."""
        stale = list(self.path.glob(".*.partial-*"))
        for path in stale:
            path.unlink(missing_ok=True)
        return stale


def new_run_dir(out: str | None, model: str, data: str) -> RunDir:
    """A fresh run folder: `out` when given (it must not hold a run), else the next runs/NNNNN-…."""
    path = Path(out) if out else _next_numbered(Path(DEFAULT_RUNS_ROOT), f"{model}-{_slug(data)}")
    run = RunDir(path)
    _refuse_generator_without_checkpoint(run)
    if run.checkpoint.exists() or run.config.exists():
        raise UserError(f"{path} already holds a run; pass --resume to continue it, or choose another --out.")
    _make_writable(path)
    return run


def existing_run_dir(path: str | Path, need_checkpoint: bool = False) -> RunDir:
    run = RunDir(Path(path))
    if not run.config.is_file():
        raise UserError(f"{run.path} is not a run folder (no config.yaml); give the folder a training run wrote.")
    if need_checkpoint:
        _refuse_generator_without_checkpoint(run)
    return run


def _refuse_generator_without_checkpoint(run: RunDir) -> None:
    """A folder with a trained generator but no checkpoint can be neither resumed nor overwritten
    without losing that generator: the same way out, with --resume or without."""
    if (run.config.is_file() and run.snapshot.is_file() and not run.checkpoint.is_file()
            and not run.previous_checkpoint.is_file()):
        raise UserError(f"{run.path} holds a trained generator ({run.snapshot.name}) but no {run.checkpoint.name} "
                        f"to resume from. Keep it and train into another --out (sample from it with `mspgsen "
                        f"sample --run {run.path}`), or delete the folder to train it again from step 0.")


def _next_numbered(root: Path, label: str) -> Path:
    numbers = [int(m.group(1)) for p in root.glob("*") if (m := re.match(r"(\d{5})-", p.name))]
    return root / f"{max(numbers, default=-1) + 1:05d}-{label}"


def _slug(text: str) -> str:
    """A data set's name, or the last two parts of a data path (`…/cifar10/test` → `cifar10-test`),
    so that runs on sibling folders called `test` or `train` can be told apart."""
    parts = [part for part in Path(text).parts if part not in ("/", ".", "..")][-2:]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts) or text).strip("_") or "data"


def _make_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise UserError(f"cannot write to the run folder {path} ({err.strerror}); choose a writable --out.") from None


class RunLock:
    """One writer per run folder: an exclusive `flock` on RUN/.lock, held while a process trains.

    The kernel drops the lock when its process ends, however it ends (kill -9 included), so a
    lock left behind by a dead process never blocks a resume; the file only says who held it."""

    def __init__(self, run: RunDir):
        self.run = run
        self.handle = None

    def acquire(self) -> "RunLock":
        handle = open(self.run.lock_file, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UserError(f"{self.run.path} is being trained by {holder}; two writers would interleave its "
                            "checkpoints and logs. Wait for it to finish, or stop it (Ctrl-C or kill PID), "
                            "then --resume.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        self.handle = handle
        return self

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
