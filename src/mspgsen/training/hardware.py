"""What this machine runs fast: the precision and the CPU thread count a run uses, and why.

Both are chosen once, at the start of a run, from what the hardware reports and what the
work is; both can be fixed by the user (`--precision`, `--threads` or `OMP_NUM_THREADS`).
The reasons are printed in the run's first lines and written into its config.yaml.

- Precision. bf16 autocast pays where the device computes bf16 natively: a CUDA GPU that
  supports bf16, a CPU with AMX (Intel Sapphire Rapids and later), where bf16 convolutions
  run 3-4x faster than fp32, or a CPU with AVX-512 BF16 dot products (`avx512_bf16`: AMD Zen 4
  and later, Intel Cooper Lake), where oneDNN's bf16 convolutions still beat fp32 (an AMD EPYC
  without AMX, one thread, 3x28x28 at batch 64: every family's step 1.2-2.0x faster;
  docs/benchmarks.md). With neither (AVX2 only) bf16 is emulated and slower, so fp32.
  The 2-D mixtures' MLPs are bound by per-operation overhead, not arithmetic: fp32 there too
  (bf16 was 10% slower on the demo on an AMX CPU).
- Threads. Small networks (the 2-D MLPs, tiny convs) gain nothing from threads and lose a lot
  when another job shares the cores: spinning threads made the demo 6.7x slower with one
  competing process on 2 cores (docs/benchmarks.md). So 1 thread for small work; for large
  convolutions every core that is free now (measured from /proc/stat over a short window).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mspgsen.config import RunConfig
from mspgsen.contracts import Family

# Work per training step above which a second thread pays for its synchronisation
# (benchmarks/threads.py: the demo's MLP step, ~2 MFLOP, was fastest on 1 thread; dcgan's
# 32x32 step at width 64, ~60 GFLOP at batch 64, scaled to 1.8x on 2 idle cores).
THREADED_WORK_FLOPS = 2e8
BUSY_WINDOW_SECONDS = 0.2  # how long /proc/stat is watched to count the cores other jobs use


@dataclass(frozen=True)
class Choice:
    value: str | int
    reason: str

    def line(self, what: str) -> str:
        return f"{what}: {self.value} ({self.reason})"


def cpu_bf16_units() -> str | None:
    """The CPU's native bf16 arithmetic, in words, or None where it has none."""
    if amx_available():
        return "AMX bf16 units"
    if _cpu_flag("avx512_bf16"):
        return "AVX-512 BF16 instructions"
    return None


def cpu_bf16_summary() -> str:
    """What benchmarks print of the CPU: its native bf16 arithmetic, or that it has none."""
    units = cpu_bf16_units()
    if units is None:
        return "no native bf16 (no AMX, no AVX-512 BF16)"
    return units if units.startswith("AMX") else f"{units}, no AMX"


def amx_available() -> bool:
    """True when the CPU has AMX tiles with bf16 (torch's own check, else /proc/cpuinfo's flags)."""
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if check is not None:
        try:
            return bool(check()) and _cpu_flag("amx_bf16") is not False
        except RuntimeError:
            pass
    return bool(_cpu_flag("amx_bf16"))


