"""Where the collected indicators go: progress bar, TensorBoard, stats.jsonl, controller.jsonl."""
from __future__ import annotations

import errno
import json
import math
import threading
import time

from torch.utils.tensorboard import SummaryWriter

from mspgsen.support.console import duration, progress_bar
from mspgsen.support.rundir import RunDir

DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}  # a full or failing disk
PROGRESS_KEYS = ("D/adv", "G/adv", "D(x)", "D(G(z))", "img/s")


class RunLogger:
    def __init__(self, run: RunDir, total_steps: int, start_step: int, batch_size: int, show_progress: bool,
                 time_limited: bool = False):
        """`time_limited`: the run ends on its clock, so the bar counts steps without a total and
        the time left comes from the progress fraction."""
        continuing = run.stats.is_file()
        self.dropped_rows = 0  # log rows of steps after the checkpoint resumed from (a crash logged them)
        if continuing:
            self.dropped_rows = sum(_drop_rows_after(path, start_step)
                                    for path in (run.stats, run.metrics_log, run.controller_log))
        self.writer = SummaryWriter(str(run.tensorboard), purge_step=start_step if continuing else None)
        _quiet_disk_errors_in_writer_threads()
        self.stats_file = open(run.stats, "a")
        self.metrics_path = run.metrics_log
        self.controller_path = run.controller_log
        self.bar = progress_bar(None if time_limited else total_steps, "training", "step", start_step, show_progress)
        self.batch_size = batch_size
        self._tick_time, self._tick_step = time.perf_counter(), start_step
        self._start_time, self._start_progress = time.perf_counter(), None

    def advance(self) -> None:
        self.bar.update(1)

    def log(self, step: int, values: dict[str, float]) -> dict[str, float]:
        now = time.perf_counter()
        values = {**values, "img/s": self.batch_size * (step - self._tick_step) / max(now - self._tick_time, 1e-9)}
        self._tick_time, self._tick_step = now, step
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)
        self.stats_file.write(json.dumps({"step": step, **values}) + "\n")
        self.stats_file.flush()
        postfix = "  ".join(f"{k} {_short(values[k])}" for k in PROGRESS_KEYS if k in values)
        self.bar.set_postfix_str(f"{postfix}  {self._time_left(now, values.get('progress'))}".rstrip())
        return values

    def _time_left(self, now: float, progress: float | None) -> str:
        """The estimated time to the run's end, from how fast its progress fraction moves."""
        if progress is None:
            return ""
        if self._start_progress is None:
            self._start_progress, self._start_time = progress, now
            return ""
        moved = progress - self._start_progress
        return f"about {duration((1 - progress) * (now - self._start_time) / moved)} left" if moved > 0 else ""

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        """A periodic evaluation: TensorBoard under eval/, one line of metrics.jsonl, one line on screen."""
        for name, value in metrics.items():
            self.writer.add_scalar(f"eval/{name}", value, step)
        with open(self.metrics_path, "a") as handle:
            handle.write(json.dumps({"step": step, **metrics}) + "\n")
        self.event(step, "  ".join(f"{k} {_short(v)}" for k, v in metrics.items()))

    def log_actions(self, step: int, controller: str, actions: dict[str, float]) -> None:
        """What a controller did: one line of controller.jsonl (TensorBoard gets it with the tick)."""
        with open(self.controller_path, "a") as handle:
            handle.write(json.dumps({"step": step, "controller": controller, **actions}) + "\n")

    def event(self, step: int, text: str) -> None:
        self.bar.write(f"step {step}: {text}")

    def rewind(self, step: int) -> None:
        """The run went back to `step` (a divergence rollback)."""
        self.bar.n = step
        self.bar.refresh()
        self._tick_time, self._tick_step = time.perf_counter(), step

    def close(self) -> None:
        """Closes every writer, even when one fails (a full disk): the first failure is raised
        after the rest are closed."""
        failure = None
        for close in (self.bar.close, self.writer.close, self.stats_file.close):
            try:
                close()
            except OSError as err:
                failure = failure or err
        if failure:
            raise failure


class SilentLogger:
    """The logger of every process but rank 0 in a distributed run: rank 0 writes the run folder."""

    def advance(self) -> None: ...

    def log(self, step: int, values: dict[str, float]) -> dict[str, float]:
        return values

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None: ...

    def log_actions(self, step: int, controller: str, actions: dict[str, float]) -> None: ...

    def event(self, step: int, text: str) -> None: ...

    def rewind(self, step: int) -> None: ...

    def close(self) -> None: ...


def _quiet_disk_errors_in_writer_threads() -> None:
    """TensorBoard writes from a thread of its own: a full disk there would print a traceback,
    then come back to the main thread at its next write, which stops the run with one line. The
    thread's traceback is left out; every other thread error still prints."""
    if getattr(threading.excepthook, "quiet_disk_errors", False):
        return
    default = threading.excepthook

    def hook(args):
        if isinstance(args.exc_value, OSError) and args.exc_value.errno in DISK_ERRNOS:
            return
        default(args)

    hook.quiet_disk_errors = True
    threading.excepthook = hook


def _short(value: float) -> str:
    return f"{value:.0f}" if math.isfinite(value) and abs(value) >= 100 else f"{value:.3g}"


def _drop_rows_after(path, step: int) -> int:
    """Keep the rows up to `step`; a line cut short by a crash (kill -9 mid-write) goes too. The
    number of rows dropped."""
    if not path.is_file():
        return 0
    lines = path.read_text().splitlines()
    kept = [line for line in lines if (row := row_step(line)) is not None and row <= step]
    path.write_text("".join(line + "\n" for line in kept))
    return len(lines) - len(kept)


def row_step(line: str) -> int | None:
    """The step of one log row; None for a line a crash cut short."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None
