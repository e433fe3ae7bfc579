"""Mode coverage on ring8 and grid25: every family, several seeds, one fixed step budget.

Prints a markdown table (mean ± std over seeds of modes covered, % high-quality samples and
KL) for docs/benchmarks.md. Runs execute in parallel worker processes, one thread each. With
periodic evaluations (`--set train.eval_every=N`) a second table gives the same figures over
training, read from each run's metrics.jsonl.

    python benchmarks/modes2d.py --steps 4000 --seeds 3
    python benchmarks/modes2d.py --families dcgan,dyngan --datasets ring8 --set data.radius=2 --set train.eval_every=1000
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="dcgan,wgan,wgan-gp,sagan,sagan-wgangp")
    parser.add_argument("--datasets", default="ring8,grid25")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4000, help="generator updates per run")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="runs/bench-modes2d", help="parent folder of the run folders")
    parser.add_argument("--set", action="append", default=[], help="extra config overrides for every run")
    parser.add_argument("--summarise", metavar="RESULTS_JSONL", help="only print the table of an earlier run")
    return parser.parse_args()


def run_one(job: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    from mspgsen import api

    config = api.configure(model=job["family"], data=job["dataset"], steps=job["steps"], seed=job["seed"],
                           batch_size=job["batch_size"], device="cpu", out=job["out"],
                           overrides=["train.progress=false", "train.sample_every=1000000000", *job["set"]])
    started = time.perf_counter()
    result = api.train(config)
    return {**job, **result.metrics, "seconds": time.perf_counter() - started}


def summarise(results: list[dict], families: list[str], datasets: list[str]) -> str:
    lines = ["| data | family | modes | high-quality % | KL | s/run |", "| --- | --- | --- | --- | --- | --- |"]
    for dataset in datasets:
        for family in families:
            rows = [r for r in results if r["family"] == family and r["dataset"] == dataset]
            if not rows:
                continue
            lines.append(f"| {dataset} | {family} | {_pm([r['modes_covered'] for r in rows], 1)} "
                         f"/ {rows[0]['num_modes']} | {_pm([100 * r['high_quality'] for r in rows], 1)} | "
                         f"{_pm([r['kl'] for r in rows], 2)} | {statistics.mean(r['seconds'] for r in rows):.0f} |")
    return "\n".join(lines)


def over_training(results: list[dict], families: list[str], datasets: list[str]) -> str:
    """modes / high-quality % / KL (means over seeds) at each periodic evaluation, one row per step."""
    lines = []
    for dataset in datasets:
        curves: dict[str, dict[int, list[dict]]] = {}
        for family in families:
            for r in (r for r in results if r["family"] == family and r["dataset"] == dataset):
                path = Path(r["out"]) / "metrics.jsonl"
                for row in map(json.loads, path.read_text().splitlines() if path.is_file() else []):
                    curves.setdefault(family, {}).setdefault(int(row["step"]), []).append(row)
        if not curves:
            continue
        shown = [f for f in families if f in curves]
        lines += [f"\n{dataset}: modes / high-quality % / KL at each evaluation (means over seeds)\n",
                  "| step | " + " | ".join(shown) + " |", "| --- |" + " --- |" * len(shown)]
        for step in sorted({s for f in shown for s in curves[f]}):
            cells = []
            for family in shown:
                rows = curves[family].get(step, [])
                kl = [r["kl"] for r in rows if math.isfinite(r["kl"])]
                cells.append(f"{statistics.mean(r['modes_covered'] for r in rows):.1f} / "
                             f"{statistics.mean(100 * r['high_quality'] for r in rows):.1f} / "
                             f"{statistics.mean(kl) if kl else float('inf'):.2f}" if rows else "")
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pm(values: list[float], digits: int) -> str:
    """mean ± std; a seed with no high-quality sample has KL = ∞ and is counted apart."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "∞"
    spread = statistics.stdev(finite) if len(finite) > 1 else 0.0
    text = f"{statistics.mean(finite):.{digits}f} ± {spread:.{digits}f}"
    return text + (f" (∞ in {len(values) - len(finite)} of {len(values)})" if len(finite) < len(values) else "")


def main() -> None:
    args = parse_args()
    families, datasets = args.families.split(","), args.datasets.split(",")
    if args.summarise:
        results = [json.loads(line) for line in Path(args.summarise).read_text().splitlines()]
        print(summarise(results, families, datasets))
        print(over_training(results, families, datasets))
        return
    root = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    jobs = [{"family": f, "dataset": d, "seed": s, "steps": args.steps, "batch_size": args.batch_size,
             "set": args.set, "out": str(root / f"{d}-{f}-seed{s}")}
            for d in datasets for f in families for s in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_one, jobs))
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    print(f"\n{args.steps} steps, batch {args.batch_size}, {args.seeds} seeds; runs in {root}\n")
    print(summarise(results, families, datasets))
    print(over_training(results, families, datasets))


if __name__ == "__main__":
    main()
