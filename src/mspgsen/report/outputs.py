"""What a run writes beside its checkpoints: previews while training, figures and metrics at the end."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from mspgsen.config import RunConfig
from mspgsen.data.base import DataSource
from mspgsen.evaluation.points import PointEvaluator
from mspgsen.metrics.stacked_mnist import PROTOCOL_SAMPLES as STACKED_SAMPLES
from mspgsen.report.plots import save_image_grid, save_partition_timeline, save_scatter, save_training_curves
from mspgsen.sampling import draw
from mspgsen.support.rundir import RunDir
from mspgsen.training.disk_budget import PREVIEW_IMAGES  # counted in the disk budget too
from mspgsen.training.state import TrainingState

PREVIEW_SEED = 1234  # previews use the same latents at every step, so they can be compared
PREVIEW_POINTS = 2500


def write_preview(state: TrainingState, run: RunDir, source: DataSource, path: Path | None = None,
                  note: str = "") -> Path:
    run.samples.mkdir(exist_ok=True)
    path = path or run.samples / f"step-{state.step:07d}.png"
    count = PREVIEW_POINTS if state.shape.kind == "points" else PREVIEW_IMAGES
    samples = draw(state.family, state.sampling_generator(), count, PREVIEW_SEED, state.device,
                   state.precision)
    save_samples_figure(samples, path, source, f"{state.family.name} on {source.name}, step {state.step}{note}")
    return path


def save_samples_figure(samples: torch.Tensor, path: Path, source: DataSource | None, title: str) -> None:
    if samples.dim() == 2:
        save_scatter(samples, path, getattr(source, "centers", None), title)
    else:
        save_image_grid(samples, path, title=title)


def evaluate_points(family, generator, source, device, num_samples: int, seed: int = 0) -> dict[str, Any]:
    return PointEvaluator(source)(draw(family, generator, num_samples, seed, device))


def finish_run(state: TrainingState, run: RunDir, source: DataSource, config: RunConfig) -> dict[str, Any] | None:
    """Final figures and the metrics available offline (also written to metrics.json): the mode
    metrics on 2-D mixtures; on images those a classifier on disk allows, or a note naming the
    command that gives them."""
    if run.stats.is_file():
        save_training_curves(run.stats, run.path / "training_curves.png", run.metrics_log,
                             f"{state.family.name} on {source.name}, steps 0-{state.step}")
    for name, rows in state.family.timelines().items():  # family-owned histories (DynGAN's partitions)
        (run.path / f"{name}.json").write_text(json.dumps(rows, indent=1))
        if name == "partitions":
            save_partition_timeline(rows, run.path / "partitions.png", f"{state.family.name} on {source.name}")
    if not hasattr(source, "centers"):
        write_preview(state, run, source, run.path / "samples.png")
        return record_image_metrics(state, run, config) if config.train.final_eval_n else None
    metrics = record_point_metrics(run, state.family, state.sampling_generator(), source, state.device,
                                   config.train.eval_samples, state.step, state.ema is not None)
    coverage = (f"\n{metrics['modes_covered']}/{metrics['num_modes']} modes, {100 * metrics['high_quality']:.1f}% "
                f"within 3σ, KL {metrics['kl']:.3f} ({metrics['num_samples']} samples)")
    write_preview(state, run, source, run.path / "samples.png", coverage)
    return metrics


def write_report_page(run: RunDir) -> Path:
    """RUN/report.html: the run on one page (report/page.py)."""
    from mspgsen.report.page import write_page
    from mspgsen.report.run_record import read_run

    record = read_run(run.path)
    title = f"{record.family} on {record.data.get('name', '?')}: {run.path.name}"
    return write_page([record], run.path / "report.html", title)


def record_image_metrics(state: TrainingState, run: RunDir, config: RunConfig) -> dict[str, Any]:
    """Classifier-feature FID (and Stacked MNIST's modes) of the finished generator where a classifier
    for the data is on disk; otherwise the note that says how to get them."""
    from mspgsen.evaluation.classifier import default_path, ensure_classifier
    from mspgsen.evaluation.images import ImageEvaluator, to_uint8

    data = config.data
    ensure_classifier(data, state.device)
    metrics = ["modes"] if data.name == "stacked-mnist" and default_path("mnist").is_file() else []
    if default_path(data.name).is_file():
        metrics.append("fid")
    info: dict[str, Any] = {"step": state.step, "generator": "ema" if state.ema else "raw"}
    if not metrics:
        info["note"] = (f"no quality figure: no classifier for {data.name} on this machine. `mspgsen classifier train "
                        f"--data {data.name}` trains one; then `mspgsen evaluate --run {run.path} --features "
                        "classifier` (or --features inception with Inception weights).")
        write_metrics(run, {"images": info})
        return info
    count = STACKED_SAMPLES if "modes" in metrics else config.train.final_eval_n
    evaluator = ImageEvaluator(metrics, "classifier", data, "train", state.shape.size, state.shape.channels,
                               state.device)
    samples = draw(state.family, state.sampling_generator(), count, 0, state.device, state.precision)
    info.update(samples=count, features="classifier", reference="train", **evaluator(to_uint8(samples)))
    write_metrics(run, {"images": info})
    return info


def record_point_metrics(run: RunDir, family, generator, source, device, num_samples: int, step: int,
                         ema: bool, seed: int = 0) -> dict[str, Any]:
    """The 2-D mode metrics of `generator`, annotated with its step and kind, written to metrics.json."""
    metrics = evaluate_points(family, generator, source, device, num_samples, seed)
    metrics.update(step=step, generator="ema" if ema else "raw")
    write_metrics(run, {"modes2d": metrics})
    return metrics


def write_metrics(run: RunDir, new: dict[str, Any]) -> None:
    existing = json.loads(run.metrics.read_text()) if run.metrics.is_file() else {}
    existing.update(new)
    run.metrics.write_text(json.dumps(existing, indent=2) + "\n")
