"""Experiments over many runs: `mspgsen ablate` (the full model and each one-off variant) and
`mspgsen sweep` (one setting at a time over a list of values, seed 003's sensitivity figure).

Ablation:
A component is either a boolean model flag of the family (MSPG-SEN's `dema`, `gctdrn`, `afe`,
`multiscale`, `progressive`, `conditional`) or a registered controller (`apfl`, `balance`); a family
names the components it is ablated over by default (`Family.ablation_components`). The full model
has every listed component on; the variant `-X` has X off and everything else as in the full
model. Each variant is trained for every seed; the table gives mean ± std over seeds and a 95%
confidence interval (Student's t) per metric, and the difference of the main metric from the
full model.

Sweep: every `key=v1,v2,...` is varied alone, the others at their defaults; every setting is
trained for every seed, and the table gives the final metric per setting; with
`train.eval_every` set the plot shows the metric over training, one curve per setting.
"""
from __future__ import annotations

import dataclasses
import json
import math
import statistics
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mspgsen.commands.protocol import Protocol
from mspgsen.errors import UserError
from mspgsen.evaluation.registry import METRICS, Metric, headline, metric
from mspgsen.support.console import progress_bar

DEFAULT_CONTROLLER_COMPONENTS = ("apfl", "balance")  # for a family that names no components of its own
NOT_METRICS = {"variant", "seed", "steps", "batch_size", "run", "samples", "num_samples", "num_modes", "step"}


@dataclass
class Variant:
    name: str  # "full" or "-component"
    overrides: list[str]


@dataclass
class ExperimentResult:
    """What `ablate` and `sweep` leave: the table (also in `table_path`), its plot and every run."""

    kind: str  # "ablation" or "sweep"
    table: str
    table_path: Path
    plot_path: Path
    runs: list[dict[str, Any]]


def default_components(model: str) -> tuple[str, ...]:
    from mspgsen.families import FAMILIES

    return FAMILIES.get(model).ablation_components or DEFAULT_CONTROLLER_COMPONENTS


def plan_variants(model: str, components: list[str]) -> list[Variant]:
    """The full model and one variant per component, as config overrides."""
    from mspgsen.controllers import CONTROLLERS
    from mspgsen.families import FAMILIES

    family_config = FAMILIES.get(model).Config
    flags = {f.name for f in dataclasses.fields(family_config) if f.type in (bool, "bool", "bool | None")}
    for component in components:
        if component not in flags and component not in CONTROLLERS:
            known = sorted(flags) + CONTROLLERS.names()
            raise UserError(f"unknown component {component!r} for model {model}; choose from {', '.join(known)}.")
    controllers = [c for c in components if c not in flags]

    def overrides(off: str | None) -> list[str]:
        kept = [c for c in controllers if c != off]
        model_flags = [f"model.{c}={'false' if c == off else 'true'}" for c in components if c in flags]
        return [*model_flags, f"train.controllers=[{','.join(kept)}]"] if controllers else model_flags

    return [Variant("full", overrides(None)), *(Variant(f"-{c}", overrides(c)) for c in components)]


def ablate(model: str = "mspgsen", data: str = "grid25", seeds: int = 3, components: list[str] | None = None,
           **options: Any) -> ExperimentResult:
    """The full model and each one-off variant; `options`: the other fields of `Protocol`."""
    variants = plan_variants(model, list(components or default_components(model)))
    protocol = Protocol(model, data, seeds, **{"out": "runs/ablation", **options})
    runs, out = run_variants(variants, protocol)
    return write_report("ablation", f"Ablation of {model} on {data}", runs, variants, out, baseline="full")


def plan_sweep(settings: list[str]) -> list[Variant]:
    """`key=v1,v2,...` for each setting → one variant per value, the other keys at their defaults."""
    variants = []
    for setting in settings:
        key, sep, values = setting.partition("=")
        if not sep or not values:
            raise UserError(f"--vary expects key=value1,value2,... (e.g. model.latent_dim=64,128), got {setting!r}.")
        variants += [Variant(f"{key.strip()}={value.strip()}", [f"{key.strip()}={value.strip()}"])
                     for value in values.split(",")]
    return variants


