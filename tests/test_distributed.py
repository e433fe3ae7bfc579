"""torchrun with the gloo backend on CPU, two processes: DDP trains, rank 0 checkpoints, a run
resumes, and two processes give the one-process run with the same global batch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mspgsen import api
from mspgsen.commands import train as train_command
from mspgsen.errors import UserError

from conftest import TINY

# Batch norm's statistics are per process on CPU, where SyncBatchNorm does not run: the runs that
# compare one process with two drop it.
NO_BATCH_NORM = ("model.g_norm=none", "model.d_norm=none")


def torchrun(tmp_path: Path, *args: str, processes: int = 2) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(Path(api.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               "-m", "mspgsen", "train", "--device", "cpu", *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, f"torchrun failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


@pytest.mark.slow
def test_two_processes_train_checkpoint_once_and_resume(tmp_path):
    run_dir = tmp_path / "ddp"
    common = ["--model", "wgan-gp", "--data", "ring8", "--batch-size", "32", "--out", str(run_dir),
              *sets(*TINY, "train.checkpoint_every=10", "train.log_every=5")]
    first = torchrun(tmp_path, *common, "--steps", "10")
    assert "x 2 processes" in first.stdout and first.stdout.count("training wgan-gp") == 1  # rank 0 speaks
    assert json.loads((run_dir / "metrics.json").read_text())["modes2d"]["step"] == 10
    rows = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [5, 10]  # one writer
    torchrun(tmp_path, *common, "--steps", "20", "--resume")
    saved = load_file(str(run_dir / "checkpoint.safetensors"))
    assert all(torch.isfinite(t).all() for t in saved.values() if t.is_floating_point())
    rows = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [5, 10, 15, 20]
    assert json.loads((run_dir / "metrics.json").read_text())["modes2d"]["step"] == 20


@pytest.mark.slow
@pytest.mark.parametrize("data", ["ring8", "images"])
def test_two_processes_equal_one_with_the_same_global_batch(tmp_path, tiny_images, data):
    data = str(tiny_images) if data == "images" else data
    # fp32: bf16 (auto on an AMX CPU) rounds the two splits of the batch differently, beyond the tolerance
    common = ["--model", "dcgan", "--data", data, "--batch-size", "16", "--steps", "12", "--precision", "fp32",
              *sets(*TINY, *NO_BATCH_NORM, "model.optim_g.lr=1e-3", "model.optim_d.lr=1e-3", "train.checkpoint_every=12")]
    torchrun(tmp_path, *common, "--out", str(tmp_path / "two"))
    torchrun(tmp_path, *common, "--out", str(tmp_path / "one"), processes=1)
    two = load_file(str(tmp_path / "two" / "checkpoint.safetensors"))
    one = load_file(str(tmp_path / "one" / "checkpoint.safetensors"))
    weights = [k for k in one if k.startswith("nets.")]
    assert weights
    for key in weights:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5, msg=lambda m: f"{key}: {m}")
    stats_two = json.loads((tmp_path / "two" / "stats.jsonl").read_text().splitlines()[-1])
    stats_one = json.loads((tmp_path / "one" / "stats.jsonl").read_text().splitlines()[-1])
    assert stats_two["D/adv"] == pytest.approx(stats_one["D/adv"], rel=1e-4)  # indicators averaged over ranks


def test_a_family_that_keeps_per_sample_state_refuses_several_processes(tmp_path):
    from mspgsen.training.distributed import World

    config = api.configure(model="dyngan", data="ring8", steps=2, device="cpu", out=str(tmp_path / "run"),
                           overrides=[*TINY, "data.size=512"])
    with pytest.raises(UserError, match="dyngan trains in one process only.*without torchrun"):
        train_command._train(config, False, World(rank=0, size=2), torch.device("cpu"))


def test_a_global_batch_that_does_not_split_over_the_processes_is_a_clear_error(tmp_path):
    from mspgsen.training.distributed import World

    config = api.configure(model="dcgan", data="ring8", steps=2, batch_size=30, device="cpu",
                           out=str(tmp_path / "run"), overrides=TINY)
    with pytest.raises(UserError, match="batch size 30 is the global batch.*multiple of 4"):
        train_command._train(config, False, World(rank=0, size=4), torch.device("cpu"))
