"""`mspgsen evaluate`: a run's generator, or a file of samples, measured by the evaluator of its kind
of data (evaluation/); the results also go to the run's metrics.json."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.errors import UserError
from mspgsen.evaluation import ImageEvaluator, load_sample_file, parse_metrics, to_uint8
from mspgsen.metrics.stacked_mnist import PROTOCOL_SAMPLES as STACKED_SAMPLES
from mspgsen.report.outputs import record_point_metrics, write_metrics
from mspgsen.sampling import draw, load_generator
from mspgsen.training.device import resolve_device
from mspgsen.training.hardware import choose_precision
from mspgsen.support.rundir import existing_run_dir

DEFAULT_IMAGE_METRICS = ("fid", "is", "kid", "prc")
IMAGE_SAMPLES = 10_000  # generated images per image evaluation unless --n says otherwise


def evaluate(run_dir: str | Path | None = None, samples: str | Path | None = None, num_samples: int | None = None,
             metrics: str | None = None, ref: str = "train", features: str = "inception", data: str | None = None,
             data_root: str | None = None, inception_weights: str | None = None, classifier: str | None = None, seed: int = 0,
             device: str = "cpu") -> dict[str, Any]:
    """Measure a run's generator (EMA when kept), or a file of samples made elsewhere.

    Point runs get the 2-D mode metrics; image runs FID, IS, KID and precision/recall on Inception
    (or, with features="classifier", labelled classifier) features, and Stacked MNIST modes.
    Results are also written to the run's metrics.json.
    """
    torch_device = resolve_device(device)
    if (run_dir is None) == (samples is None):
        raise UserError("give either --run DIR or --samples FILE.npz.")
    run = existing_run_dir(run_dir) if run_dir is not None else None
    loaded = load_generator(run, torch_device) if run else None
    if loaded and loaded.shape.kind == "points":
        return _evaluate_points(run, loaded, num_samples, seed, torch_device)
    data_config = loaded.config.data if loaded else DataConfig(name=data or ref, root=data_root)
    wanted = parse_metrics(metrics, DEFAULT_IMAGE_METRICS + (("modes",) if data_config.name == "stacked-mnist" else ()))
    count = num_samples or (STACKED_SAMPLES if "modes" in wanted else IMAGE_SAMPLES)
    def evaluator_for(size: tuple[int, int], channels: int) -> ImageEvaluator:
        return ImageEvaluator(wanted, features, data_config, ref, size, channels, torch_device, inception_weights,
                              classifier)

    if loaded:  # the evaluator first: missing weights or classifier are reported before any sampling
        evaluator = evaluator_for(loaded.shape.size, loaded.shape.channels)
        images = to_uint8(draw(loaded.family, loaded.generator, count, seed, torch_device,
                               sampling_precision(loaded, torch_device), show_progress=True))
    else:
        images = load_sample_file(samples)
        evaluator = evaluator_for(tuple(images.shape[-2:]), images.shape[1])
    results: dict[str, Any] = {"samples": len(images)}
    if set(wanted) - {"modes"}:  # Stacked MNIST's mode count reads no reference set and no extractor's features
        results.update(reference=ref, features=features)
    results.update(evaluator(images))
    if run:
        write_metrics(run, {"images": {**results, "step": loaded.step, "generator": "ema" if loaded.ema else "raw"}})
    return results


def sampling_precision(loaded, device: torch.device) -> str:
    """The precision the run's own setting gives on this device (bf16 for images on a CPU with native bf16)."""
    return choose_precision(loaded.config.train.precision, device, loaded.shape.kind).value


def _evaluate_points(run, loaded, num_samples, seed, device) -> dict[str, Any]:
    return record_point_metrics(run, loaded.family, loaded.generator, load_data(loaded.config.data),
                                device, num_samples or loaded.config.train.eval_samples, loaded.step, loaded.ema,
                                seed)