def sweep(settings: list[str], model: str = "vaegan", data: str = "mnist", seeds: int = 1,
          **options: Any) -> ExperimentResult:
    """One run per value of each setting; `options`: the other fields of `Protocol`."""
    variants = plan_sweep(settings)
    protocol = Protocol(model, data, seeds, **{"out": "runs/sweep", **options})
    runs, out = run_variants(variants, protocol)
    return write_report("sweep", f"Sensitivity of {model} on {data}", runs, variants, out, curves=True)


def write_report(kind: str, title: str, runs: list[dict[str, Any]], variants: list[Variant], out: Path,
                 baseline: str | None = None, curves: bool = False) -> ExperimentResult:
    """`<kind>.md` (the table under a one-line header) and `<kind>.png` (bars of the final metric
    per variant, or with `curves` and periodic evaluations, the metric over training)."""
    from mspgsen.report.plots import save_ablation_plot, save_metric_curves

    seeds = len({r["seed"] for r in runs})
    header = f"{title}: {seeds} seed(s), {_length(runs)}, batch {runs[0]['batch_size']}.\n\n"
    table = summarise(runs, [v.name for v in variants], baseline=baseline)
    table_path, plot_path = out / f"{kind}.md", out / f"{kind}.png"
    table_path.write_text(header + table + "\n")
    key, main = main_metric(runs)
    scale, label = main.display_scale, main.label
    lines = {v.name: _curves([r for r in runs if r["variant"] == v.name], key, scale) for v in variants}
    if curves and all(len(line) > 1 for line in lines.values()):
        save_metric_curves(lines, label, title, plot_path)
    else:
        save_ablation_plot({v.name: [scale * r[key] for r in runs if r["variant"] == v.name] for v in variants},
                           label, title, plot_path)
    from mspgsen.report.page import write_page
    from mspgsen.report.run_record import read_run

    records = [read_run(r["run"]) for r in runs]
    write_page(records, out / f"{kind}.html", title, {Path(r["run"]): r["variant"] for r in runs},
               intro=header.strip())
    return ExperimentResult(kind, header + table, table_path, plot_path, runs)


def _length(runs: list[dict[str, Any]]) -> str:
    """How long each run trained: its steps, or its time limit and the range of steps that made."""
    steps = [r["steps"] for r in runs]
    if len(set(steps)) == 1:
        return f"{steps[0]} steps"
    limit = runs[0].get("time_limit", 0)
    return f"{limit:g} s of training each ({min(steps)}-{max(steps)} steps)" if limit else f"{min(steps)}-{max(steps)} steps"


def _curves(runs: list[dict[str, Any]], key: str, scale: float) -> list[tuple[int, float]]:
    """Mean over seeds of the periodic metric at each step (metrics.jsonl of each run)."""
    by_step: dict[int, list[float]] = {}
    for run in runs:
        path = Path(run["run"]) / "metrics.jsonl"
        for line in path.read_text().splitlines() if path.is_file() else []:
            row = json.loads(line)
            if key in row and math.isfinite(row[key]):
                by_step.setdefault(int(row["step"]), []).append(scale * row[key])
    return [(step, statistics.mean(values)) for step, values in sorted(by_step.items())]


@dataclass(frozen=True)
class Job:
    """One (variant, seed) of an experiment: what a worker process trains and measures."""

    protocol: Protocol
    variant: Variant
    seed: int
    out: str


