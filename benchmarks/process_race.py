"""Whole processes from a cold start: `mspgsen train` for N steps against the reference DCGAN
script for N steps, alternated (ours, reference, ours, ...), wall time of each process.

Both train the same architecture (our dcgan with `model.bias=false`) on MNIST at 32×32, batch
64, and write what they write by default (ours: config, logs, a preview grid, a checkpoint and
the EMA generator; the reference: its first sample grid, like pytorch/examples' script).

    python benchmarks/process_race.py --data-root ../shared/data --steps 30 --runs 5
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--precision", default="auto", help="ours: auto | fp32 | bf16 (the reference is fp32)")
    parser.add_argument("--set", action="append", default=[], help="config overrides for ours, e.g. train.final_eval_n=0")
    return parser.parse_args()


def commands(args, out: Path) -> dict[str, list[str]]:
    ours = [sys.executable, "-m", "mspgsen", "train", "--model", "dcgan", "--data", "mnist", "--data-root",
            args.data_root, "--image-size", str(args.image_size), "--steps", str(args.steps), "--batch-size", "64",
            "--precision", args.precision, "--set", "model.bias=false", "--out", str(out / "ours"),
            *[arg for item in args.set for arg in ("--set", item)]]
    reference = [sys.executable, str(HERE / "reference_dcgan.py"), "--data-root", args.data_root, "--image-size",
                 str(args.image_size), "--steps", str(args.steps), "--outf", str(out / "reference")]
    return {f"mspgsen train ({args.precision})": ours, "reference (fp32)": reference}


def main() -> None:
    args = parse_args()
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        for run in range(args.runs + 1):  # the first round warms the file cache and is not counted
            for name, command in commands(args, out).items():
                shutil.rmtree(out / "ours", ignore_errors=True)
                began = time.monotonic()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
                if run:
                    seconds.setdefault(name, []).append(time.monotonic() - began)
    names = list(seconds)
    ratios = [a / b for a, b in zip(seconds[names[0]], seconds[names[1]])]
    print(f"{args.steps} steps, {args.image_size}x{args.image_size}, batch 64, {args.runs} alternated runs each "
          f"after one warm-up round; wall seconds of the whole process\n")
    print("| command | min | median | max |\n| --- | --- | --- | --- |")
    for name, values in seconds.items():
        print(f"| {name} | {min(values):.2f} | {statistics.median(values):.2f} | {max(values):.2f} |")
    print(f"| ratio ours / reference, pair by pair | {min(ratios):.2f} | {statistics.median(ratios):.2f} | "
          f"{max(ratios):.2f} |")


if __name__ == "__main__":
    main()
