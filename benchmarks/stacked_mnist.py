"""Stacked MNIST at an equal wall-clock budget: every family on one recipe basis, then more seeds.

Each run starts from the recipe (`configs/stacked-mnist.yaml` by default), keeps the model keys
its family knows (the others are reported and dropped: `r1_weight` means nothing to `vaegan`),
trains for `--budget` seconds of wall clock and is measured on 26,000 samples by the MNIST
classifier: modes of 1000, KL (natural log), the share of samples whose three digits are read
with confidence ≥ 0.9, and the Fréchet distance on the classifier's features (not Inception's:
not comparable with any published FID). Prints a markdown table (mean ± std over seeds), and
copies each family's last sample grid to `--grids` when given.

    python benchmarks/stacked_mnist.py --data-root ../shared/data --device cpu --budget 1800 --seeds 1
    python benchmarks/stacked_mnist.py --data-root ../shared/data --device cpu --budget 1800 --seeds 3 \\
        --families dcgan,mspgsen
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from mspgsen import api
from mspgsen.classifier import default_path
from mspgsen.config import load_yaml
from mspgsen.families import FAMILIES
from mspgsen.training.hardware import amx_available

FID = "stacked_fid[classifier:mnist]"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES.names()))
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--config", default=str(Path(__file__).parents[1] / "configs" / "stacked-mnist.yaml"))
    parser.add_argument("--budget", type=float, default=1800, help="training seconds per run")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/bench-stacked-mnist")
    parser.add_argument("--grids", help="folder to copy each family's last sample grid to (e.g. docs/images)")
    parser.add_argument("--set", action="append", default=[], help="config overrides for every run")
    return parser.parse_args()


def recipe_for(family: str, recipe: dict) -> tuple[dict, list[str]]:
    """The recipe with the model keys `family` does not have removed, and the names removed."""
    known = {f for f in FAMILIES.get(family).Config.__dataclass_fields__}
    model = {k: v for k, v in (recipe.get("model") or {}).items() if k != "name"}
    dropped = sorted(k for k in model if k not in known)
    return {**recipe, "model": {"name": family, **{k: v for k, v in model.items() if k in known}}}, dropped


def main() -> None:
    args = parse_args()
    if not default_path("mnist").is_file():
        api.train_classifier("mnist", data_root=args.data_root, device=args.device)
    recipe = load_yaml(args.config)
    root = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    results = []
    for family in args.families.split(","):
        basis, dropped = recipe_for(family, recipe)
        if dropped:
            print(f"{family}: recipe keys it does not have, dropped: {', '.join(dropped)}", flush=True)
        (root / f"{family}.yaml").write_text(json.dumps(basis))
        for seed in range(args.seeds):
            out = root / f"{family}-seed{seed}"
            config = api.configure(config_file=root / f"{family}.yaml", data_root=args.data_root, seed=seed,
                                   device=args.device, out=str(out),
                                   overrides=[f"train.time_limit={args.budget}", "train.progress=false",
                                              "train.final_eval_n=26000", *args.set])
            trained = api.train(config)
            rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
            images_per_s = statistics.median(r["img/s"] for r in rows if "img/s" in r)
            results.append({"family": family, "seed": seed, "steps": trained.step, "images_per_s": images_per_s,
                            **trained.metrics})
            print(json.dumps(results[-1]), flush=True)
        if args.grids:
            Path(args.grids).mkdir(parents=True, exist_ok=True)
            shutil.copy(root / f"{family}-seed0" / "samples.png", Path(args.grids) / f"stacked-mnist-{family}.png")
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    print(f"\n{args.budget:g} s of training per run on {args.device} ({'AMX' if amx_available() else 'no AMX'}), "
          f"{args.seeds} seed(s), 26,000 samples; runs in {root}\n")
    print("| family | modes (of 1000) | KL | confident % | classifier FID | images/s | steps |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for family in args.families.split(","):
        rows = [r for r in results if r["family"] == family]
        print(f"| {family} | {_pm([r['stacked_modes'] for r in rows], 1)} | {_pm([r['stacked_kl'] for r in rows], 2)} "
              f"| {_pm([100 * r['stacked_confident'] for r in rows], 1)} | {_pm([r[FID] for r in rows], 1)} "
              f"| {statistics.mean(r['images_per_s'] for r in rows):.0f} "
              f"| {statistics.mean(r['steps'] for r in rows):.0f} |")


def _pm(values: list[float], digits: int) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"


if __name__ == "__main__":
    main()
