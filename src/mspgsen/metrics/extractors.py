"""Feature extractors for image metrics: Inception-v3 through torch-fidelity, or a project classifier.

Both take uint8 images `[N, C, H, W]` and return `{"features": [N, D], "logits": [N, K]}`. Their
`name` goes into every metric key they produce, so classifier numbers are never mistaken for
Inception ones.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mspgsen.errors import UserError

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's conversion of the TF graph
INCEPTION_ENV = "MSPGSEN_INCEPTION_WEIGHTS"
OFFLINE_ENV = "MSPGSEN_OFFLINE"  # set: never try to download weights
EXTRACT_BATCH = 250


class ClassifierFeatures:
    """Penultimate features and logits of a classifier trained by mspgsen on the same data set."""

    def __init__(self, model: nn.Module, name: str, input_shape: tuple[int, int, int],
                 device: torch.device | str = "cpu"):
        self.model, self.name, self.input_shape, self.device = model.to(device).eval(), name, input_shape, device

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features, logits = [], []
        for chunk in images.split(EXTRACT_BATCH):
            x = adapt_images(chunk.to(self.device), self.input_shape).float() / 127.5 - 1
            hidden = self.model.features(x)
            features.append(hidden.float().cpu())
            logits.append(self.model.head(hidden).float().cpu())
        return {"features": torch.cat(features), "logits": torch.cat(logits)}


class InceptionFeatures:
    """torch-fidelity's Inception-v3 (pool3 2048-d features, unbiased logits): the published-FID network."""

    name = "inception"

    def __init__(self, weights: str | Path | None = None, device: torch.device | str = "cpu",
                 allow_download: bool | None = None):
        from torch_fidelity import FeatureExtractorInceptionV3

        if allow_download is None:
            allow_download = not os.environ.get(OFFLINE_ENV)
        path = resolve_inception_weights(weights, allow_download)
        try:
            self.model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                                     feature_extractor_weights_path=str(path) if path else None,
                                                     verbose=False).to(device)
        except (OSError, RuntimeError, ValueError) as err:  # no network, or a file of another format
            raise UserError(_missing_weights_message(f"they could not be loaded ({str(err).splitlines()[0]})")) from None
        self.device = device

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features, logits = [], []
        for chunk in images.split(EXTRACT_BATCH):
            pool, logit = self.model(adapt_images(chunk.to(self.device), (3, *chunk.shape[-2:])))
            features.append(pool.float().cpu())
            logits.append(logit.float().cpu())
        return {"features": torch.cat(features), "logits": torch.cat(logits)}


def resolve_inception_weights(explicit: str | Path | None, allow_download: bool) -> Path | None:
    """The weights file to use: the given path, $MSPGSEN_INCEPTION_WEIGHTS, torch-fidelity's cache; None
    means torch-fidelity may download it. Anything named but missing is an error, not a silent fallback."""
    for where, value in (("--inception-weights", explicit), (INCEPTION_ENV, os.environ.get(INCEPTION_ENV))):
        if value:
            if not Path(value).is_file():
                raise UserError(f"{where} names {value}, which does not exist.")
            return Path(value)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    if cached.is_file():
        return cached
    if not allow_download:
        raise UserError(_missing_weights_message("none were found"))
    return None


def _missing_weights_message(reason: str) -> str:
    return (f"Inception-v3 weights are needed for --features inception, but {reason}. Download {INCEPTION_FILE} "
            f"(torch-fidelity's release) where the network allows and pass --inception-weights PATH or set "
            f"{INCEPTION_ENV}; or use --features classifier (features of a classifier mspgsen trains on the same "
            f"data set; labelled as such, not comparable with published FIDs).")


def adapt_images(images: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """uint8 images to the extractor's channels (1↔3) and, for classifiers, its size."""
    channels, height, width = shape
    if images.shape[1] == 1 and channels == 3:
        images = images.expand(-1, 3, -1, -1)
    elif images.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)
        images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)
    if tuple(images.shape[-2:]) != (height, width):
        resized = F.interpolate(images.float(), size=(height, width), mode="bilinear", antialias=True,
                                align_corners=False)
        images = resized.round().clamp(0, 255).to(torch.uint8)
    return images
