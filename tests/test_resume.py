"""Stopping and resuming gives the same run as going straight through, bit for bit, on CPU."""
from __future__ import annotations

import signal

import pytest
import torch
from safetensors.torch import load_file

from mspgsen import api
from mspgsen.contracts import Controller
from mspgsen.controllers import CONTROLLERS, register_controller
from mspgsen.errors import UserError

from conftest import tiny_config


class CountingController(Controller):
    """A stateful controller: halves D's learning rate on every third tick it sees."""

    name = "test-counting"

    def __init__(self, config=None):
        self.ticks = 0

    def act(self, step, indicators, knobs):
        self.ticks += 1
        if self.ticks % 3 == 0:
            knobs.lr_scale["D"] = knobs.lr_scale.get("D", 1.0) * 0.5
            return {"halved": 1.0}
        return {}

    def state_dict(self):
        return {"ticks": self.ticks}

    def load_state_dict(self, state):
        self.ticks = state["ticks"]


def weights(run_dir) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "checkpoint.safetensors"))


class InterruptingController(Controller):
    """Sends the run SIGINT once, at its first tick at or after step 6, as a scheduler or Ctrl-C would."""

    name = "test-interrupt"

    def __init__(self, config=None):
        self.fired = False

    def act(self, step, indicators, knobs):
        if step >= 6 and not self.fired:
            self.fired = True
            signal.raise_signal(signal.SIGINT)
        return {}

    def state_dict(self):
        return {"fired": self.fired}

    def load_state_dict(self, state):
        self.fired = state["fired"]


for _controller in (CountingController, InterruptingController):
    if _controller.name not in CONTROLLERS:
        register_controller(_controller)


@pytest.mark.parametrize("model", ["dcgan", "wgan", "wgan-gp", "sagan", "sagan-wgangp"])
def test_n_steps_then_resume_equals_2n_straight(tmp_path, model):
    extra = ["train.controllers=[test-counting]", "train.log_every=2"]
    straight = api.train(tiny_config(tmp_path, model, steps=14, name="straight", extra=extra))
    api.train(tiny_config(tmp_path, model, steps=7, name="split", extra=extra))  # 7: off the tick grid
    resumed = api.train(api.configure(base_run=tmp_path / "split", out=str(tmp_path / "split"), steps=14),
                        resume=True)
    assert resumed.step == 14
    a, b = weights(straight.run_dir), weights(resumed.run_dir)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"differ after resume: {different[:5]}"


@pytest.mark.slow
@pytest.mark.parametrize("data", ["ring8", "images"])
def test_an_interrupted_mspgsen_run_resumes_exactly(tmp_path, tiny_images, data):
    """MSPG-SEN's own schedules (instance noise, progressive growth) depend on the step and the
    run's length, so the split run is interrupted rather than configured shorter."""
    data = tiny_images if data == "images" else data
    extra = ["train.log_every=2", "model.label_dropout=0.5", "model.progressive=true", "model.instance_noise=0.1"]
    straight = api.train(tiny_config(tmp_path, "mspgsen", data, steps=12, name="straight", extra=extra))
    stopped = api.train(tiny_config(tmp_path, "mspgsen", data, steps=12, name="split",
                                    extra=[*extra, "train.controllers=[test-interrupt]"]))
    assert not stopped.completed and stopped.step == 6
    resumed = api.train(api.configure(base_run=tmp_path / "split", out=str(tmp_path / "split")), resume=True)
    assert resumed.step == 12
    a, b = weights(straight.run_dir), weights(resumed.run_dir)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"differ after resume: {different[:5]}"


