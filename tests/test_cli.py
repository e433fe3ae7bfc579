"""The command line: every bad input is one clear line and exit code 2; good input does its job."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mspgsen.cli import main

from conftest import TINY

FAST = [arg for item in TINY for arg in ("--set", item)]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def train_args(tmp_path, *extra):
    return ["train", "--steps", "3", "--batch-size", "16", "--device", "cpu", "--out", tmp_path / "run", *FAST, *extra]


@pytest.fixture
def corrupt_folder(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        Image.new("RGB", (8, 8), (i * 50, 0, 0)).save(folder / f"{i}.png")
    (folder / "2b.png").write_bytes(b"truncated")
    return folder


@pytest.mark.parametrize("args, message", [
    (["--model", "dcgna"], "unknown model 'dcgna'. Did you mean 'dcgan'?"),
    (["--data", "grid52"], "data 'grid52' is neither a known data set nor an existing folder or .npz file. "
                           "Did you mean 'grid25'?"),
    (["--data", "no/such/folder"], "neither a known data set nor an existing folder"),
    (["--data", "mnist", "--data-root", "{tmp}/empty", "--set", "data.download=false"], "mnist not found under"),
    (["--set", "train.stepz=5"], "unknown config key 'train.stepz'. Did you mean 'train.steps'?"),
    (["--steps", "many"], "config key 'train.steps' must be int, got 'many'"),
    (["--data", "{npz}", "--image-size", "2"], "image size 2x2 is impossible"),
    (["--data", "{npz}", "--image-size", "big"], "image size 'big' is not understood"),
    (["--data", "{corrupt}"], "cannot read image {corrupt}/2b.png"),
    (["--config", "{tmp}/missing.yaml"], "config file {tmp}/missing.yaml does not exist"),
    (["--device", "cuda:7"], "CUDA"),
])
def test_bad_input_is_one_clear_line_and_exit_code_2(capsys, tmp_path, tiny_images, corrupt_folder, args, message):
    fill = {"tmp": tmp_path, "npz": tiny_images, "corrupt": corrupt_folder}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("model: dcgan\n")
    args = [str(a).format(**fill) for a in args]
    code, out, err = run_cli(capsys, *train_args(tmp_path, *args))
    assert code == 2
    assert err.startswith("mspgsen: error: ") and err.count("\n") == 1
    assert message.format(**fill) in err


def test_a_wrong_name_in_a_real_process_prints_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mspgsen", "train", "--model", "nope", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "unknown model 'nope'" in done.stderr


def test_train_on_points_prints_coverage_then_sample_and_evaluate_use_the_run(capsys, tmp_path):
    code, out, _ = run_cli(capsys, *train_args(tmp_path, "--data", "ring8"))
    assert code == 0 and "modes covered" in out and "/8" in out
    run = tmp_path / "run"
    assert run_cli(capsys, "sample", "--run", run, "--n", 300, "--out", tmp_path / "s.npz")[0] == 0
    points = np.load(tmp_path / "s.npz")["points"]
    assert points.shape == (300, 2) and points.dtype == np.float32
    assert run_cli(capsys, "sample", "--run", run, "--n", 300, "--out", tmp_path / "s.png")[0] == 0
    assert (tmp_path / "s.png").stat().st_size > 0
    code, out, _ = run_cli(capsys, "evaluate", "--run", run, "--n", 400)
    assert code == 0 and "(400 samples)" in out
    assert json.loads((run / "metrics.json").read_text())["modes2d"]["num_samples"] == 400


def test_images_sample_to_a_uint8_array_and_a_grid(capsys, tmp_path, tiny_images):
    assert run_cli(capsys, *train_args(tmp_path, "--data", tiny_images, "--model", "sagan"))[0] == 0
    assert run_cli(capsys, "sample", "--run", tmp_path / "run", "--n", 5, "--out", tmp_path / "s.npz")[0] == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (5, 16, 16, 3) and images.dtype == np.uint8
    assert run_cli(capsys, "sample", "--run", tmp_path / "run", "--n", 9, "--out", tmp_path / "g.png")[0] == 0
    assert Image.open(tmp_path / "g.png").size[0] > 16 * 3


def test_sampling_uses_the_ema_generator_when_there_is_one(tmp_path, capsys):
    from mspgsen.sampling import load_generator
    from mspgsen.support.rundir import RunDir

    run_cli(capsys, *train_args(tmp_path, "--set", "model.ema_decay=0.9"))
    assert load_generator(RunDir(tmp_path / "run")).ema is True


@pytest.mark.parametrize("args, message", [
    (["sample", "--run", "{tmp}/nothing", "--n", "4", "--out", "{tmp}/x.png"], "is not a run folder"),
    (["sample", "--run", "{tmp}/run", "--n", "4", "--out", "{tmp}/x.jpg"], "--out must end in .png"),
    (["evaluate", "--run", "{tmp}/nothing"], "is not a run folder"),
])
def test_sample_and_evaluate_refuse_bad_input_clearly(capsys, tmp_path, args, message):
    code, _, err = run_cli(capsys, *[a.format(tmp=tmp_path) for a in args])
    assert code == 2 and message in err


def test_evaluate_on_an_image_run_without_inception_weights_says_how_to_get_them(capsys, tmp_path, tiny_images):
    run_cli(capsys, *train_args(tmp_path, "--data", tiny_images))
    code, _, err = run_cli(capsys, "evaluate", "--run", tmp_path / "run", "--n", "20")
    assert code == 2 and "Inception-v3 weights are needed" in err and err.count("\n") == 1


def test_list_shows_every_model_and_data_set_with_defaults(capsys):
    code, out, _ = run_cli(capsys, "list")
    for name in ("dcgan (alias gan)", "wgan", "wgan-gp", "sagan", "sagan-wgangp", "ring8", "grid25", "mnist",
                 "fashion-mnist", "cifar10", "n_critic=5", "rmsprop(lr=5e-05)"):
        assert name in out


def test_dry_run_prints_the_resolved_config_and_trains_nothing(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "train", "--model", "wgan-gp", "--out", tmp_path / "r", "--dry-run",
                           "--set", "model.gp_weight=5")
    assert code == 0 and "gp_weight: 5.0" in out and "n_critic: 5" in out
    assert not (tmp_path / "r").exists()


def test_version_prints_the_package_version_and_exits_0(capsys):
    from mspgsen import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"mspgsen {__version__}"
