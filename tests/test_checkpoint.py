import os

import pytest
import torch

from mspgsen import api
from mspgsen.errors import UserError
from mspgsen.support import checkpoint
from mspgsen.support.checkpoint import load_state, save_state

from conftest import tiny_config


def test_nested_state_round_trips_with_types_kept(tmp_path):
    state = {"step": 7, "opt": {"state": {0: {"exp_avg": torch.randn(3), "step": torch.tensor(2.0)}},
                                "param_groups": [{"lr": 1e-4, "betas": (0.5, 0.999), "params": [0]}]},
             "rng": {"python": (3, (1, 2, 3), None)}, "flag": True, "none": None, "inf": float("inf")}
    save_state(tmp_path / "c.safetensors", state)
    loaded = load_state(tmp_path / "c.safetensors")
    assert loaded["opt"]["param_groups"][0]["betas"] == (0.5, 0.999)
    assert torch.equal(loaded["opt"]["state"][0]["exp_avg"], state["opt"]["state"][0]["exp_avg"])
    assert loaded["rng"]["python"] == (3, (1, 2, 3), None)
    assert (loaded["step"], loaded["flag"], loaded["none"], loaded["inf"]) == (7, True, None, float("inf"))


def test_a_crash_during_a_write_leaves_the_last_good_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    save_state(path, {"w": torch.ones(4)})

    def crash_midway(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_file", crash_midway)
    with pytest.raises(UserError, match=r"could not write .*disk full.*previous one is intact.*--resume"):
        save_state(path, {"w": torch.zeros(4)})
    assert torch.equal(load_state(path)["w"], torch.ones(4))
    assert os.listdir(tmp_path) == ["c.safetensors"]  # no partial file left behind


def test_a_damaged_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "c.safetensors"
    path.write_bytes(b"garbage")
    with pytest.raises(UserError, match="damaged or not a safetensors file"):
        load_state(path)


def test_a_run_folder_holds_config_checkpoint_snapshot_logs_and_figures(tmp_path):
    result = api.train(tiny_config(tmp_path, steps=10, extra=["train.sample_every=5"]))
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.yaml", "checkpoint.safetensors", "generator.safetensors", "stats.jsonl", "metrics.json",
            "samples.png", "training_curves.png", "tensorboard", "samples"} <= names
    assert sorted(p.name for p in (result.run_dir / "samples").iterdir()) == ["step-0000005.png", "step-0000010.png"]
    assert any((result.run_dir / "tensorboard").iterdir())
