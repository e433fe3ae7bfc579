"""The project's own classifiers: trained once per data set, saved, reused by the metrics.

    mspgsen classifier train --data mnist --data-root ../shared/data
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.data.images import ImageTensorSource
from mspgsen.data.paths import cache_dir
from mspgsen.errors import UserError
from mspgsen.nn.classifier import ImageClassifier
from mspgsen.support.checkpoint import atomic_write, read_metadata
from mspgsen.support.console import progress_bar


@dataclass
class TrainedClassifier:
    model: ImageClassifier
    data: str  # the data set it was trained on: part of every metric name it produces
    shape: tuple[int, int, int]
    class_names: list[str]
    test_accuracy: float

    @property
    def extractor_name(self) -> str:
        return f"classifier:{self.data}"


# data sets whose samples another data set's classifier reads: Stacked MNIST digit by digit, by MNIST's
READ_BY = {"stacked-mnist": "mnist"}
# the named, labelled image data sets whose classifier a run trains by itself the first time it needs it
NAMED_LABELLED = ("mnist", "fashion-mnist", "cifar10")


def classifier_data(data: str) -> str:
    """The data set whose classifier reads `data`'s samples."""
    return READ_BY.get(data, data)


def ensure_classifier(config: DataConfig, device: torch.device | str = "cpu", log=print) -> Path | None:
    """The classifier that reads `config`'s samples, trained once per machine (and cached where
    `mspgsen classifier train` keeps it) the first time a run needs it; None for data sets other
    than the named labelled ones (a folder or .npz: `mspgsen classifier train` makes one)."""
    from dataclasses import replace

    name = classifier_data(config.name)
    path = default_path(name)
    if path.is_file() or name not in NAMED_LABELLED:
        return path if path.is_file() else None
    log(f"no {name} classifier on this machine yet: training it once (its figures read {config.name}'s samples; "
        f"kept in {path})")
    save_classifier(train_classifier(replace(config, name=name, limit=None), device=device, log=log), path)
    return path


def default_path(data: str) -> Path:
    """Where `mspgsen classifier train --data NAME` keeps its classifier (one per data set)."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(data).name or data)
    return cache_dir("classifiers") / f"{slug}.safetensors"


def train_classifier(config: DataConfig, epochs: int = 3, batch_size: int = 128, lr: float = 2e-3,
                     device: torch.device | str = "cpu", seed: int = 0, log=print) -> TrainedClassifier:
    """Train on `config`'s train split; report accuracy on its test split."""
    train_set = _labelled(load_data(_split(config, "train")))
    test_set = _labelled(load_data(_split(config, "test")))
    torch.manual_seed(seed)
    model = ImageClassifier(train_set.shape.channels, train_set.shape.num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(train_set) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    stream = train_set.stream(batch_size, seed, torch.device(device))
    started = time.perf_counter()
    model.train()
    with progress_bar(steps, f"classifier on {train_set.name}", "step") as bar:
        for step in range(steps):
            batch = stream.next()
            logits = model(batch.x)
            loss = F.cross_entropy(logits, batch.y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update(1)
            if step % 50 == 0:  # one host sync now and then, for the figures a user watches
                accuracy = (logits.argmax(1) == batch.y).float().mean()
                bar.set_postfix_str(f"epoch {1 + step * epochs // steps}/{epochs}  loss {loss.item():.3f}  "
                                    f"batch accuracy {100 * accuracy.item():.1f}%")
    accuracy = test_accuracy(model, test_set, device)
    log(f"classifier on {train_set.name}: {epochs} epochs in {time.perf_counter() - started:.0f}s, "
        f"test accuracy {100 * accuracy:.2f}%")
    return TrainedClassifier(model.eval(), config.name, train_set.shape.dims, train_set.class_names, accuracy)


@torch.no_grad()
def test_accuracy(model: ImageClassifier, source: ImageTensorSource, device, batch_size: int = 1000) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(source), batch_size):
        pixels = source.images[start:start + batch_size].to(device).float() / 127.5 - 1
        correct += int((model(pixels).argmax(1).cpu() == source.labels[start:start + batch_size]).sum())
    return correct / len(source)


def save_classifier(trained: TrainedClassifier, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in trained.model.state_dict().items()}
    metadata = {"data": trained.data, "shape": json.dumps(trained.shape), "classes": json.dumps(trained.class_names),
                "test_accuracy": str(trained.test_accuracy)}
    atomic_write(path, lambda temporary: save_file(tensors, str(temporary), metadata=metadata))
    return path


def load_classifier(path: Path, device: torch.device | str = "cpu") -> TrainedClassifier:
    metadata = read_metadata(path)
    shape, classes = tuple(json.loads(metadata["shape"])), json.loads(metadata["classes"])
    model = ImageClassifier(shape[0], len(classes))
    model.load_state_dict(load_file(str(path)))
    return TrainedClassifier(model.to(device).eval(), metadata["data"], shape, classes,
                             float(metadata["test_accuracy"]))


def find_classifier(data: str, path: str | Path | None = None, device: torch.device | str = "cpu") -> TrainedClassifier:
    path = Path(path) if path else default_path(data)
    if not path.is_file():
        raise UserError(f"no classifier for {data} at {path}; train one first with "
                        f"`mspgsen classifier train --data {data}` (add --data-root where the data lives).")
    return load_classifier(path, device)


def _split(config: DataConfig, split: str) -> DataConfig:
    from dataclasses import replace

    return replace(config, split=split)


def _labelled(source) -> ImageTensorSource:
    if not isinstance(source, ImageTensorSource) or source.labels is None:
        raise UserError(f"{source.name} has no class labels: a classifier needs a labelled image data set "
                        "(sub-folders as classes, or labels in the .npz).")
    return source
