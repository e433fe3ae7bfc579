"""Training-step throughput of each image family: images/s of full steps (n_critic D updates + one
G update, as trained), at several sizes and precisions, on synthetic in-memory data, with the
FLOPs of one step per image (forward and backward of every network, counted by torch's
FlopCounterMode) and the parameters of G and of the critics (D, plus D_aux where there is one).

Times with CUDA events after warm-up on a GPU (host clock on CPU) and reports the median of
several timed windows.

    python benchmarks/throughput.py --device cuda --sizes 32,64 --precisions fp32,bf16 --batch-size 256
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from mspgsen.config import resolve
from mspgsen.data.images import ImageTensorSource
from mspgsen.families import FAMILIES
from mspgsen.training.device import resolve_device
from mspgsen.training.loop import run_step
from mspgsen.training.phases import StepContext
from mspgsen.training.state import TrainingState


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES.names()))
    parser.add_argument("--sizes", default="32,64")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed window")
    parser.add_argument("--windows", type=int, default=5, help="timed windows; the median is reported")
    parser.add_argument("--set", action="append", default=[], help="config overrides, e.g. model.width=32")
    return parser.parse_args()


def build(family_name: str, size: int, batch_size: int, device: torch.device, overrides: list[str]):
    config = resolve([{"model": family_name}], [f"train.batch_size={batch_size}", *overrides])
    family = FAMILIES.get(family_name)(config.model)
    images = torch.randint(0, 256, (max(4 * batch_size, 1024), 3, size, size), dtype=torch.uint8)
    source = ImageTensorSource("synthetic", images)
    state = TrainingState(family, source.shape, config, device, source.stream(batch_size, 0, device))
    ctx = StepContext(state.nets, state.knobs, state.stream, family.latent_dim(source.shape), batch_size, device,
                      state.stats)
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


def measure(family_name: str, size: int, precision: str, args, device: torch.device) -> dict:
    torch.manual_seed(0)
    state, phases, ctx = build(family_name, size, args.batch_size, device, args.set)
    for _ in range(args.warmup):
        run_step(state, phases, ctx, precision)
    state.stats.collect()  # drains pending values; also a device sync before timing
    seconds = [time_window(state, phases, ctx, precision, args.steps) for _ in range(args.windows)]
    per_step = statistics.median(seconds) / args.steps
    with FlopCounterMode(display=False) as flops:  # counted once, outside the timed windows
        run_step(state, phases, ctx, precision)
    return {"family": family_name, "size": size, "precision": precision, "ms_per_step": 1000 * per_step,
            "images_per_s": args.batch_size / per_step,
            "gflop_per_image": flops.get_total_flops() / args.batch_size / 1e9,
            "params_g": sum(p.numel() for p in state.nets["G"].parameters()),
            "params_d": sum(p.numel() for name, net in state.nets.items() if name != "G" for p in net.parameters())}


def main() -> None:
    args = parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    rows = [measure(f, int(s), p, args, device) for f in args.families.split(",")
            for s in args.sizes.split(",") for p in args.precisions.split(",")]
    print(f"\n{name}, torch {torch.__version__}, batch {args.batch_size}, median of {args.windows} windows "
          f"of {args.steps} steps after {args.warmup} warm-up steps\n")
    print("| family | size | precision | images/s | ms/step | GFLOP/image/step | G params | D params |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['family']} | {r['size']}x{r['size']} | {r['precision']} | {r['images_per_s']:.0f} | "
              f"{r['ms_per_step']:.1f} | {r['gflop_per_image']:.2f} | {r['params_g'] / 1e6:.2f}M | "
              f"{r['params_d'] / 1e6:.2f}M |")


if __name__ == "__main__":
    main()
