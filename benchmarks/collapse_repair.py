"""Repair a collapsing run, against continuing it, restarting it and DynGAN (Stacked MNIST, or 2-D).

The baseline is VEEGAN's small-discriminator DCGAN (D at a quarter of G's width, `model.d_width`),
or with `--model` another family at its defaults (`--model mspgsen`: is repair worth it there?),
trained for `--budget` seconds. Then, for the same further budget each:
- `continued`: a copy of the baseline's folder resumed (`mspgsen train --resume`, its time limit
  doubled, so its lr schedule restarts at half the base lr and decays again);
- `restarted`: a new run from the baseline's weights (`train.init_from`) with fresh optimisers at
  a constant lr: the repair's restart without its partitions, the like-for-like control (mspgsen's
  at full size without instance noise, as its repair trains);
- `repaired`: `mspgsen repair` of the baseline (a partition-conditioned DynGAN from its weights,
  fresh optimisers, constant lr), and one more repaired arm per `--repair-variant`;
and, from scratch for twice the budget, `dyngan` with the baseline's networks (`model.d_width` too).
Every run is read on the Stacked MNIST protocol (26,000 samples, the MNIST classifier): modes,
KL, confident share and classifier FID; with `--data ring8|grid25` (a fixed set: `data.size`), on
the 2-D protocol: modes, high-quality share, KL. A table of mean ± std over seeds. One thread per
run, `--jobs` runs at a time.

    python benchmarks/collapse_repair.py --data-root ../shared/data --budget 600 --seeds 3 --jobs 2
    python benchmarks/collapse_repair.py ... --seeds 2 --first-seed 1 --with <earlier>/results.jsonl
    python benchmarks/collapse_repair.py ... --repair-variant "repaired-delta0.5 model.delta=0.5"
    python benchmarks/collapse_repair.py ... --model mspgsen --arms continued,restarted,repaired
    python benchmarks/collapse_repair.py ... --data grid25 --set data.size=100000 --set train.batch_size=256
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

RUN = ["train.log_every=100", "train.sample_every=100000", "train.checkpoint_every=2000", "train.final_eval_n=26000",
       "train.progress=false", "train.threads=1"]
# the baseline's model settings by family (others: the family's defaults)
MODEL = {"dcgan": ["model.d_width=16", "model.width=64", "train.controllers=[linear-lr-decay]", "model.ema_decay=0.999"]}
# what the restarted arm needs to start as a repaired run does: an mspgsen repair trains at full
# size without instance noise (progressive off keeps the networks when model.multiscale is on)
RESTART_LIKE_REPAIR = {"mspgsen": ["model.progressive=false", "model.instance_noise=0"]}
COLUMNS = {"images": (("stacked_modes", "modes", 1), ("stacked_kl", "KL", 1), ("stacked_confident", "confident %", 100),
                      ("stacked_fid[classifier:mnist]", "classifier FID", 1)),
           "points": (("modes_covered", "modes", 1), ("high_quality", "high-quality %", 100), ("kl", "KL", 1))}
POINTS = ("ring8", "grid25")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--model", default="dcgan", help="the baseline's family (the dyngan arm needs dcgan)")
    parser.add_argument("--data", default="stacked-mnist", choices=["stacked-mnist", *POINTS])
    parser.add_argument("--budget", type=float, default=600, help="seconds of training of the baseline")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run: first-seed … first-seed + seeds - 1")
    parser.add_argument("--with", dest="earlier", action="append", default=[], metavar="RESULTS.jsonl",
                        help="an earlier run's results.jsonl to tabulate with these runs (more seeds)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="runs/collapse-repair")
    parser.add_argument("--set", action="append", default=[], help="config overrides for every run")
    parser.add_argument("--dyngan-set", action="append", default=[],
                        help="overrides for the DynGAN runs only (repaired and from scratch), e.g. model.repartition_every=500")
    parser.add_argument("--repair-variant", action="append", default=[], metavar="'NAME KEY=V [KEY=V ...]'",
                        help="one more repaired arm, named NAME, with these overrides on top of --dyngan-set")
    parser.add_argument("--arms", default="continued,restarted,repaired,dyngan",
                        help="the follow-up arms to run (comma-separated; variants are added to them)")
    return parser.parse_args()


def baseline(job: dict) -> dict:
    from mspgsen import api

    config = api.configure(model=job["model"], data=job["data"], data_root=job["data_root"], seed=job["seed"],
                           steps=10**9, out=job["out"], overrides=[*RUN, *MODEL.get(job["model"], []),
                                                                   f"train.time_limit={job['budget']}", *job["set"]])
    result = api.train(config)
    return {"kind": "baseline", "seed": job["seed"], "run": str(result.run_dir), "steps": result.step, **result.metrics}


def follow_up(job: dict) -> dict:
    from mspgsen import api

    if job["kind"] == "continued":  # a copy of the baseline's folder, resumed: the baseline stays for other arms
        shutil.copytree(job["base"], job["out"])
        config = api.configure(base_run=job["out"], out=job["out"],
                               overrides=[f"train.time_limit={2 * job['budget']}"])
        result = api.train(config, resume=True)
    elif job["kind"] == "restarted":  # the baseline's config and weights, fresh optimisers, no lr schedule
        config = api.configure(base_run=job["base"], out=job["out"],
                               overrides=["train.controllers=[]", f"train.time_limit={job['budget']}",
                                          f"train.init_from={job['base']}", *RESTART_LIKE_REPAIR.get(job["model"], [])])
        result = api.train(config)
    elif job["kind"].startswith("repaired"):
        result = api.repair(job["base"], time_limit=job["budget"], out=job["out"],
                            overrides=[*job["set"], *job["dyngan_set"], *job.get("variant", [])])
    else:
        config = api.configure(model="dyngan", data=job["data"], data_root=job["data_root"], seed=job["seed"],
                               steps=10**9, out=job["out"], overrides=[*RUN, *MODEL["dcgan"], *job["set"],
                                                                       f"train.time_limit={2 * job['budget']}",
                                                                       *job["dyngan_set"]])
        result = api.train(config)
    return {"kind": job["kind"], "seed": job["seed"], "run": str(result.run_dir), "steps": result.step, **result.metrics}


def table(rows: list[dict], data: str) -> str:
    columns = COLUMNS["points" if data in POINTS else "images"]
    lines = ["| run | seeds | steps | " + " | ".join(label for _, label, _ in columns) + " |",
             "| --- | --- | --- |" + " --- |" * len(columns)]
    order = ("baseline", "continued", "restarted", "repaired", "dyngan")
    kinds = sorted({r["kind"] for r in rows}, key=lambda k: (order.index(k.split("-")[0]) if k.split("-")[0] in order
                                                              else len(order), k))
    for kind in kinds:
        chosen = [r for r in rows if r["kind"] == kind]
        if chosen:
            cells = [_pm([scale * r[key] for r in chosen if key in r]) for key, _, scale in columns]
            lines.append(f"| {kind} | {len(chosen)} | {_pm([r['steps'] for r in chosen])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pm(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "–"
    spread = f" ± {statistics.stdev(finite):.3g}" if len(finite) > 1 else ""
    return f"{statistics.mean(finite):.4g}{spread}"


def main() -> None:
    args = parse_args()
    root = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    common = {"data_root": args.data_root, "budget": args.budget, "set": args.set, "dyngan_set": args.dyngan_set,
              "model": args.model, "data": args.data}
    arms = {kind: [] for kind in args.arms.split(",") if kind}
    if "dyngan" in arms and args.model != "dcgan":
        raise SystemExit("the dyngan arm trains DynGAN with a dcgan baseline's networks; with --model "
                         f"{args.model} leave it out: --arms continued,restarted,repaired")
    for variant in args.repair_variant:
        name, *overrides = variant.split()
        arms[name if name.startswith("repaired") else f"repaired-{name}"] = overrides
    with ProcessPoolExecutor(args.jobs) as pool:
        bases = list(pool.map(baseline, [{**common, "seed": s, "out": str(root / f"baseline-seed{s}")}
                                         for s in range(args.first_seed, args.first_seed + args.seeds)]))
        jobs = [{**common, "seed": b["seed"], "kind": kind, "variant": variant, "base": b["run"],
                 "out": str(root / f"{kind}-seed{b['seed']}")} for b in bases for kind, variant in arms.items()]
        jobs.sort(key=lambda job: job["kind"] != "dyngan")  # the longest first: the pool ends sooner
        followed = list(pool.map(follow_up, jobs))
    rows = bases + followed
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rows += [json.loads(line) for path in args.earlier for line in Path(path).read_text().splitlines() if line]
    follow = ", ".join(kind for kind in arms if kind != "dyngan")
    scratch = f"; dyngan {2 * args.budget:g} s from scratch" if "dyngan" in arms else ""
    print(f"\n{args.model} on {args.data}: baseline {args.budget:g} s; {follow} {args.budget:g} s more{scratch}; "
          f"seeds {sorted({r['seed'] for r in rows})}; runs in {root}\n")
    print(table(rows, args.data))


if __name__ == "__main__":
    main()
