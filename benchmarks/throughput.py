"""Training-step throughput of each image family, eager fp32 against the fast path, in one run.

For each family and size it reports images/s of full steps (n_critic D updates + one G update,
as trained) on synthetic data held on the device, for each execution path:

    eager-fp32   fp32, no compile, default memory format (the baseline)
    eager-bf16   bf16 autocast and channels-last, no compile
    fast         bf16 autocast, channels-last, torch.compile (mode "default")
    fast-graphs  the same with torch.compile mode "reduce-overhead" (CUDA graphs)

with the FLOPs of one step per image (forward and backward of every network, counted once on
the eager fp32 build by torch's FlopCounterMode: the same arithmetic on every path), the
parameters of G and of the critics, and the achieved share of the device's measured dense
bf16 matmul rate and of its measured copy bandwidth (both measured at the start of the run).

Times with CUDA events after warm-up on a GPU (host clock on CPU) and reports the median of
several timed windows; the speed-up column is against eager-fp32 of the same family and size.

    python benchmarks/throughput.py --device cuda --families dcgan,sagan --sizes 32,64 --batch-size 256

With --against-reference it races pytorch/examples' DCGAN instead (benchmarks/reference_dcgan.py,
fp32 eager, as a user runs it) against our dcgan built to the same architecture
(`model.bias=false`: equal parameter counts, checked), ours at fp32 and at `--precision auto`,
in interleaved windows (reference, ours, reference, ours, ...) so that a drift in the machine's
speed hits both alike:

    python benchmarks/throughput.py --against-reference --sizes 32,64 --batch-size 64
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from mspgsen.data.images import ImageTensorSource
from mspgsen.families import FAMILIES, study_families
from mspgsen.resolve import resolve
from mspgsen.training.device import resolve_device
from mspgsen.training.hardware import choose_precision, cpu_bf16_summary
from mspgsen.training.loop import run_step
from mspgsen.training.state import TrainingState


@dataclass(frozen=True)
class Path:
    precision: str
    compile: str
    channels_last: bool


PATHS = {
    "eager-fp32": Path("fp32", "off", False),
    "eager-bf16": Path("bf16", "off", True),
    "fast": Path("bf16", "default", True),
    "fast-graphs": Path("bf16", "reduce-overhead", True),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(study_families()))
    parser.add_argument("--sizes", default="32,64")
    parser.add_argument("--paths", default="eager-fp32,fast", help=f"comma-separated of {', '.join(PATHS)}")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (compilation happens here)")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed window")
    parser.add_argument("--windows", type=int, default=5, help="timed windows; the median is reported")
    parser.add_argument("--set", action="append", default=[], help="config overrides, e.g. model.width=32")
    parser.add_argument("--against-reference", action="store_true",
                        help="race pytorch/examples' DCGAN (fp32, eager) against our dcgan at the same architecture")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    return parser.parse_args()


def build(family_name: str, size: int, batch_size: int, device: torch.device, path: Path, overrides: list[str]):
    config = resolve([{"model": family_name}], [f"train.batch_size={batch_size}", f"train.compile={path.compile}",
                                                f"train.channels_last={path.channels_last}", *overrides])
    images = torch.randint(0, 256, (max(4 * batch_size, 1024), 3, size, size), dtype=torch.uint8)
    source = ImageTensorSource("synthetic", images)
    family = FAMILIES.get(family_name)(config.model, source.shape)
    state = TrainingState(family, config, device, source.stream(batch_size, 0, device))
    ctx = state.step_context()
    return state, family.phases(), ctx


def time_window(state, phases, ctx, precision: str, steps: int) -> float:
    device = state.device
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            run_step(state, phases, ctx, precision)
        end.record()
        torch.cuda.synchronize(device)
        return start.elapsed_time(end) / 1000
    began = time.perf_counter()
    for _ in range(steps):
        run_step(state, phases, ctx, precision)
    return time.perf_counter() - began


def count_flops(family_name: str, size: int, args, device: torch.device) -> tuple[float, int, int]:
    """FLOPs of one step on the eager fp32 build, and the parameters of G and of the critics."""
    torch.manual_seed(0)
    state, phases, ctx = build(family_name, size, args.batch_size, device, PATHS["eager-fp32"], args.set)
    run_step(state, phases, ctx, "fp32")  # lazily built parts exist before counting
    params_g = sum(p.numel() for p in state.nets["G"].parameters())
    params_d = sum(p.numel() for name, net in state.nets.items() if name != "G" for p in net.parameters())
    try:
        with FlopCounterMode(display=False) as flops:
            run_step(state, phases, ctx, "fp32")
    except RuntimeError as err:  # torch's counter cannot follow a gradient penalty's autograd.grad
        print(f"{family_name} {size}: FLOPs not counted ({str(err)[:120]})", flush=True)
        return float("nan"), params_g, params_d
    return flops.get_total_flops(), params_g, params_d


def measure(family_name: str, size: int, path_name: str, args, device: torch.device) -> float:
    """Seconds per step, the median over the timed windows."""
    path = PATHS[path_name]
    torch.manual_seed(0)
    torch._dynamo.reset()  # every path compiles afresh
    state, phases, ctx = build(family_name, size, args.batch_size, device, path, args.set)
    for _ in range(args.warmup):
        run_step(state, phases, ctx, path.precision)
    state.stats.collect()  # drains pending values; also a device sync before timing
    seconds = [time_window(state, phases, ctx, path.precision, args.steps) for _ in range(args.windows)]
    return statistics.median(seconds) / args.steps


def matmul_rate(device: torch.device) -> float:
    """Measured dense bf16 matmul FLOP/s (8192³ on a GPU, 512³ on CPU), median of 10."""
    n = 8192 if device.type == "cuda" else 512  # bf16 on a CPU without AMX is slow
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    return 2 * n ** 3 / _median_seconds(lambda: a @ b, device)


def copy_bandwidth(device: torch.device) -> float:
    """Measured device copy bytes/s (read + write) over a 1 GiB buffer (64 MiB on CPU)."""
    count = (2 ** 30 if device.type == "cuda" else 2 ** 26) // 4
    source = torch.randn(count, device=device)
    target = torch.empty_like(source)
    return 2 * source.numel() * 4 / _median_seconds(lambda: target.copy_(source), device)


def _median_seconds(work, device: torch.device, repeats: int = 10) -> float:
    for _ in range(3):
        work()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            work()
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end) / 1000)
        else:
            began = time.perf_counter()
            work()
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def race_reference(args, device: torch.device) -> None:
    """Images/s of the reference DCGAN and of ours (fp32 and auto precision), interleaved windows."""
    import sys
    from pathlib import Path as FilePath

    sys.path.insert(0, str(FilePath(__file__).parent))
    from reference_dcgan import ReferenceDCGAN

    auto = choose_precision("auto", device, "images")
    rows = []
    for size in map(int, args.sizes.split(",")):
        torch.manual_seed(0)
        reference = ReferenceDCGAN(size, nc=3, device=str(device))
        real = torch.rand(args.batch_size, 3, size, size, device=device) * 2 - 1
        overrides = ["model.bias=false", "train.compile=off", *args.set]
        ours, phases, ctx = build("dcgan", size, args.batch_size, device, Path("fp32", "off", True), overrides)
        ours_g = sum(p.numel() for p in ours.nets["G"].parameters())
        ours_d = sum(p.numel() for p in ours.nets["D"].parameters())
        if (ours_g, ours_d) != reference.parameter_counts():
            raise SystemExit(f"parameter counts differ at {size}: ours {(ours_g, ours_d)}, "
                             f"reference {reference.parameter_counts()}")
        contenders = {"reference fp32": lambda: reference.step(real),
                      "ours fp32": lambda: run_step(ours, phases, ctx, "fp32"),
                      f"ours auto ({auto.value})": lambda: run_step(ours, phases, ctx, auto.value)}
        seconds = {name: [] for name in contenders}
        for work in contenders.values():
            for _ in range(args.warmup):
                work()
        for _ in range(args.windows):
            for name, work in contenders.items():
                began = time.perf_counter()
                for _ in range(args.steps):
                    work()
                ours.stats.collect()  # drains pending values (a host sync)
                seconds[name].append((time.perf_counter() - began) / args.steps)
        base = statistics.median(seconds["reference fp32"])
        for name, values in seconds.items():
            per_step = statistics.median(values)
            rows.append((size, name, args.batch_size / per_step, base / per_step, min(values), max(values)))
            print(f"{size} {name}: {args.batch_size / per_step:.0f} images/s", flush=True)
        params = f"G {ours_g / 1e6:.3f}M, D {ours_d / 1e6:.3f}M (equal in both)"
        rows.append((size, params, None, None, None, None))
    print(f"\nCPU: {cpu_bf16_summary()}, {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}; batch {args.batch_size}; median of {args.windows} interleaved windows of "
          f"{args.steps} steps after {args.warmup} warm-up steps; auto chose {auto.value} ({auto.reason})\n")
    print("| size | contender | images/s | x reference | ms/step min-max |")
    print("| --- | --- | --- | --- | --- |")
    for size, name, rate, ratio, low, high in rows:
        if rate is None:
            print(f"| {size}x{size} | parameters: {name} | | | |")
            continue
        print(f"| {size}x{size} | {name} | {rate:.0f} | {ratio:.2f} | {1000 * low:.0f}-{1000 * high:.0f} |")


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if args.against_reference:
        race_reference(args, device)
        return
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    peak, bandwidth = matmul_rate(device), copy_bandwidth(device)
    paths = args.paths.split(",")
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise SystemExit(f"unknown path(s) {', '.join(sorted(unknown))}; choose from {', '.join(PATHS)}")
    rows = []
    for family in args.families.split(","):
        for size in map(int, args.sizes.split(",")):
            flops, params_g, params_d = count_flops(family, size, args, device)
            baseline = None
            for path in paths:
                try:
                    per_step = measure(family, size, path, args, device)
                except Exception as err:  # one path failing (say, CUDA graphs) must not lose the others
                    print(f"{family} {size} {path}: FAILED {type(err).__name__}: {str(err)[:300]}", flush=True)
                    continue
                baseline = baseline or (per_step if path == "eager-fp32" else None)
                rows.append({"family": family, "size": size, "path": path, "ms": 1000 * per_step,
                             "images_per_s": args.batch_size / per_step,
                             "speedup": baseline / per_step if baseline else float("nan"),
                             "gflop_per_image": flops / args.batch_size / 1e9,
                             "matmul_share": flops / per_step / peak, "params_g": params_g, "params_d": params_d})
                print(f"{family} {size} {path}: {rows[-1]['images_per_s']:.0f} images/s", flush=True)
    print(f"\n{name}, torch {torch.__version__}, batch {args.batch_size}, median of {args.windows} windows of "
          f"{args.steps} steps after {args.warmup} warm-up steps; measured bf16 matmul {peak / 1e12:.3g} TFLOP/s, "
          f"copy {bandwidth / 1e9:.0f} GB/s\n")
    print("| family | size | path | images/s | x eager-fp32 | ms/step | GFLOP/image/step | share of bf16 matmul rate "
          "| G params | D params |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['family']} | {r['size']}x{r['size']} | {r['path']} | {r['images_per_s']:.0f} | "
              f"{r['speedup']:.2f} | {r['ms']:.1f} | {r['gflop_per_image']:.2f} | {100 * r['matmul_share']:.1f}% | "
              f"{r['params_g'] / 1e6:.2f}M | {r['params_d'] / 1e6:.2f}M |")


if __name__ == "__main__":
    main()
