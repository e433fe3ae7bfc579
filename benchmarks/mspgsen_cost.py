"""What one training step of MSPG-SEN costs against our dcgan, at each family's default size.

For Stacked-MNIST-shaped data (3x28x28 by default) it prints, per family, the parameters of G and
of the critics, the FLOPs per image of a training step (G and D forward and backward as trained,
counted by torch's FlopCounterMode: 3x the forward of every network a step runs), and the wall
time of a full training step (n_critic D updates and one G update, synthetic data held in memory),
timed in interleaved windows (dcgan, mspgsen, dcgan, ...) so a drift in the machine's load hits
both alike; then the ratios, and what a step of a growing mspgsen costs at each growth stage.
Issue 19's target: MSPG-SEN's default at most 3x dcgan's per image.

    python benchmarks/mspgsen_cost.py --threads 1 --batch-size 64
    python benchmarks/mspgsen_cost.py --set model.dema=false   # one component off (mspgsen only)
    python benchmarks/mspgsen_cost.py --compile default        # both families through torch.compile
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from mspgsen.data.images import ImageTensorSource
from mspgsen.families import FAMILIES
from mspgsen.resolve import resolve
from mspgsen.training.hardware import choose_precision, cpu_bf16_summary
from mspgsen.training.loop import run_step
from mspgsen.training.state import TrainingState

FAMILY_NAMES = ("dcgan", "mspgsen")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="3x28x28", help="CxHxW of the synthetic images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed window")
    parser.add_argument("--windows", type=int, default=5, help="timed windows per family; the median is reported")
    parser.add_argument("--set", action="append", default=[], help="mspgsen config overrides, e.g. model.width=24")
    parser.add_argument("--compile", default="off", help="train.compile for both families (off, default, ...); "
                                                          "compiling happens in the warm-up, outside the timing")
    return parser.parse_args()


def build(name: str, dims: tuple[int, int, int], batch_size: int, overrides: list[str]):
    device = torch.device("cpu")
    config = resolve([{"model": name}], [f"train.batch_size={batch_size}", *overrides])
    images = torch.randint(0, 256, (max(8 * batch_size, 512), *dims), dtype=torch.uint8)
    source = ImageTensorSource("synthetic", images)
    family = FAMILIES.get(name)(config.model, source.shape)
    state = TrainingState(family, config, device, source.stream(batch_size, 0, device))
    state.precision = choose_precision("auto", device, "images").value
    if state.knobs.level is not None:  # a growing mspgsen is timed fully grown (its stages are printed apart)
        state.knobs.level = float(state.knobs.scales - 1)
    return state, family.phases(), state.step_context()


def step_flops_per_image(state, phases, ctx) -> float:
    """FLOPs of one whole training step (every phase, forward and backward), per image."""
    with FlopCounterMode(display=False) as counter:
        run_step(state, phases, ctx, "fp32")
    return counter.get_total_flops() / ctx.batch_size


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    dims = tuple(int(v) for v in args.size.split("x"))
    print(f"{torch.get_num_threads()} thread(s), CPU with {cpu_bf16_summary()}, torch {torch.__version__}, {args.size} images, "
          f"batch {args.batch_size}, compile {args.compile}, {time.strftime('%Y-%m-%d')}")
    common = [f"train.compile={args.compile}"]
    built = {name: build(name, dims, args.batch_size, common + (args.set if name == "mspgsen" else []))
             for name in FAMILY_NAMES}
    figures = {}
    for name, (state, phases, ctx) in built.items():
        params = {net: sum(p.numel() for p in module.parameters()) for net, module in state.nets.items()}
        figures[name] = {"params": params, "flops": step_flops_per_image(state, phases, ctx), "times": []}
        for _ in range(2):  # warm-up at the run's precision
            run_step(state, phases, ctx, state.precision)
    for _ in range(args.windows):
        for name, (state, phases, ctx) in built.items():
            began = time.perf_counter()
            for _ in range(args.steps):
                run_step(state, phases, ctx, state.precision)
            figures[name]["times"].append((time.perf_counter() - began) / args.steps)
    print("| family | parameters | training-step FLOPs per image | ms per step (median) | images/s |")
    print("| --- | --- | --- | --- | --- |")
    for name, f in figures.items():
        seconds = statistics.median(f["times"])
        params = ", ".join(f"{net} {count / 1e3:.0f}k" for net, count in f["params"].items())
        spread = f"min {1000 * min(f['times']):.0f}, max {1000 * max(f['times']):.0f}"
        print(f"| {name} | {params} | {f['flops'] / 1e6:.0f} M | {1000 * seconds:.0f} ({spread}) "
              f"| {args.batch_size / seconds:.0f} |")
    state, phases, ctx = built["mspgsen"]
    if state.knobs.level is not None:  # progressive growth: what a step costs at each stage
        grown, stages = state.knobs.level, []
        for level in range(state.knobs.scales):
            state.knobs.level = float(level)
            stages.append(f"stage {level}: {step_flops_per_image(state, phases, ctx) / 1e6:.0f} M")
        state.knobs.level = grown
        print("mspgsen training-step FLOPs per image while it grows: " + ", ".join(stages))
    base, ours = figures["dcgan"], figures["mspgsen"]
    print(f"mspgsen / dcgan: FLOPs {ours['flops'] / base['flops']:.2f}x, wall time "
          f"{statistics.median(ours['times']) / statistics.median(base['times']):.2f}x (target: at most 3x)")


if __name__ == "__main__":
    main()