def run_variants(variants: list[Variant], protocol: Protocol) -> tuple[list[dict[str, Any]], Path]:
    """Train every variant for every seed (in `protocol.workers` processes) and measure each; also runs.json."""
    if protocol.seeds < 1:
        raise UserError("--seeds must be at least 1.")
    out = Path(protocol.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [Job(protocol, variant, seed, str(out / f"{variant.name}-seed{seed}"))
            for variant in variants for seed in range(protocol.seeds)]
    configure_job(jobs[0])  # a bad key or data set fails here, once, before any training
    with progress_bar(len(jobs), f"{out.name}: runs", "run") as bar:
        runs = []
        if protocol.workers > 1:
            with ProcessPoolExecutor(protocol.workers) as pool:
                for run in pool.map(run_variant, jobs):
                    runs.append(run)
                    bar.update(1)
        else:
            for job in jobs:
                runs.append(run_variant(job))
                bar.update(1)
    (out / "runs.json").write_text(json.dumps(runs, indent=1))
    return runs, out


def configure_job(job: Job):
    from mspgsen.commands.train import configure

    p = job.protocol
    threads = ["train.threads=1"] if p.workers > 1 else []  # the cores are shared between the workers
    return configure(model=p.model, data=p.data, data_root=p.data_root, seed=job.seed, steps=p.steps,
                         batch_size=p.batch_size, device=p.device, out=job.out,
                         overrides=["train.progress=false", *threads, *p.overrides, *job.variant.overrides])


def run_variant(job: Job) -> dict[str, Any]:
    """Train one (variant, seed) and measure it; runs in a worker process when there are several."""
    from mspgsen.commands.evaluate import evaluate
    from mspgsen.commands.train import train

    p, config = job.protocol, configure_job(job)
    result = train(config)
    if result.metrics is not None:  # 2-D points: the mode metrics of the finished run
        measured = dict(result.metrics)
    else:
        measured = evaluate(result.run_dir, metrics=p.metrics, features=p.features, num_samples=p.num_samples,
                                device=p.device)
    numbers = {k: float(v) for k, v in measured.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {"variant": job.variant.name, "seed": job.seed, "steps": result.step,  # as trained (a time limit may end it)
            "time_limit": config.train.time_limit, "batch_size": config.train.batch_size, "run": str(result.run_dir),
            **numbers}


def main_metric(runs: list[dict[str, Any]]) -> tuple[str, Metric]:
    """The reported name and registry entry of the metric the Δ column and the plot show."""
    found = headline(runs[0])
    if found is not None:
        return found
    key = next(k for k in runs[0] if k not in NOT_METRICS and metric(k) is not None)
    return key, metric(key)


def columns_of(runs: list[dict[str, Any]]) -> list[tuple[str, float, str]]:
    """(reported name, display scale, label) of every registry metric the runs report, in their order."""
    known = [(k, metric(k)) for k in runs[0] if k not in NOT_METRICS and metric(k) is not None]
    known.sort(key=lambda pair: list(METRICS).index(pair[1].name))  # the registry's order: coverage first
    return [(k, m.display_scale, m.label if "[" not in k else f"{m.label} {k[k.index('['):]}") for k, m in known]


def summarise(runs: list[dict[str, Any]], variants: list[str], baseline: str | None = None) -> str:
    columns = columns_of(runs)
    key, main = main_metric(runs)
    scale, label, higher_better = main.display_scale, main.label, main.higher_is_better
    base = [scale * r[key] for r in runs if r["variant"] == baseline]
    delta_header = f" Δ {label} vs {baseline} |" if baseline else ""
    if len({r["steps"] for r in runs}) > 1:  # a time budget: what each variant made of it is part of the result
        columns.append(("steps", 1.0, "steps"))
    lines = ["| variant | " + " | ".join(c[2] for c in columns) + f" |{delta_header}",
             "| --- |" + " --- |" * (len(columns) + bool(baseline))]
    for variant in variants:
        rows = [r for r in runs if r["variant"] == variant]
        cells = [interval([s * r[k] for r in rows]) for k, s, _ in columns]
        values = [scale * r[key] for r in rows]
        delta = ""
        if baseline:
            delta = " — |" if variant == baseline else f" {statistics.mean(values) - statistics.mean(base):+.2f} |"
        lines.append(f"| {variant} | " + " | ".join(cells) + f" |{delta}")
    better = "higher" if higher_better else "lower"
    note = (f" Δ: mean {label} of the variant minus the {baseline} model's ({better} is better)." if baseline
            else f" {label}: {better} is better.")
    lines.append(f"\nCells: mean ± std over seeds [95% confidence interval, Student's t].{note}")
    return "\n".join(lines)


def interval(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "∞"
    mean = statistics.mean(finite)
    note = f" (∞ in {len(values) - len(finite)})" if len(finite) < len(values) else ""
    if len(finite) < 2:
        return f"{mean:.2f}{note}"
    from scipy.stats import t

    std = statistics.stdev(finite)
    half = t.ppf(0.975, len(finite) - 1) * std / math.sqrt(len(finite))
    return f"{mean:.2f} ± {std:.2f} [{mean - half:.2f}, {mean + half:.2f}]{note}"
