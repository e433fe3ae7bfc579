"""`mspgsen list` and `mspgsen classifier train`: what is available, and the classifier whose
features `--features classifier` reads."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from mspgsen.config import DataConfig
from mspgsen.data import DATASETS
from mspgsen.families import FAMILIES
from mspgsen.training.device import resolve_device


def models() -> list[dict[str, Any]]:
    """Every registered family with its aliases, summary and default config."""
    return [{"name": name, "aliases": FAMILIES.aliases_of(name), "summary": cls.summary,
             "defaults": dataclasses.asdict(cls.Config())} for name, cls in FAMILIES]


def datasets() -> list[dict[str, str]]:
    return [{"name": name, "description": entry.description} for name, entry in DATASETS]


def train_classifier(data: str, data_root: str | None = None, epochs: int = 3, out: str | Path | None = None,
                     device: str = "auto", image_size: str | None = None) -> Path:
    """Train and save the classifier whose features `--features classifier` uses for `data`."""
    from mspgsen.evaluation import classifier as classifiers

    if classifiers.classifier_data(data) != data:
        print(f"{data}'s samples are read by the {classifiers.classifier_data(data)} classifier: training that one",
              flush=True)
        data = classifiers.classifier_data(data)
    config = DataConfig(name=data, root=data_root, image_size=image_size)
    trained = classifiers.train_classifier(config, epochs=epochs, device=resolve_device(device))
    return classifiers.save_classifier(trained, Path(out) if out else classifiers.default_path(data))
