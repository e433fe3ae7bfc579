"""Shared fixtures: tiny configs, a private cache, the verified data in ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MSPGSEN_TEST_DATA", REPO.parent / "shared" / "data"))

# Small networks and few steps: every family trains in about a second on CPU.
TINY = ["train.progress=false", "train.log_every=5", "train.sample_every=1000000", "train.checkpoint_every=1000000",
        "model.width=8", "model.mlp_width=32", "model.mlp_depth=2", "train.eval_samples=500",
        "train.final_eval_n=500",
        # one thread: the automatic count follows the machine's load (2 threads on an idle 2-core CPU, 1
        # beside another job), and two runs a test compares must not round differently
        "train.threads=1"]


def pytest_collection_modifyitems(items):
    """A test that needs the MNIST classifier (trained once per session, about a minute) is slow."""
    for item in items:
        if "mnist_classifier" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    os.environ["MSPGSEN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["MSPGSEN_OFFLINE"] = "1"  # tests never reach for the network
    os.environ["TORCH_HOME"] = str(tmp_path_factory.mktemp("torch-home"))  # no stray cached weights
    torch.set_num_threads(1)


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"verified data not found at {SHARED_DATA} (set MSPGSEN_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture
def tiny_images(tmp_path) -> Path:
    """48 random 3x16x16 images with labels, as an .npz file."""
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, images=rng.integers(0, 256, (48, 16, 16, 3), dtype=np.uint8), labels=rng.integers(0, 3, 48))
    return path


def tiny_config(tmp_path: Path, model: str = "dcgan", data: str = "ring8", steps: int = 4, name: str = "run",
                extra: list[str] = (), **flags):
    from mspgsen import api

    flags.setdefault("batch_size", 16)
    return api.configure(model=model, data=str(data), steps=steps, out=str(tmp_path / name), device="cpu",
                         overrides=[*TINY, *extra], **flags)


@pytest.fixture(scope="session")
def mnist_classifier(tmp_path_factory):
    """The MNIST digit classifier, trained once per test session (about two minutes on 2 CPU cores)."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"verified data not found at {SHARED_DATA}")
    from mspgsen import api
    from mspgsen.evaluation.classifier import default_path, load_classifier

    path = default_path("mnist")  # a run on MNIST data may have trained it already, as it does on first need
    if not path.is_file():
        api.train_classifier("mnist", data_root=str(SHARED_DATA), device="cpu")
    return load_classifier(path)