def _cpu_flag(flag: str) -> bool | None:
    """Whether /proc/cpuinfo lists `flag`; None where there is no /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    return any(flag in line.split() for line in text.splitlines() if line.startswith("flags"))


def choose_precision(setting: str, device: torch.device, data_kind: str) -> Choice:
    """`auto` → bf16 where the device computes it fast, fp32 elsewhere; a fixed setting as given."""
    if setting != "auto":
        return Choice(setting, "set by the user")
    if data_kind == "points":
        return Choice("fp32", "2-D MLPs are bound by overhead, not arithmetic: bf16 gains nothing")
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return Choice("bf16", f"{torch.cuda.get_device_name(device)} computes bf16 natively")
        return Choice("fp32", f"{torch.cuda.get_device_name(device)} has no native bf16")
    units = cpu_bf16_units() if device.type == "cpu" else None
    if units:
        return Choice("bf16", f"this CPU has {units}")
    return Choice("fp32", f"this {device.type.upper()} has no native bf16 (neither AMX nor AVX-512 BF16)")


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_core() -> int:
    """Hardware threads per physical core (2 with hyper-threading), from /proc/cpuinfo; 1 when unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 1
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        return max(1, int(fields["siblings\t"]) // int(fields["cpu cores\t"]))
    except (KeyError, ValueError, ZeroDivisionError):
        return 1


def busy_cores(window: float = BUSY_WINDOW_SECONDS) -> float:
    """Cores other processes keep busy now, from two reads of /proc/stat; the load average
    where there is no /proc/stat."""
    first = _cpu_times()
    if first is None:
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    time.sleep(window)
    second = _cpu_times()
    busy, total = (b - a for a, b in zip(first, second))
    return usable_cores() * busy / total if total > 0 else 0.0


def _cpu_times() -> tuple[int, int] | None:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def choose_threads(setting: int, work_flops: float | None, busy: float | None = None) -> Choice:
    """Threads for this process: `setting` > 0 or OMP_NUM_THREADS when given; else 1 for
    small work, and for large work every usable core that other jobs leave free."""
    if setting > 0:
        return Choice(setting, "set by --threads / train.threads")
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return Choice(int(env), "set by OMP_NUM_THREADS")
    if work_flops is None or work_flops < THREADED_WORK_FLOPS:
        size = "2-D MLPs" if work_flops is None else f"{work_flops / 1e6:.0f} MFLOP per step"
        return Choice(1, f"small work ({size}) runs fastest on one thread")
    cores = usable_cores()
    busy = busy_cores() if busy is None else busy
    # hyper-threads share a core's matrix units: one thread per physical core
    free = max(1, min(cores, round(cores - busy)) // threads_per_core())
    return Choice(free, f"{work_flops / 1e9:.1f} GFLOP per step; {free} of {cores} cores free")


def apply_threads(threads: int) -> None:
    """Set torch's intra-op threads, and inter-op threads to match where torch still allows it."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # inter-op work already started in this process: its pool stays
        pass


def settle_machine(family: Family, config: RunConfig, device: torch.device) -> tuple[str, list[str]]:
    """Choose the run's precision and CPU threads: the precision, and the choices in words. Done before anything is built: the thread count changes the rounding of
    CPU kernels (spectral norm's power iteration at construction among them), so a run must
    compute everything with the threads it ends up with to be reproducible."""
    precision = choose_precision(config.train.precision, device, family.shape.kind)
    lines = [precision.line("precision")]
    if device.type == "cpu":
        threads = choose_threads(config.train.threads, step_flops(family, config.train.batch_size))
        apply_threads(threads.value)
        lines.append(threads.line("threads"))
    return precision.value, lines


def step_flops(family: Family, batch_size: int) -> float | None:
    """About the FLOPs of one training step: 3x (forward + backward) a G and a D forward per
    sample; None for the 2-D MLPs. Counted on networks of its own (shapes only, on the meta
    device, where the family's code allows), in eval mode, with the global RNG untouched."""
    if family.shape.kind == "points":
        return None
    from torch.utils.flop_counter import FlopCounterMode

    def count(device: str) -> float:
        with torch.random.fork_rng(devices=[]), torch.device(device):
            nets = nn.ModuleDict(family.build_networks()).eval()
            rng = torch.Generator().manual_seed(0)
            latents = torch.randn(2, family.latent_dim())
            conditions = family.sample_conditions(2, rng, nets[family.generator_key])
            conditions = conditions.to(device) if conditions is not None else None
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                family.discriminate(nets, family.generate(nets, latents, conditions), conditions)
        return counter.get_total_flops()

    try:
        flops = count("meta")
    except (NotImplementedError, RuntimeError):  # a family that reads tensor values while building
        flops = count("cpu")
    return 3 * 2 * flops / 2 * batch_size
