"""Stacked MNIST at an equal wall-clock budget: every family on one recipe basis, then more seeds.

Runs go `--jobs` at a time in separate processes, the cores split between them (two one-thread
runs use a 2-core machine better than one two-thread run: small convs scale poorly). Each run
starts from the recipe (`configs/stacked-mnist.yaml` by default), keeps the model keys
its family knows (the others are reported and dropped: `r1_weight` means nothing to `vaegan`) but
not the recipe's optimisers unless it is the recipe's own family (the others keep their paper's),
trains for `--budget` seconds of wall clock and is measured on 26,000 samples by the MNIST
classifier: modes of 1000, KL (natural log), the share of samples whose three digits are read
with confidence ≥ 0.9, and the Fréchet distance on the classifier's features (not Inception's:
not comparable with any published FID). Prints a markdown table (mean ± std over seeds), and
copies each family's last sample grid to `--grids` when given.

    python benchmarks/stacked_mnist.py --data-root ../shared/data --device cpu --budget 1800 --seeds 1 --jobs 2
    python benchmarks/stacked_mnist.py --data-root ../shared/data --config defaults --families mspgsen --seeds 3
    python benchmarks/stacked_mnist.py --data-root ../shared/data --device cpu --budget 1800 --seeds 2 \\
        --first-seed 1 --families dcgan,mspgsen --with runs/bench-stacked-mnist/<first>/results.jsonl
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from mspgsen import api
from mspgsen.evaluation.classifier import default_path
from mspgsen.config import load_yaml
from mspgsen.families import FAMILIES, study_families
from mspgsen.training.hardware import cpu_bf16_summary

FID = "stacked_fid[classifier:mnist]"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(study_families()))
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--config", default=str(Path(__file__).parents[1] / "configs" / "stacked-mnist.yaml"),
                        help="the recipe every family starts from; 'defaults': each family's own defaults, "
                             "batch size included (only the time limit is set, steps unbounded)")
    parser.add_argument("--budget", type=float, default=1800, help="training seconds per run")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run: first-seed … first-seed + seeds - 1")
    parser.add_argument("--with", dest="earlier", action="append", default=[], metavar="RESULTS.jsonl",
                        help="an earlier run's results.jsonl to tabulate with these runs (more seeds of a family)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, each in its own process (CPU: cores split)")
    parser.add_argument("--out", default="runs/bench-stacked-mnist")
    parser.add_argument("--grids", help="folder to copy each family's last sample grid to (e.g. docs/images)")
    parser.add_argument("--set", action="append", default=[], help="config overrides for every run")
    return parser.parse_args()


OWN_KEYS = ("name", "optim_g", "optim_d")  # every family keeps its paper's optimisers (WGAN's RMSprop, SAGAN's TTUR)


def recipe_for(family: str, recipe: dict) -> tuple[dict, list[str]]:
    """The recipe with the model keys `family` does not have removed, and the names removed."""
    known = {f for f in FAMILIES.get(family).Config.__dataclass_fields__}
    recipe_model = recipe.get("model") or {}
    own = ("name",) if recipe_model.get("name") == family else OWN_KEYS
    model = {k: v for k, v in recipe_model.items() if k not in own}
    dropped = sorted(k for k in model if k not in known)
    return {**recipe, "model": {"name": family, **{k: v for k, v in model.items() if k in known}}}, dropped


def main() -> None:
    args = parse_args()
    if not default_path("mnist").is_file():
        api.train_classifier("mnist", data_root=args.data_root, device=args.device)
    recipe = ({"data": "stacked-mnist", "train": {"steps": 1_000_000_000}} if args.config == "defaults"
              else load_yaml(args.config))
    root = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    families = args.families.split(",")
    runs = []
    for family in families:
        basis, dropped = recipe_for(family, recipe)
        if dropped:
            print(f"{family}: recipe keys it does not have, dropped: {', '.join(dropped)}", flush=True)
        (root / f"{family}.yaml").write_text(json.dumps(basis))
        runs += [(family, seed) for seed in range(args.first_seed, args.first_seed + args.seeds)]
    threads = max(1, (os.cpu_count() or 1) // args.jobs) if args.device == "cpu" else None
    chosen = [s.split("=", 1)[1] for s in args.set if s.startswith("train.threads=")]
    threads = int(chosen[-1]) if chosen and threads else threads  # what the runs get: --set wins
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_run, [(args, root, family, seed, threads) for family, seed in runs]))
    if args.grids:
        Path(args.grids).mkdir(parents=True, exist_ok=True)
        for family in families:
            first = root / f"{family}-seed{args.first_seed}" / "samples.png"
            shutil.copy(first, Path(args.grids) / f"stacked-mnist-{family}.png")
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    for earlier in args.earlier:
        results += [json.loads(line) for line in Path(earlier).read_text().splitlines() if line.strip()]
    families = list(dict.fromkeys([*families, *(r["family"] for r in results)]))
    print(f"\n{args.budget:g} s of training per run on {args.device} ({cpu_bf16_summary()}), "
          f"{args.jobs} run(s) at a time{f', {threads} thread(s) each' if threads else ''}, 26,000 samples; "
          f"runs in {root}{' and ' + ', '.join(args.earlier) if args.earlier else ''}\n")
    print("| family | seeds | modes (of 1000) | KL | confident % | classifier FID | images/s | steps |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for family in families:
        rows = [r for r in results if r["family"] == family]
        print(f"| {family} | {len(rows)} | {_pm([r['stacked_modes'] for r in rows], 1)} "
              f"| {_pm([r['stacked_kl'] for r in rows], 2)} | {_pm([100 * r['stacked_confident'] for r in rows], 1)} "
              f"| {_pm([r[FID] for r in rows], 1)} "
              f"| {statistics.mean(r['images_per_s'] for r in rows):.0f} "
              f"| {statistics.mean(r['steps'] for r in rows):.0f} |")


def _run(job: tuple) -> dict:
    """One family and seed trained for the budget and measured; runs in a worker process."""
    args, root, family, seed, threads = job
    out = root / f"{family}-seed{seed}"
    config = api.configure(config_file=root / f"{family}.yaml", data_root=args.data_root, seed=seed,
                           device=args.device, out=str(out),
                           overrides=[f"train.time_limit={args.budget}", "train.progress=false",
                                      "train.final_eval_n=26000", *([f"train.threads={threads}"] if threads else []),
                                      *args.set])
    trained = api.train(config)
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    images_per_s = statistics.median(r["img/s"] for r in rows if "img/s" in r)
    result = {"family": family, "seed": seed, "steps": trained.step, "images_per_s": images_per_s, **trained.metrics}
    print(json.dumps(result), flush=True)
    return result


def _pm(values: list[float], digits: int) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"


if __name__ == "__main__":
    main()