def test_resume_of_an_image_run_is_exact(tmp_path, tiny_images):
    straight = api.train(tiny_config(tmp_path, "sagan", tiny_images, steps=6, name="straight"))
    api.train(tiny_config(tmp_path, "sagan", tiny_images, steps=3, name="split"))  # 3 batches of 16 < 48: mid-epoch
    resumed = api.train(api.configure(base_run=tmp_path / "split", out=str(tmp_path / "split"), steps=6), resume=True)
    a, b = weights(straight.run_dir), weights(resumed.run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_fused_adam_resumes_a_channels_last_weight_exactly():
    """A checkpoint gives Adam's moments back row-major; the fused kernels read them as flat memory
    in the weight's layout, so a channels-last conv weight was updated with other elements'
    moments after a resume (CPU and CUDA alike) until the moments got the weight's layout."""
    from mspgsen.config import OptimizerConfig
    from mspgsen.training.optim import build_optimizer, match_parameter_layouts

    start = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(0)).to(memory_format=torch.channels_last)
    grads = torch.Generator().manual_seed(1)
    grads = [torch.randn(8, 3, 4, 4, generator=grads).to(memory_format=torch.channels_last) for _ in range(6)]

    def train(weight, optimizer, steps):
        for grad in steps:
            weight.grad = grad.clone(memory_format=torch.preserve_format)
            optimizer.step()

    def fresh(values):
        weight = torch.nn.Parameter(values.clone(memory_format=torch.preserve_format))
        optimizer = build_optimizer(OptimizerConfig(name="adam", lr=1e-3, betas=(0.5, 0.999)), [weight], torch.device("cpu"))
        return weight, optimizer

    straight, straight_opt = fresh(start)
    train(straight, straight_opt, grads)
    split, split_opt = fresh(start)
    train(split, split_opt, grads[:3])
    saved = split_opt.state_dict()
    stored = {"state": {i: {k: v.contiguous() for k, v in s.items()} for i, s in saved["state"].items()},
              "param_groups": saved["param_groups"]}  # as a safetensors checkpoint gives them back
    resumed, resumed_opt = fresh(split.detach())
    resumed_opt.load_state_dict(stored)
    match_parameter_layouts(resumed_opt)
    train(resumed, resumed_opt, grads[3:])
    assert torch.equal(resumed, straight)


def test_resume_refuses_to_change_the_model(tmp_path):
    api.train(tiny_config(tmp_path, steps=2))
    config = api.configure(base_run=tmp_path / "run", out=str(tmp_path / "run"), steps=4,
                           overrides=["model.mlp_width=64"])
    with pytest.raises(UserError, match="cannot change model.mlp_width when resuming"):
        api.train(config, resume=True)


def test_a_generator_without_checkpoint_gets_one_way_out_with_or_without_resume(tmp_path):
    config = tiny_config(tmp_path, steps=2)
    api.train(config)
    (tmp_path / "run" / "checkpoint.safetensors").unlink()
    messages = []
    for resume in (True, False):
        with pytest.raises(UserError, match="holds a trained generator .* but no checkpoint.safetensors") as raised:
            api.train(config, resume=resume)
        messages.append(str(raised.value))
    assert messages[0] == messages[1] and "another --out" in messages[0] and "delete the folder" in messages[0]


def test_a_finished_run_is_never_overwritten(tmp_path):
    config = tiny_config(tmp_path, steps=2)
    api.train(config)
    with pytest.raises(UserError, match="already holds a run; pass --resume"):
        api.train(config)


def test_resume_with_periodic_evaluation_is_exact_and_keeps_the_best(tmp_path):
    extra = ["train.eval_every=3", "train.eval_n=200", "train.log_every=3"]
    straight = api.train(tiny_config(tmp_path, "dcgan", steps=12, name="straight", extra=extra))
    api.train(tiny_config(tmp_path, "dcgan", steps=6, name="split", extra=extra))
    resumed = api.train(api.configure(base_run=tmp_path / "split", out=str(tmp_path / "split"), steps=12), resume=True)
    a, b = weights(straight.run_dir), weights(resumed.run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (straight.run_dir / "metrics.jsonl").read_text() == (resumed.run_dir / "metrics.jsonl").read_text()


def test_a_run_saved_by_the_previous_release_still_samples_and_resumes(tmp_path):
    """tests/fixtures/run-b28af6c: a 6-step dcgan run on ring8 saved by commit b28af6c (2026-12-07),
    before the config, CLI and support floor moved. It must still load, sample and resume."""
    import json
    import shutil
    from pathlib import Path

    import numpy as np

    from mspgsen.cli import main

    run = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "fixtures" / "run-b28af6c", run)
    assert main(["sample", "--run", str(run), "--n", "32", "--out", str(tmp_path / "s.npz")]) == 0
    assert np.load(tmp_path / "s.npz")["points"].shape == (32, 2)
    resumed = api.train(api.configure(base_run=run, out=str(run), steps=9), resume=True)
    assert resumed.completed and resumed.step == 9
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [3, 6, 9]
