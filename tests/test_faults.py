"""kill -9 at random moments, one of them inside a checkpoint write, then --resume: every time
the checkpoint left on disk loads, at most one checkpoint interval is lost, and the finished run
equals one that was never killed, bit for bit."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import mspgsen
from support import faults

STEPS, CHECKPOINT_EVERY = 400, 50
TRAIN = ["--model", "dcgan", "--data", "ring8", "--device", "cpu", "--batch-size", "32", "--steps", str(STEPS),
         "--set", "train.progress=false", "--set", "train.log_every=10", "--set", "train.sample_every=100000",
         "--set", f"train.checkpoint_every={CHECKPOINT_EVERY}", "--set", "train.eval_samples=200",
         "--set", "model.mlp_width=64"]


def child_env():
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    src = str(Path(mspgsen.__file__).resolve().parents[1])  # the child imports the package under test
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    return env


@pytest.mark.slow
def test_kill_minus_9_at_random_moments_then_resume_loses_at_most_one_interval(tmp_path):
    env, rng = child_env(), random.Random(0)
    run_dir = tmp_path / "killed"
    args = [*TRAIN, "--out", str(run_dir)]
    kills = []
    # five kills: four after random steps, one while a checkpoint is being written
    moments = sorted(rng.sample(range(20, STEPS - 60), 4))
    plan = [("step", moments[0]), ("write", None), ("step", moments[1]), ("step", moments[2]), ("step", moments[3])]
    for kind, step in plan:
        resume = ["--resume"] if (run_dir / "config.yaml").exists() else []
        if kind == "write":
            kill = faults.kill_when([*args, *resume], run_dir, "during checkpoint write",
                                    faults.during_checkpoint_write, env, slow_checkpoint=3.0)
        else:
            step = max(step, faults.last_logged_step(run_dir) + 10)
            kill = faults.kill_when([*args, *resume], run_dir, f"after step {step}", faults.after_step(step), env)
        assert kill is not None, f"the run finished before the kill {kind} {step}"
        assert kill.loadable, f"checkpoint unreadable after {kill.moment}"
        assert kill.lost <= CHECKPOINT_EVERY, kill
        kills.append(kill)
    assert any(k.moment == "during checkpoint write" for k in kills)
    assert [k.checkpoint_step for k in kills] == sorted(k.checkpoint_step for k in kills)  # never went backwards

    finished = faults.run_to_end([*args, "--resume"], env)
    assert finished.returncode == 0, finished.stderr
    straight_dir = tmp_path / "straight"
    straight = faults.run_to_end([*TRAIN, "--out", str(straight_dir)], env)
    assert straight.returncode == 0, straight.stderr

    assert faults.checkpoint_on_disk(run_dir) == (STEPS, True)
    assert not list(run_dir.glob(".*.partial-*"))  # stale temporaries of the killed writes are gone
    a, b = load_file(str(run_dir / "checkpoint.safetensors")), load_file(str(straight_dir / "checkpoint.safetensors"))
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"killed-and-resumed run differs from a straight one: {different[:5]}"
    steps = [json.loads(line)["step"] for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert steps == list(range(10, STEPS + 1, 10))  # the log has each tick once, as if never killed


@pytest.mark.slow
def test_sigterm_finishes_the_step_writes_a_checkpoint_and_exits_0(tmp_path):
    run_dir = tmp_path / "term"
    kill = faults.kill_when([*TRAIN, "--out", str(run_dir)], run_dir, "after step 60", faults.after_step(60),
                            child_env(), sig=faults.signal.SIGTERM)
    assert kill is not None and kill.exit_code == 0
    # the checkpoint was written on the signal, at the step it stopped: no step lost
    assert kill.loadable and kill.checkpoint_step >= kill.last_logged_step >= 60
    assert kill.checkpoint_step < STEPS
