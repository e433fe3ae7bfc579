"""What a new user meets: one-line errors with exit 2 and no run folder, plain progress lines in
logs, resume messages, file modes, damaged checkpoints, run folder names, image-run metrics."""
from __future__ import annotations

import json
import os
import stat

import pytest
import torch
from PIL import Image

from mspgsen import api
from mspgsen.cli import main
from mspgsen.errors import UserError
from mspgsen.support.checkpoint import load_state

from conftest import TINY, tiny_config


def tiny_args(tmp_path, *extra: str, steps: int = 2, name: str = "run") -> list[str]:
    sets = [arg for item in TINY for arg in ("--set", item)]
    return ["train", "--data", "ring8", "--steps", str(steps), "--batch-size", "16", "--device", "cpu",
            "--out", str(tmp_path / name), *sets, *extra]


@pytest.mark.parametrize("override, message", [
    ("model.optim_g.lr=-1", "'model.optim_g.lr' must be above 0"),
    ("model.optim_g.betas=[2,0.9]", r"'model.optim_g.betas' must be in \[0, 1\)"),
    ("model.optim_d.weight_decay=-1", "'model.optim_d.weight_decay' must be at least 0"),
    ("train.time_limit=-1", "'train.time_limit' must be at least 0"),
    ("train.eval_every=-5", "'train.eval_every' must be at least 0"),
    ("train.apfl.lr_gamma=1.5", r"'train.apfl.lr_gamma' must be in \(0, 1\]"),
])
def test_a_bad_value_is_one_line_exit_2_and_no_run_folder(tmp_path, capsys, override, message):
    assert main(tiny_args(tmp_path, "--set", override)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert __import__("re").search(message, err)
    assert not (tmp_path / "run").exists()


def test_a_family_default_keeps_its_base_rule():
    with pytest.raises(UserError, match="'model.n_critic' must be at least 1"):
        api.configure(model="wgan", overrides=["model.n_critic=0"])


def test_progress_written_to_a_file_is_plain_lines(tmp_path, capfd):
    args = tiny_args(tmp_path, "--set", "train.progress=true", steps=30)
    assert main(args) == 0
    out, err = capfd.readouterr()
    assert "\r" not in out + err
    assert "training: 30/30 step" in err  # the closing progress line


def test_resume_says_its_step_and_the_rows_it_dropped(tmp_path, capsys):
    config = tiny_config(tmp_path, steps=10, extra=["train.checkpoint_every=5", "train.log_every=2"])
    api.train(config)
    saved = load_state(tmp_path / "run" / "checkpoint.safetensors")
    assert saved["step"] == 10
    # a crash after a checkpoint at 5 would have left rows 6-10 behind: put the step-5 checkpoint back
    os.replace(tmp_path / "run" / "checkpoint.previous.safetensors", tmp_path / "run" / "checkpoint.safetensors")
    capsys.readouterr()
    api.train(config, resume=True)
    assert "resuming from the checkpoint of step 5; dropped 3 log row(s) written after it" in capsys.readouterr().out


def test_resuming_a_finished_run_says_so_and_trains_nothing(tmp_path, capsys):
    config = tiny_config(tmp_path, steps=4)
    api.train(config)
    capsys.readouterr()
    result = api.train(config, resume=True)
    printed = capsys.readouterr().out
    assert "already finished its 4 steps; nothing to do. Raise --steps (e.g. --steps 8)" in printed
    assert "resuming " not in printed and "training dcgan" not in printed and result.step == 4


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_checkpoints_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        api.train(tiny_config(tmp_path, steps=2))
    finally:
        os.umask(old)
    for name in ("checkpoint.safetensors", "generator.safetensors", "config.yaml"):
        assert stat.S_IMODE((tmp_path / "run" / name).stat().st_mode) == mode


def test_a_damaged_checkpoint_header_is_a_short_message(tmp_path):
    config = tiny_config(tmp_path, steps=2)
    api.train(config)
    path = tmp_path / "run" / "checkpoint.safetensors"
    content = bytearray(path.read_bytes())
    content[8:40] = b"x" * 32  # inside the JSON header
    path.write_bytes(bytes(content))
    (tmp_path / "run" / "checkpoint.previous.safetensors").unlink(missing_ok=True)
    with pytest.raises(UserError) as raised:
        api.train(dataclass_steps(config, 4), resume=True)
    message = str(raised.value)
    assert "damaged" in message and "{" not in message and len(message) < 600  # the cause, not the header dump


def dataclass_steps(config, steps: int):
    import dataclasses

    return dataclasses.replace(config, train=dataclasses.replace(config.train, steps=steps))


def test_a_flipped_byte_in_the_tensors_is_found_and_the_previous_checkpoint_used(tmp_path, capsys):
    config = tiny_config(tmp_path, steps=10, extra=["train.checkpoint_every=5"])
    api.train(config)
    path = tmp_path / "run" / "checkpoint.safetensors"
    content = bytearray(path.read_bytes())
    content[-100] ^= 0xFF  # in the tensor data, which parses fine
    path.write_bytes(bytes(content))
    with pytest.raises(UserError, match="tensors do not match the checksum"):
        load_state(path)
    capsys.readouterr()
    result = api.train(dataclass_steps(config, 12), resume=True)
    printed = capsys.readouterr().out
    assert "Resuming from checkpoint.previous.safetensors (step 5) instead" in printed and result.step == 12


def test_run_folders_name_enough_of_the_data_path(tmp_path, tiny_images, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "pets" / "test"
    folder.mkdir(parents=True)
    (folder / "tiny.npz").write_bytes(tiny_images.read_bytes())
    config = api.configure(model="dcgan", data=str(folder / "tiny.npz"), steps=1, batch_size=16, device="cpu",
                           overrides=TINY)
    assert api.train(config).run_dir.name == "00000-dcgan-test-tiny.npz"


def test_an_image_run_without_a_classifier_ends_with_a_note_in_metrics_json(tmp_path, tiny_images, capsys):
    assert main(tiny_args(tmp_path, "--data", str(tiny_images))) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["images"]
    assert metrics["step"] == 2 and "mspgsen classifier train --data" in metrics["note"]
    assert "mspgsen classifier train --data" in capsys.readouterr().out.splitlines()[-1]


def test_an_image_run_with_a_classifier_ends_with_its_fid(tmp_path, shared_data, mnist_classifier, capsys):
    args = tiny_args(tmp_path, "--data", "mnist", "--data-root", str(shared_data), "--set", "data.limit=64")
    assert main(args) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["images"]
    assert metrics["fid[classifier:mnist]"] > 0 and metrics["samples"] == 500
    assert "fid[classifier:mnist]" in capsys.readouterr().out.splitlines()[-1]


def test_list_explains_the_latent_size_and_shows_training_defaults(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "latent_dim=None" not in out and "latent_dim=100 on images, 8 on points" in out
    assert "training defaults (every model): steps 3000, batch 128" in out


def test_train_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "default 3000" in out and "default 128" in out and "default auto" in out


def test_a_grid_of_digits_is_legible_and_titled(tmp_path):
    from PIL import Image

    from mspgsen.report.plots import GRID_PADDING, MIN_CELL, TITLE_BAND, save_image_grid

    save_image_grid(torch.rand(64, 1, 28, 28) * 2 - 1, tmp_path / "grid.png", title="dcgan on mnist, step 10")
    picture = Image.open(tmp_path / "grid.png")
    cell = MIN_CELL + GRID_PADDING  # 28-pixel digits shown at 56
    assert picture.size == (8 * cell + GRID_PADDING, TITLE_BAND + 8 * cell + GRID_PADDING)
    band = torch.from_numpy(__import__("numpy").array(picture.crop((0, 0, picture.width, TITLE_BAND)).convert("L")))
    assert (band < 128).any() and (band > 128).float().mean() > 0.8  # dark text on a white band


def test_a_run_ends_with_figures_that_say_what_they_show(tmp_path, monkeypatch):
    """The final scatter plots the run's own samples with the data's centres, under a title naming
    the model, data and step; the curves figure draws the logged losses."""
    import matplotlib.axes

    drawn = []
    for method in ("scatter", "plot", "set_title"):
        original = getattr(matplotlib.axes.Axes, method)
        monkeypatch.setattr(matplotlib.axes.Axes, method, lambda self, *a, _o=original, _m=method, **k:
                            drawn.append((_m, a, k)) or _o(self, *a, **k))
    api.train(tiny_config(tmp_path, steps=10, extra=["train.log_every=2"]))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["modes2d"]
    assert metrics["num_samples"] == 500
    points = [a[0] for m, a, k in drawn if m == "scatter" and len(a) >= 2 and len(a[0]) == 2500]
    assert points, "the samples' scatter was not drawn"  # PREVIEW_POINTS of the run's G
    centres = [a[0] for m, a, k in drawn if m == "scatter" and len(a) >= 2 and len(a[0]) == 8]
    assert centres, "ring8's 8 centres were not drawn"
    titles = [str(a[0]) for m, a, k in drawn if m == "set_title" and a]
    assert any("dcgan on ring8, step 10" in title for title in titles)
    assert any(m == "plot" and len(a) >= 2 and len(a[0]) == 5 for m, a, k in drawn)  # 5 logged ticks per curve
    for name in ("samples.png", "training_curves.png"):
        assert Image.open(tmp_path / "run" / name).size[0] > 300


@pytest.mark.slow
def test_a_second_writer_is_refused_and_a_killed_writers_lock_does_not_block(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    command = [sys.executable, "-m", "mspgsen", *tiny_args(tmp_path, steps=10_000_000),
               "--set", "train.checkpoint_every=50"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (run / "checkpoint.safetensors").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        second = subprocess.run([*command[:3], *tiny_args(tmp_path, "--resume", steps=10_000_000)],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and second.stderr.count("\n") == 1
        assert f"is being trained by process {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    third = subprocess.run([*command[:3], *tiny_args(tmp_path, "--resume", steps=60)], capture_output=True,
                           text=True, timeout=120)
    assert third.returncode == 0, third.stderr  # the dead writer's lock went with it


def test_a_bad_train_key_is_reported_before_torch_is_imported():
    import subprocess
    import sys

    code = ("import sys; from mspgsen.cli import main; code = main(['train', '--steps', '-3']); "
            "print(code, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["2", "False"] and "'train.steps' must be in [1, 1e+12]" in done.stderr


def test_a_changed_byte_in_the_checkpoint_skeleton_is_damage_and_the_previous_checkpoint_is_used(tmp_path, capsys):
    config = tiny_config(tmp_path, steps=10, extra=["train.checkpoint_every=5"])
    api.train(config)
    path = tmp_path / "run" / "checkpoint.safetensors"
    content = bytearray(path.read_bytes())
    at = content.index(b"G.net.0.weight", content.index(b"skeleton"))  # in the metadata, not the tensor index
    content[at + 9] = ord("#")  # "G.net.0.w#ight": parses, names no tensor
    path.write_bytes(bytes(content))
    with pytest.raises(UserError, match="damaged: its metadata does not match"):
        load_state(path)
    capsys.readouterr()
    result = api.train(dataclass_steps(config, 12), resume=True)
    assert "Resuming from checkpoint.previous.safetensors (step 5) instead" in capsys.readouterr().out
    assert result.step == 12


def test_a_deleted_latest_checkpoint_gives_way_to_the_previous_one(tmp_path, capsys):
    config = tiny_config(tmp_path, steps=10, extra=["train.checkpoint_every=5"])
    api.train(config)
    (tmp_path / "run" / "checkpoint.safetensors").unlink()
    capsys.readouterr()
    result = api.train(dataclass_steps(config, 12), resume=True)
    printed = capsys.readouterr().out
    assert "checkpoint.safetensors is missing. Resuming from checkpoint.previous.safetensors (step 5)" in printed
    assert result.step == 12


def test_when_both_checkpoints_are_damaged_the_message_names_both_and_what_is_left(tmp_path):
    config = tiny_config(tmp_path, steps=10, extra=["train.checkpoint_every=5"])
    api.train(config)
    for name in ("checkpoint.safetensors", "checkpoint.previous.safetensors"):
        (tmp_path / "run" / name).write_bytes(b"not a checkpoint")
    with pytest.raises(UserError) as raised:
        api.train(dataclass_steps(config, 12), resume=True)
    message = str(raised.value)
    assert "checkpoint.safetensors is damaged" in message and "checkpoint.previous.safetensors is damaged" in message
    assert "mspgsen sample --run" in message and "generator.safetensors" in message


def test_a_flipped_byte_in_the_generator_file_is_found_by_sample_and_evaluate(tmp_path):
    run = api.train(tiny_config(tmp_path, steps=4)).run_dir
    path = run / "generator.safetensors"
    content = bytearray(path.read_bytes())
    content[-20] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(UserError, match=r"generator.safetensors is damaged: its tensors do not match.*--resume"):
        api.sample(run, 4, tmp_path / "s.png")
    with pytest.raises(UserError, match=r"generator.safetensors is damaged"):
        api.evaluate(run)


@pytest.mark.slow
def test_a_stacked_mnist_run_on_a_fresh_machine_trains_the_digit_classifier_once_and_ends_with_its_figures(
        tmp_path, shared_data, mnist_classifier, monkeypatch, capsys):
    from mspgsen.evaluation import classifier as classifiers

    trained_session_copy = classifiers.default_path("mnist")
    monkeypatch.setenv("MSPGSEN_CACHE", str(tmp_path / "fresh-machine-cache"))
    trained = []

    def train_once(config, **kwargs):  # the session's classifier stands in for two minutes of training
        trained.append(config.name)
        return classifiers.load_classifier(trained_session_copy)

    monkeypatch.setattr(classifiers, "train_classifier", train_once)
    for name in ("first", "second"):
        assert main(tiny_args(tmp_path, "--data", "stacked-mnist", "--data-root", str(shared_data), "--set",
                              "data.limit=64", name=name)) == 0
        last = capsys.readouterr().out.splitlines()[-1]
        assert "stacked_modes" in last and "stacked_kl" in last and "stacked_fid" in last, last
    assert trained == ["mnist"]  # once per machine, and MNIST's: Stacked MNIST is read digit by digit


def test_classifier_train_for_stacked_mnist_trains_the_digit_classifier(tmp_path, monkeypatch, capsys):
    from mspgsen.evaluation import classifier as classifiers

    asked = []
    monkeypatch.setattr(classifiers, "train_classifier", lambda config, **kwargs: asked.append(config.name))
    monkeypatch.setattr(classifiers, "save_classifier", lambda trained, path: path)
    assert main(["classifier", "train", "--data", "stacked-mnist", "--out", str(tmp_path / "c.safetensors")]) == 0
    assert asked == ["mnist"] and "read by the mnist classifier" in capsys.readouterr().out
