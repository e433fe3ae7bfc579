"""Image evaluation: samples and a reference set through one feature extractor, then FID / IS / KID /
precision-recall, and Stacked MNIST modes. Reference features are computed once and cached, keyed
by the data set, split, size, count and extractor that produced them."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

from mspgsen.evaluation.classifier import find_classifier
from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.data.paths import cache_dir
from mspgsen.errors import UserError
from mspgsen.metrics.extractors import ClassifierFeatures, InceptionFeatures
from mspgsen.metrics.features import (feature_statistics, frechet_distance, inception_score, kernel_distance,
                                      precision_recall)
from mspgsen.metrics.stacked_mnist import PROTOCOL_SAMPLES, StackedDigitReader, modes_from_logits
from mspgsen.support.checkpoint import atomic_write

IMAGE_METRICS = ("fid", "is", "kid", "prc", "modes")
Extractor = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def build_extractor(kind: str, data: str, device, inception_weights: str | None = None,
                    classifier_path: str | None = None) -> Extractor:
    if kind == "inception":
        return InceptionFeatures(inception_weights, device)
    if kind == "classifier":
        trained = find_classifier(data, classifier_path, device)
        return ClassifierFeatures(trained.model, trained.extractor_name, trained.shape, device)
    raise UserError(f"--features must be inception or classifier, got {kind!r}.")


def reference_images(config: DataConfig, ref: str, size: tuple[int, int], channels: int) -> tuple[str, torch.Tensor]:
    """The reference set: the run's data set (split train or test) or another folder / .npz, at the samples' size."""
    if ref in ("train", "test"):
        config = dataclasses.replace(config, split=ref)
    else:
        config = DataConfig(name=ref, root=config.root)
    config = dataclasses.replace(config, image_size=f"{size[0]}x{size[1]}", channels=channels, limit=None)
    source = load_data(config)
    if source.shape.kind != "images":
        raise UserError(f"the reference {ref!r} is not a set of images.")
    return f"{config.name}:{config.split}:{size[0]}x{size[1]}x{channels}", source.images


def cached_features(extractor: Extractor, key: str, images: torch.Tensor) -> dict[str, torch.Tensor]:
    digest = hashlib.sha1(f"{extractor.name}|{key}|{len(images)}|v1".encode()).hexdigest()[:20]
    path = cache_dir("reference") / f"{digest}.safetensors"
    if path.is_file():
        return load_file(str(path))
    features = extractor(images)
    atomic_write(path, lambda temporary: save_file({k: v.contiguous() for k, v in features.items()}, str(temporary),
                                                   metadata={"extractor": extractor.name, "reference": key}))
    return features


def image_metrics(samples: torch.Tensor, reference: dict[str, torch.Tensor], extractor: Extractor,
                  metrics: list[str]) -> dict[str, float]:
    """Metric values keyed by name; names carry the extractor unless it is Inception (`fid[classifier:mnist]`)."""
    generated = extractor(samples)
    label = "" if extractor.name == "inception" else f"[{extractor.name}]"
    values: dict[str, float] = {}
    if "fid" in metrics:
        values[f"fid{label}"] = frechet_distance(feature_statistics(generated["features"]),
                                                 feature_statistics(reference["features"]))
    if "is" in metrics:
        values[f"is_mean{label}"], values[f"is_std{label}"] = inception_score(generated["logits"])
    if "kid" in metrics:
        values[f"kid_mean{label}"], values[f"kid_std{label}"] = kernel_distance(generated["features"],
                                                                                 reference["features"])
    if "prc" in metrics:  # k-NN balls need equal-sized sets: a fixed random subset of the reference
        real = _subset(reference["features"], len(samples))
        values[f"precision{label}"], values[f"recall{label}"] = precision_recall(generated["features"], real)
    return values


def _subset(features: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    if len(features) <= n:
        return features
    return features[torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))[:n]]


class StackedModesMetric:
    """Stacked MNIST's modes, KL, confident share and classifier FID against real Stacked MNIST,
    from one pass of the digit classifier; its reference features are prepared (and cached) once."""

    def __init__(self, data: DataConfig, device, classifier_path: str | None = None):
        self.digits = find_classifier("mnist", classifier_path, device)
        self.reader = StackedDigitReader(self.digits.model, self.digits.extractor_name)
        # the first 26,000 training stacks: the protocol's sample count on the real side too
        real = dataclasses.replace(data, name="stacked-mnist", split="train", limit=PROTOCOL_SAMPLES,
                                   image_size=None)
        images = load_data(real).images
        self.reference = cached_features(self.reader, f"stacked-mnist:train:{len(images)}", images)

    def __call__(self, samples: torch.Tensor) -> dict[str, float]:
        read = self.reader(samples)
        result = modes_from_logits(read["logits"])
        fid = frechet_distance(feature_statistics(read["features"]), feature_statistics(self.reference["features"]))
        return {"stacked_modes": result.modes_covered, "stacked_kl": result.kl,
                "stacked_confident": result.confident_share, f"stacked_fid[{self.digits.extractor_name}]": fid,
                "stacked_samples": result.num_samples, "digit_classifier_accuracy": self.digits.test_accuracy}


class ImageEvaluator:
    """The chosen image metrics against one reference set: extractor and reference features prepared once."""

    def __init__(self, metrics: list[str], features: str, data: DataConfig, ref: str, size: tuple[int, int],
                 channels: int, device, inception_weights: str | None = None, classifier_path: str | None = None):
        self.metrics, self.device = metrics, device
        self.feature_metrics = [m for m in metrics if m != "modes"]
        self.stacked = StackedModesMetric(data, device, classifier_path) if "modes" in metrics else None
        self.extractor = None
        if self.feature_metrics:
            self.extractor = build_extractor(features, data.name, device, inception_weights, classifier_path)
            key, images = reference_images(data, ref, size, channels)
            self.reference = cached_features(self.extractor, key, images)

    def __call__(self, images: torch.Tensor) -> dict[str, float]:
        """`images`: uint8 `[N, C, H, W]`."""
        results = image_metrics(images, self.reference, self.extractor, self.feature_metrics) if self.extractor else {}
        if self.stacked:
            results.update(self.stacked(images))
        return results


def parse_metrics(text: str | None, default: tuple[str, ...]) -> list[str]:
    chosen = [m.strip() for m in text.split(",")] if text else list(default)
    unknown = [m for m in chosen if m not in IMAGE_METRICS]
    if unknown:
        raise UserError(f"unknown metric {unknown[0]!r}; choose from {', '.join(IMAGE_METRICS)}.")
    return chosen


def to_uint8(samples: torch.Tensor) -> torch.Tensor:
    return ((samples.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def load_sample_file(path: str | Path) -> torch.Tensor:
    from mspgsen.data.npz import load_npz_images

    path = Path(path)
    if not path.is_file() or path.suffix != ".npz":
        raise UserError(f"--samples must be an existing .npz file of images, got {path}.")
    return load_npz_images(path)[0]
