"""Sampling speed: `mspgsen sample --n 26000` (the Stacked MNIST protocol's count) for every family
at 28×28, each at its default size, from a run trained for one step (the speed of sampling does
not depend on how far a generator trained). Wall seconds of the `sample` call, precision as the
run's `auto` gives on this machine.

    python benchmarks/sampling.py --data-root ../shared/data --n 26000
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from mspgsen import api
from mspgsen.families import study_families
from mspgsen.training.hardware import cpu_bf16_summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--families", default=",".join(study_families()))
    parser.add_argument("--n", type=int, default=26_000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for family in args.families.split(","):
            config = api.configure(model=family, data="stacked-mnist", data_root=args.data_root, steps=1,
                                   batch_size=16, device="cpu", out=str(Path(scratch) / family),
                                   overrides=["data.limit=256", "train.progress=false", "train.final_eval_n=0"])
            run = api.train(config).run_dir
            began = time.perf_counter()
            api.sample(run, args.n, Path(scratch) / f"{family}.npz")
            seconds = time.perf_counter() - began
            rows.append((family, seconds))
            print(f"{family}: {args.n} samples in {seconds:.1f} s", flush=True)
    print(f"\nCPU with {cpu_bf16_summary()}, {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}; 3x28x28 (Stacked MNIST), {args.n} samples\n")
    print("| family | seconds | samples/s |\n| --- | --- | --- |")
    for family, seconds in rows:
        print(f"| {family} | {seconds:.1f} | {args.n / seconds:.0f} |")


if __name__ == "__main__":
    main()
