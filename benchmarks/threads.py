"""CPU threads: 1, 2 and auto, on an idle machine and beside a competing CPU job, interleaved.

Two workloads: the demo's recipe on grid25 (2-D MLPs) and dcgan on MNIST at 32×32 (convs,
batch 64). Each configuration is a whole `mspgsen train` process timed from outside; the
rounds go configuration by configuration (1, 2, auto, 1, 2, auto, ...) so a drift in the
machine's speed touches all alike. The competing job is one process spinning on one core, as a
second user's training would.

    python benchmarks/threads.py --data-root ../shared/data --rounds 3
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--demo-steps", type=int, default=1500)
    parser.add_argument("--image-steps", type=int, default=20)
    parser.add_argument("--threads", default="1,2,auto")
    return parser.parse_args()


def workloads(args, out: Path) -> dict[str, list[str]]:
    base = [sys.executable, "-m", "mspgsen", "train", "--set", "train.progress=false"]
    return {
        f"demo recipe, grid25, {args.demo_steps} steps": [
            *base, "--config", str(REPO / "configs/demo-grid25.yaml"), "--steps", str(args.demo_steps),
            "--set", "train.sample_every=1000000", "--set", "train.checkpoint_every=1000000", "--out", str(out)],
        f"dcgan, MNIST 32x32, batch 64, {args.image_steps} steps": [
            *base, "--model", "dcgan", "--data", "mnist", "--data-root", args.data_root, "--image-size", "32",
            "--batch-size", "64", "--steps", str(args.image_steps), "--out", str(out)],
    }


def spin() -> None:
    while True:
        pass


def time_run(command: list[str], threads: str, out: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    command = command if threads == "auto" else [*command, "--threads", threads]
    subprocess.run(["rm", "-rf", str(out)], check=True)
    began = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.monotonic() - began


def main() -> None:
    args = parse_args()
    choices = args.threads.split(",")
    results: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "run"
        for load in ("idle", "one competing job"):
            competitor = multiprocessing.Process(target=spin, daemon=True) if load != "idle" else None
            if competitor:
                competitor.start()
            try:
                for name, command in workloads(args, out).items():
                    time_run(command, "1", out)  # warm the file cache
                    for _ in range(args.rounds):
                        for threads in choices:
                            seconds = time_run(command, threads, out)
                            results.setdefault((load, name, threads), []).append(seconds)
                            print(f"{load} | {name} | {threads}: {seconds:.1f} s", flush=True)
            finally:
                if competitor:
                    competitor.terminate()
    print(f"\n{os.cpu_count()} cores; wall seconds of whole processes, median of {args.rounds} interleaved rounds\n")
    print("| load | workload | " + " | ".join(f"{t} thread(s)" for t in choices) + " | auto / best fixed |")
    print("| --- | --- | " + " | ".join("---" for _ in choices) + " | --- |")
    for load in ("idle", "one competing job"):
        for name in workloads(args, Path("x")):
            medians = {t: statistics.median(results[(load, name, t)]) for t in choices}
            fixed = [v for t, v in medians.items() if t != "auto"]
            ratio = f"{medians['auto'] / min(fixed):.2f}" if "auto" in medians and fixed else ""
            print(f"| {load} | {name} | " + " | ".join(f"{medians[t]:.1f}" for t in choices) + f" | {ratio} |")


if __name__ == "__main__":
    main()
