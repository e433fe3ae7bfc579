"""MSPG-SEN built up from what works: the dcgan recipe, then mspgsen's parts added one at a time.

The opposite of the ablation (every part on, one off): each arm adds one part to the arm before
it, in a fixed order, so the first arm that breaks names the part (or the setting) at fault:

    dcgan-recipe   configs/stacked-mnist.yaml as it is (the reference)
    skeleton       mspgsen with every part off, trained as the recipe trains (Adam 4e-4 / 5e-5,
                   β = (0.5, 0.99), EMA 0.999, linear lr decay, no instance noise, no spectral norm)
    +multiscale    G's head at every scale and D reading each (one flag: heads D does not read get no gradient)
    +gctdrn        selective 3/5/7 branches and the global enhancement
    +dema          DEMA attention and L_LGCL
    +afe           the auxiliary critic on G's middle scale
    +progressive   growth with fade-in over the first half of the run (tried, not carried on: off by
                   default up to 32 px, where it broke the model; the arms after it leave it at its default)
    +apfl          the feedback loop
    +balance       the DQN balancer
    defaults       the family's own defaults (its optimisers, EMA, instance noise and batch size): what a
                   user gets (the other arms train at the recipe's batch of 64)

`--arms` picks some (by name), `--set` adds overrides to every mspgsen arm, and `--variant
NAME=ARM:KEY=VALUE;...` adds an arm of its own: ARM's settings and these (e.g. the readings this
study found at fault: `skeleton-g-pre=skeleton:model.g_pre=true`, `skeleton-no-d-bn=skeleton:model.d_norm=none`). Each arm trains `--budget` seconds on one thread,
then is read on Stacked MNIST's protocol (26,000 samples, the MNIST classifier): modes, KL,
confident share, classifier FID. Beside the table, each arm's course: D(x), D(G(z)), G's batch
diversity, the growth level and the gradient norm of each network at ten points of the run.

    python benchmarks/mspgsen_buildup.py --data-root ../shared/data --budget 600 --jobs 2
    python benchmarks/mspgsen_buildup.py --data-root ../shared/data --budget 240 --arms skeleton,+multiscale
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from mspgsen import api
from mspgsen.evaluation.classifier import default_path
from mspgsen.training.hardware import cpu_bf16_summary

RECIPE = Path(__file__).parents[1] / "configs" / "stacked-mnist.yaml"
RECIPE_TRAINING = ["model.optim_g.name=adam", "model.optim_g.lr=4e-4", "model.optim_g.betas=[0.5,0.99]",
                   "model.optim_g.weight_decay=0", "model.optim_d.name=adam", "model.optim_d.lr=5e-5",
                   "model.optim_d.betas=[0.5,0.99]", "model.optim_d.weight_decay=0", "model.ema_decay=0.999",
                   "model.instance_noise=0", "model.spectral_norm=none", "train.controllers=[linear-lr-decay]"]
PARTS = ("multiscale", "gctdrn", "dema", "afe", "progressive", "apfl", "balance")
TRIED_ALONE = ("progressive",)  # off by default at Stacked MNIST's size: later arms leave it unset
ARMS = ["dcgan-recipe", "skeleton", *(f"+{part}" for part in PARTS), "defaults"]
COURSE = ("D(x)", "D(G(z))", "G(z)/diversity", "progressive-growth/level", "grad/G", "grad/net/D", "grad/net/D_aux",
          "grad/D")
# (metric, column, multiplier, decimals)
COLUMNS = (("stacked_modes", "modes", 1, 0), ("stacked_kl", "KL", 1, 2), ("stacked_confident", "confident %", 100, 1),
           ("stacked_fid[classifier:mnist]", "classifier FID", 1, 1))


def arm_overrides(arm: str) -> tuple[str | None, list[str]]:
    """The config file and overrides of one arm: every part up to and including the arm's is on."""
    if arm == "dcgan-recipe":
        return str(RECIPE), []
    if arm == "defaults":
        return None, ["model.name=mspgsen", "data.name=stacked-mnist"]  # its own batch size too
    added = PARTS[:PARTS.index(arm[1:]) + 1] if arm.startswith("+") else ()
    tried_alone = [part for part in TRIED_ALONE if part in added and arm != f"+{part}"]
    return None, ["model.name=mspgsen", "data.name=stacked-mnist", "train.batch_size=64", *RECIPE_TRAINING,
                  *(f"model.{part}={str(part in added).lower()}" for part in PARTS if part not in tried_alone)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--budget", type=float, default=600, help="training seconds per arm")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of: {', '.join(ARMS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="arms at once, one thread each")
    parser.add_argument("--out", default="runs/mspgsen-buildup")
    parser.add_argument("--set", action="append", default=[], help="an override for every mspgsen arm")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=ARM:KEY=VALUE;...",
                        help="one more arm: ARM's settings plus these overrides")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    arms = [arm for arm in args.arms.split(",") if arm]
    variants = dict(parse_variant(text) for text in args.variant)
    unknown = [arm for arm in arms if arm not in ARMS] + [base for base, _ in variants.values() if base not in ARMS]
    if unknown:
        raise SystemExit(f"unknown arms: {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    if not default_path("mnist").is_file():
        api.train_classifier("mnist", data_root=args.data_root)
    root = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = [(args, root, arm, arm, []) for arm in arms] + [(args, root, name, base, extra)
                                                              for name, (base, extra) in variants.items()]
        results = list(pool.map(_run, jobs))
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    print(f"\n{args.budget:g} s per arm, seed {args.seed}, {args.jobs} at a time on one thread each "
          f"({cpu_bf16_summary()}); runs in {root}\n")
    print("| arm | " + " | ".join(label for _, label, _, _ in COLUMNS) + " | steps | images/s |")
    print("| --- " * (len(COLUMNS) + 3) + "|")
    for r in results:
        print(f"| {r['arm']} | " + " | ".join(f"{r['metrics'].get(key, math.nan) * scale:.{decimals}f}"
                                              for key, _, scale, decimals in COLUMNS)
              + f" | {r['steps']} | {r['images_per_s']:.0f} |")
    print("\nThe course of each arm (at 10%, 20%, … 100% of its steps):")
    for r in results:
        print(f"\n{r['arm']}:")
        print("| step | " + " | ".join(COURSE) + " |")
        print("| --- " * (len(COURSE) + 1) + "|")
        for row in r["course"]:
            print(f"| {row['step']} | " + " | ".join(_fmt(row.get(k)) for k in COURSE) + " |")


def parse_variant(text: str) -> tuple[str, tuple[str, list[str]]]:
    name, _, rest = text.partition("=")
    base, _, overrides = rest.partition(":")
    if not name or not base:
        raise SystemExit(f"--variant {text!r}: write NAME=ARM:KEY=VALUE;...")
    return name, (base, [o for o in overrides.split(";") if o])


def _run(job: tuple) -> dict:
    args, root, arm, base, variant_overrides = job
    config_file, overrides = arm_overrides(base)
    extra = [*(args.set if base != "dcgan-recipe" else []), *variant_overrides]
    out = root / arm.replace("+", "plus-")
    config = api.configure(config_file=config_file, data_root=args.data_root, seed=args.seed, device="cpu", out=str(out),
                           overrides=[*overrides, *extra, f"train.time_limit={args.budget}", "train.steps=1000000000",
                                      "train.progress=false", "train.threads=1", "train.final_eval_n=26000",
                                      "train.log_every=50", "train.sample_every=1000000000",
                                      "train.checkpoint_every=1000000000"])
    trained = api.train(config)
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    rows = [row for row in rows if "D(x)" in row]
    course = [rows[min(len(rows) - 1, round(len(rows) * k / 10) - 1)] for k in range(1, 11)] if rows else []
    speeds = sorted(row["img/s"] for row in rows if "img/s" in row)
    result = {"arm": arm, "steps": trained.step, "metrics": trained.metrics,
              "images_per_s": speeds[len(speeds) // 2] if speeds else math.nan,
              "course": [{"step": row["step"], **{k: row[k] for k in COURSE if k in row}} for row in course]}
    print(json.dumps({"arm": arm, "steps": trained.step, **trained.metrics}), flush=True)
    return result


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


if __name__ == "__main__":
    main()
