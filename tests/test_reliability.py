"""No lost run: NaN rollback, a full disk, an unwritable folder (kill -9 is in test_faults.py)."""
from __future__ import annotations

import errno
import json
import shutil
from collections import namedtuple

import numpy as np
import pytest
import torch

from mspgsen import api
from mspgsen.errors import UserError
from mspgsen.support import checkpoint
from mspgsen.support.checkpoint import load_state

from conftest import TINY, tiny_config
from support import faults


def controller_log(run_dir):
    path = run_dir / "controller.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_a_nan_gradient_rolls_back_lowers_the_learning_rates_and_the_run_goes_on(tmp_path):
    with faults.nan_gradients({7}) as seen:
        result = api.train(tiny_config(tmp_path, "wgan-gp", steps=20, extra=["train.log_every=5"]))
    assert result.completed and result.step == 20
    assert seen == [7]  # the faulty step ran once; after the rollback steps 5-19 ran clean
    (action,) = [row for row in controller_log(result.run_dir) if row["controller"] == "divergence-guard"]
    assert (action["failed_at"], action["rolled_back_to"], action["lr_factor"]) == (10, 5, 0.5)
    saved = load_state(result.run_dir / "checkpoint.safetensors")
    assert saved["knobs"]["lr_factors"]["divergence-guard"] == {"G": 0.5, "D": 0.5}
    assert all(torch.isfinite(w).all() for w in saved["nets"].values())
    logged = [json.loads(line) for line in (result.run_dir / "stats.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logged] == [5, 10, 15, 20]  # the diverged tick was never logged
    assert logged[1]["lr/G"] == pytest.approx(0.5 * logged[0]["lr/G"])


def test_nan_that_keeps_coming_stops_the_run_after_k_rollbacks_and_keeps_the_checkpoint(tmp_path):
    config = tiny_config(tmp_path, "dcgan", steps=40, extra=["train.log_every=5", "train.checkpoint_every=5",
                                                             "train.max_rollbacks=2"])
    with faults.nan_gradients(set(range(7, 1000)), once=False), \
            pytest.raises(UserError, match=r"diverged \(NaN/Inf\) 2 times in a row.*last good checkpoint, .*checkpoint.safetensors, is kept"):
        api.train(config)
    run_dir = tmp_path / "run"
    saved = load_state(run_dir / "checkpoint.safetensors")
    assert saved["step"] == 5
    assert all(torch.isfinite(w).all() for w in saved["nets"].values())
    assert len([r for r in controller_log(run_dir) if r["controller"] == "divergence-guard"]) == 2


def test_divergence_before_any_checkpoint_says_that_none_was_written(tmp_path):
    config = tiny_config(tmp_path, "dcgan", steps=40, extra=["train.log_every=5", "train.checkpoint_every=1000",
                                                             "train.max_rollbacks=2"])
    with faults.nan_gradients(set(range(7, 1000)), once=False), \
            pytest.raises(UserError, match=r"2 times in a row.*No checkpoint had been written yet") as stopped:
        api.train(config)
    assert "kept" not in str(stopped.value)
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_a_disk_too_full_for_a_checkpoint_is_a_clear_error_before_training(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    with pytest.raises(UserError, match=r"only 1.0 MiB free in .*the run needs about [\d.]+ MiB: checkpoints "
                                        r"[\d.]+ MiB, logs and sample grids of its first 3 steps [\d.]+ MiB, "
                                        r"and a 25% margin.*another --out"):
        api.train(tiny_config(tmp_path, "dcgan", steps=3))
    assert not (tmp_path / "run").exists()  # no step was trained: no folder is left behind


def test_a_disk_that_fills_during_a_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    real_save_file, writes = checkpoint.save_file, []

    def fills_on_second_checkpoint(tensors, filename, metadata=None):
        writes.append(filename)
        if len(writes) == 2:
            with open(filename, "wb") as handle:
                handle.write(b"the first bytes of a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save_file(tensors, filename, metadata=metadata)

    monkeypatch.setattr(checkpoint, "save_file", fills_on_second_checkpoint)
    with pytest.raises(UserError, match=r"could not write .*checkpoint.safetensors \(No space left on device\); "
                                        r"the previous one is intact"):
        api.train(tiny_config(tmp_path, "dcgan", steps=12, extra=["train.checkpoint_every=5"]))
    run_dir = tmp_path / "run"
    assert load_state(run_dir / "checkpoint.safetensors")["step"] == 5
    assert not [p.name for p in run_dir.iterdir() if ".partial" in p.name]


def test_an_unwritable_output_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="cannot write to the run folder"):
        api.train(tiny_config(tmp_path, "dcgan", steps=2, name="file/run"))


def test_resuming_a_run_killed_before_its_first_checkpoint_starts_it_over(tmp_path):
    config = tiny_config(tmp_path, "dcgan", steps=6)
    api.train(config)
    for name in ("checkpoint.safetensors", "generator.safetensors"):  # as if killed before step 1000
        (tmp_path / "run" / name).unlink()
    resumed = api.train(config, resume=True)
    assert resumed.completed and resumed.step == 6
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    assert steps == [5, 6]  # the first attempt's rows were dropped, not duplicated


def test_weights_from_networks_that_have_since_changed_are_one_clear_error(tmp_path):
    """A run trained before its family's networks changed: counts and an example, not torch's key list."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    snapshot = api.train(tiny_config(tmp_path, "dcgan", steps=2)).run_dir / "generator.safetensors"
    with safe_open(str(snapshot), "pt") as saved:
        metadata, names = saved.metadata(), list(saved.keys())
        metadata = {k: v for k, v in metadata.items() if "checksum" not in k}  # as a run of that time wrote it
        weights = {("old." + name if name == names[0] else name): saved.get_tensor(name) for name in names}
    save_file(weights, str(snapshot), metadata=metadata)  # one tensor under a name the networks no longer have
    with pytest.raises(UserError, match=r"1 tensors missing, 1 unexpected, 0 of another shape; e\.g\. .*earlier"):
        api.sample(snapshot.parent, 4, tmp_path / "s.png")


def test_a_disk_that_fills_during_training_stops_the_run_in_one_line_and_resume_continues_exactly(tmp_path, capsys,
                                                                                                  monkeypatch):
    """TensorBoard's writer (any writer of the run) finding the disk full: one `mspgsen: error:` line
    naming the folder and the last checkpoint, exit 2, the checkpoint intact; once there is space
    again, --resume gives the straight run's weights bit for bit."""
    import errno

    from safetensors.torch import load_file
    from torch.utils.tensorboard import SummaryWriter

    from mspgsen.cli import main

    extra = ["train.log_every=5", "train.checkpoint_every=5"]
    straight = api.train(tiny_config(tmp_path, "dcgan", steps=20, name="straight", extra=extra))
    real_add_scalar, calls = SummaryWriter.add_scalar, []

    def disk_fills_at_step_15(self, name, value, step, *args, **kwargs):
        if step >= 15:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_add_scalar(self, name, value, step, *args, **kwargs)

    monkeypatch.setattr(SummaryWriter, "add_scalar", disk_fills_at_step_15)
    out = tmp_path / "full"
    args = ["train", "--model", "dcgan", "--data", "ring8", "--steps", "20", "--out", str(out), "--batch-size", "16",
            "--device", "cpu",
            *(f"--set={item}" for item in [*TINY, *extra, "train.progress=false"])]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mspgsen: error: could not write to")
    assert "No space left on device" in err and "checkpoint.safetensors (step 10), is intact" in err and "--resume" in err
    assert "Traceback" not in err
    monkeypatch.setattr(SummaryWriter, "add_scalar", real_add_scalar)  # space again
    assert main([*args, "--resume"]) == 0
    a, b = load_file(str(straight.run_dir / "checkpoint.safetensors")), load_file(str(out / "checkpoint.safetensors"))
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


@pytest.mark.parametrize("images, batch, message", [
    (np.zeros((0, 8, 8), np.uint8), 16, "has 0 images, fewer than the batch size 16"),
    (np.zeros((5, 8, 8), np.uint8), 16, "has 5 images, fewer than the batch size 16"),
])
def test_data_too_small_for_a_batch_is_one_line_and_leaves_no_folder(tmp_path, images, batch, message):
    np.savez(tmp_path / "few.npz", images=images)
    with pytest.raises(UserError, match=message):
        api.train(tiny_config(tmp_path, "dcgan", str(tmp_path / "few.npz"), steps=3, batch_size=batch))
    assert not (tmp_path / "run").exists()


def test_a_folder_the_user_made_is_kept_when_the_run_stops_before_its_first_step(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="only 1.0 MiB free"):
        api.train(tiny_config(tmp_path, "dcgan", steps=3))
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_memory_that_cannot_be_had_is_one_line_and_leaves_no_folder(tmp_path, monkeypatch):
    from mspgsen.training import loop

    def no_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 8000000000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(loop, "run_step", no_memory)
    with pytest.raises(UserError, match=r"not enough memory on cpu for a step at batch size 16 .*lower --batch-size"):
        api.train(tiny_config(tmp_path, "dcgan", steps=3))
    assert not (tmp_path / "run").exists()


def test_a_batch_the_machine_cannot_hold_is_refused_before_the_first_step_with_the_figure(tmp_path, monkeypatch):
    from mspgsen.training import memory

    monkeypatch.setattr(memory, "available_bytes", lambda device: 50 * 2**20)
    ran = []
    monkeypatch.setattr("mspgsen.training.loop.run_step", lambda *args: ran.append(1))
    with pytest.raises(UserError, match=r"dcgan at batch size 1000000 needs about [\d.]+ GiB of memory, but cpu "
                                        r"has 50 MiB free; lower --batch-size"):
        api.train(tiny_config(tmp_path, "dcgan", steps=3, batch_size=10**6))
    assert ran == [] and not (tmp_path / "run").exists()


def test_the_memory_estimate_grows_with_the_batch_and_leaves_the_random_state_alone(tmp_path):
    from mspgsen.data import load_data
    from mspgsen.families import FAMILIES
    from mspgsen.training.memory import step_bytes

    config = tiny_config(tmp_path, "mspgsen", "grid25")
    source = load_data(config.data)
    family = FAMILIES.get("mspgsen")(config.model, source.shape)
    before = torch.random.get_rng_state()
    sizes = {n: step_bytes(family, config, source, torch.device("cpu"), "fp32", n) for n in (32, 64, 6400)}
    assert torch.equal(torch.random.get_rng_state(), before)
    per_sample_small = (sizes[64] - sizes[32]) / 32
    per_sample_large = (sizes[6400] - sizes[64]) / 6336
    assert per_sample_small > 0 and per_sample_large == pytest.approx(per_sample_small, rel=0.05)


@pytest.mark.parametrize("model, data", [("dcgan", "ring8"), ("mspgsen", "ring8")])
def test_the_disk_budget_covers_what_a_run_writes_without_asking_for_much_more(tmp_path, model, data):
    from mspgsen.data import load_data
    from mspgsen.training.disk_budget import disk_budget

    config = tiny_config(tmp_path, model, data, steps=60, extra=["train.log_every=5", "train.sample_every=20",
                                                               "train.checkpoint_every=20"])
    run = api.train(config).run_dir
    written = sum(path.stat().st_size for path in run.rglob("*") if path.is_file())
    checkpoint_bytes = (run / "checkpoint.safetensors").stat().st_size
    budget = disk_budget(checkpoint_bytes, (run / "generator.safetensors").stat().st_size,
                         load_data(config.data).shape, config)
    # the folder at its end holds two checkpoints; while one is written, a third
    assert written + checkpoint_bytes <= budget.checkpoints + budget.logs
    assert budget.needed < 3 * (written + checkpoint_bytes) + 2 * 2**20


def test_a_folder_of_mostly_corrupt_jpegs_skipped_to_fewer_than_a_batch_is_one_line_and_leaves_no_folder(tmp_path):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(photos / f"good{i}.jpg")
    for i in range(20):  # a JPEG header and then nothing: what an interrupted copy leaves
        (photos / f"cut{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    with pytest.raises(UserError, match=r"has 3 images, fewer than the batch size 16; lower --batch-size"):
        api.train(tiny_config(tmp_path, "dcgan", str(photos), steps=3, extra=["data.on_corrupt=skip"]))
    assert not (tmp_path / "run").exists()
