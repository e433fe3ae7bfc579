"""Fault injection for the reliability suite: kill -9 a training process at chosen moments
(after a given step, or in the middle of a checkpoint write), resume it, and check what was lost.

Used by `tests/test_faults.py` and `benchmarks/faults.py`; test support, not part of the package
(it patches the loop). A training process under test is started as
`python tests/support/faults.py child [--slow-checkpoint S] -- <mspgsen train args>`; the
option holds every checkpoint write open for S seconds before its rename, so a kill can land
inside one on purpose rather than by luck.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

POLL_SECONDS = 0.01


@dataclass
class Kill:
    """One kill -9: when it landed, what the checkpoint on disk held after it, and the steps lost."""

    moment: str  # "after step N" or "during checkpoint write"
    last_logged_step: int  # the last step stats.jsonl shows before the kill (the run got at least this far)
    checkpoint_step: int  # the step of the checkpoint left on disk
    loadable: bool
    exit_code: int = -signal.SIGKILL

    @property
    def lost(self) -> int:
        return max(0, self.last_logged_step - self.checkpoint_step)


def child_command(train_args: list[str], slow_checkpoint: float = 0.0) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "child", "--slow-checkpoint", str(slow_checkpoint), "--",
            *train_args]


def run_to_end(train_args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(child_command(train_args), env=env, capture_output=True, text=True, check=False)


def kill_when(train_args: list[str], run_dir: Path, moment: str, ready: Callable[[Path], bool],
              env: dict[str, str] | None = None, slow_checkpoint: float = 0.0, timeout: float = 300.0,
              sig: int = signal.SIGKILL) -> Kill | None:
    """Start training, send it `sig` (kill -9 by default) once `ready(run_dir)` holds, and wait
    for it to end; None when it finished first."""
    errors = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty child never blocks on it
    process = subprocess.Popen(child_command(train_args, slow_checkpoint), env=env, stdout=subprocess.DEVNULL,
                               stderr=errors, text=True)
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and not ready(run_dir):
            if time.monotonic() > deadline:
                raise TimeoutError(f"training did not reach {moment!r} in {timeout:g}s")
            time.sleep(POLL_SECONDS)
        if process.poll() is not None:
            if process.returncode != 0:
                errors.seek(0)
                raise RuntimeError(f"training failed before {moment!r}:\n{errors.read()}")
            return None
        process.send_signal(sig)
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
        errors.close()
    return Kill(moment, last_logged_step(run_dir), *checkpoint_on_disk(run_dir), process.returncode)


@contextlib.contextmanager
def nan_gradients(at_steps: set[int], once: bool = True):
    """While open, G's gradients are NaN in the training steps of `at_steps` (the 0-based step
    about to run), in this process. With `once` the fault is transient: a step replayed after a
    rollback runs clean. Yields the list of steps it hit."""
    from mspgsen.training import loop

    real_run_step, hit = loop.run_step, []

    def run_step(state, phases, ctx, precision):
        hooks = []
        if state.step in at_steps and not (once and state.step in hit):
            hit.append(state.step)
            hooks = [p.register_hook(lambda g: g * float("nan")) for p in state.nets["G"].parameters()]
        try:
            real_run_step(state, phases, ctx, precision)
        finally:
            for hook in hooks:
                hook.remove()

    loop.run_step = run_step
    try:
        yield hit
    finally:
        loop.run_step = real_run_step


def after_step(step: int) -> Callable[[Path], bool]:
    return lambda run_dir: last_logged_step(run_dir) >= step


def during_checkpoint_write(run_dir: Path) -> bool:
    return any(run_dir.glob(".checkpoint.safetensors.partial-*"))


def last_logged_step(run_dir: Path) -> int:
    path = run_dir / "stats.jsonl"
    if not path.is_file():
        return 0
    from mspgsen.training.logger import row_step

    return max((row_step(line) or 0 for line in path.read_text().splitlines()), default=0)


def checkpoint_on_disk(run_dir: Path) -> tuple[int, bool]:
    """(step, loadable) of the run's checkpoint; (0, True) when none was written yet."""
    from mspgsen.errors import UserError
    from mspgsen.support.checkpoint import load_state

    path = run_dir / "checkpoint.safetensors"
    if not path.exists():
        return 0, True
    try:
        return int(load_state(path)["step"]), True
    except UserError:
        return 0, False


def _child(argv: list[str]) -> int:
    slow = 0.0
    if argv[:1] == ["--slow-checkpoint"]:
        slow, argv = float(argv[1]), argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if slow > 0:
        from mspgsen.support import checkpoint

        write = checkpoint.save_file

        def slow_write(tensors, filename, metadata=None):
            write(tensors, filename, metadata=metadata)
            time.sleep(slow)  # the temporary file exists, the rename has not happened

        checkpoint.save_file = slow_write
    from mspgsen.cli import main

    return main(["train", *argv])


if __name__ == "__main__":
    if sys.argv[1:2] != ["child"]:
        sys.exit("usage: python tests/support/faults.py child [--slow-checkpoint S] -- <mspgsen train arguments>")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(_child(sys.argv[2:]))
