"""Stacked MNIST mode coverage: every family trained for the same wall-clock budget, several seeds.

Reports modes covered (of 1000) and KL (natural log) over 26,000 samples read by the project's
MNIST classifier, mean ± std over seeds, as a markdown table for docs/benchmarks.md. Meant for a GPU:

    python benchmarks/stacked_mnist.py --data-root ../shared/data --budget 300 --seeds 3 --device cuda --precision bf16
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from mspgsen import api
from mspgsen.classifier import default_path
from mspgsen.families import FAMILIES


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES.names()))
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--budget", type=float, default=300, help="training seconds per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=26_000)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--out", default="runs/bench-stacked-mnist")
    parser.add_argument("--set", action="append", default=[], help="config overrides for every run")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not default_path("mnist").is_file():
        api.train_classifier("mnist", data_root=args.data_root, device=args.device)
    root = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    results = []
    for family in args.families.split(","):
        for seed in range(args.seeds):
            config = api.configure(model=family, data="stacked-mnist", data_root=args.data_root, seed=seed,
                                   steps=10**9, batch_size=args.batch_size, device=args.device,
                                   precision=args.precision, out=str(root / f"{family}-seed{seed}"),
                                   overrides=[f"train.time_limit={args.budget}", "train.progress=false",
                                              "train.checkpoint_every=1000000000", *args.set])
            trained = api.train(config)
            modes = api.evaluate(trained.run_dir, num_samples=args.samples, metrics="modes", device=args.device)
            results.append({"family": family, "seed": seed, "steps": trained.step, **modes})
            print(json.dumps(results[-1]), flush=True)
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    print(f"\n{args.budget:g}s per run, batch {args.batch_size}, {args.precision}, {args.seeds} seeds, "
          f"{args.samples} samples; runs in {root}\n")
    print("| family | steps | modes (of 1000) | KL |\n| --- | --- | --- | --- |")
    for family in args.families.split(","):
        rows = [r for r in results if r["family"] == family]
        print(f"| {family} | {statistics.mean(r['steps'] for r in rows):.0f} | "
              f"{_pm([r['stacked_modes'] for r in rows], 1)} | {_pm([r['stacked_kl'] for r in rows], 2)} |")


def _pm(values: list[float], digits: int) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"


if __name__ == "__main__":
    main()
