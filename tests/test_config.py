from pathlib import Path

import pytest
import torch

from mspgsen import api
from mspgsen.resolve import resolve
from mspgsen.errors import UserError


def test_family_defaults_follow_the_papers():
    wgan_gp = resolve([{"model": "wgan-gp"}]).model
    assert (wgan_gp.n_critic, wgan_gp.gp_weight, wgan_gp.optim_d.lr, wgan_gp.optim_d.betas) == (5, 10.0, 1e-4, (0.0, 0.9))
    wgan = resolve([{"model": "wgan"}]).model
    assert (wgan.optim_d.name, wgan.optim_d.lr, wgan.clip_value, wgan.n_critic) == ("rmsprop", 5e-5, 0.01, 5)
    sagan = resolve([{"model": "sagan"}]).model
    assert (sagan.optim_g.lr, sagan.optim_d.lr) == (1e-4, 4e-4)
    dcgan = resolve([{"model": "gan"}]).model
    assert (dcgan.name, dcgan.optim_g.lr, dcgan.optim_g.betas) == ("dcgan", 2e-4, (0.5, 0.999))


def test_a_familys_own_batch_size_is_its_default_and_the_users_wins(tmp_path: Path):
    """sagan trains at batch 64 unless told otherwise (at 128 a seed collapsed); others keep 128."""
    assert resolve([{"model": "sagan"}]).train.batch_size == 64
    assert resolve([{"model": "dcgan"}]).train.batch_size == 128
    assert resolve([{"model": "sagan-wgangp"}]).train.batch_size == 128
    assert resolve([{"model": "sagan"}], ["train.batch_size=32"]).train.batch_size == 32
    assert api.configure(model="sagan", batch_size=256).train.batch_size == 256
    config_file = tmp_path / "c.yaml"
    config_file.write_text("model: sagan\ntrain: {batch_size: 48}\n")
    assert api.configure(config_file=config_file).train.batch_size == 48


def test_later_sources_override_earlier_and_set_overrides_all(tmp_path: Path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text("model: {name: wgan-gp, n_critic: 3}\ntrain: {steps: 7, batch_size: 32}\n")
    config = api.configure(config_file=config_file, steps=9, overrides=["model.optim_d.lr=3e-4", "train.steps=11"])
    assert (config.model.name, config.model.n_critic, config.model.optim_d.lr) == ("wgan-gp", 3, 3e-4)
    assert (config.train.steps, config.train.batch_size) == (11, 32)


def test_unknown_key_names_the_key_and_suggests_the_right_one():
    with pytest.raises(UserError, match=r"unknown config key 'train.stepz'. Did you mean 'train.steps'"):
        resolve([], ["train.stepz=3"])


def test_key_of_another_family_is_unknown():
    with pytest.raises(UserError, match="unknown config key 'model.gp_weight'"):
        resolve([{"model": "dcgan"}], ["model.gp_weight=5"])


@pytest.mark.parametrize("override, message", [
    ("train.steps=abc", "must be int"),
    ("train.steps=0", r"must be in \[1, 1e\+12\]"),
    ("train.precision=fp8", "must be one of auto, fp32, bf16"),
    ("model.optim_g.betas=0.5", "needs 2 values"),
    ("model.ema_decay=1.5", r"ema_decay. must be in \[0, 1\)"),
    ("model.optim_g.lr=nan", r"'model.optim_g.lr' must be a finite number, got nan"),
    ("model.optim_d.betas=0.5,nan", r"'model.optim_d.betas' must be a finite number"),
    ("train.time_limit=nan", r"'train.time_limit' must be a finite number"),
    ("train.time_limit=inf", r"'train.time_limit' must be a finite number, got inf"),
    ("model.ema_decay=-inf", r"'model.ema_decay' must be a finite number"),
    ("train.steps=1e20", r"'train.steps' must be in \[1, 1e\+12\]"),
])
def test_bad_values_get_clear_messages(override, message):
    with pytest.raises(UserError, match=message):
        resolve([], [override])


def test_config_round_trips_through_yaml(tmp_path: Path):
    from mspgsen.config import load_yaml, save_yaml

    config = resolve([{"model": "sagan-wgangp"}], ["data.image_size=218x178", "train.controllers=[a, b]"])
    save_yaml(config, tmp_path / "config.yaml")
    assert resolve([load_yaml(tmp_path / "config.yaml")]) == config


def test_a_partial_optimizer_override_keeps_the_family_optimizer():
    wgan = resolve([{"model": "wgan"}], ["model.optim_d.lr=1e-4"]).model
    assert (wgan.optim_d.name, wgan.optim_d.lr, wgan.optim_g.lr) == ("rmsprop", 1e-4, 5e-5)
    sagan = resolve([{"model": {"name": "sagan", "optim_g": {"lr": 2e-4}}}]).model
    assert (sagan.optim_g.betas, sagan.optim_g.lr) == ((0.0, 0.9), 2e-4)


SHIPPED_CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("config_file", SHIPPED_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_resolve_and_train(config_file: Path, tmp_path: Path):
    """A renamed key must not break `make demo` or a recipe silently: every file in configs/ still
    trains (image recipes on 64 images of their data, with no time limit and no final metrics)."""
    from conftest import SHARED_DATA

    image_recipe = api.configure(config_file=config_file).data.name != "grid25"
    if image_recipe and not SHARED_DATA.is_dir():
        pytest.skip(f"verified data not found at {SHARED_DATA}")
    extra = ["data.limit=64", "train.time_limit=0", "train.final_eval_n=0"] if image_recipe else []
    config = api.configure(config_file=config_file, steps=4, batch_size=16, device="cpu", out=tmp_path / "run",
                           data_root=str(SHARED_DATA),
                           overrides=["train.progress=false", "train.eval_every=0", "train.sample_every=1000000",
                                      *extra])
    result = api.train(config)
    assert result.completed and result.step == 4 and (tmp_path / "run" / "samples.png").is_file()


def test_the_demo_recipe_has_no_batch_norm():
    """What the demo's 95% high-quality figure rests on (docs/benchmarks.md): no batch norm in G or D."""
    from mspgsen.data import load_data
    from mspgsen.families import FAMILIES

    config = api.configure(config_file=Path(__file__).parents[1] / "configs" / "demo-grid25.yaml")
    family = FAMILIES.get(config.model.name)(config.model, load_data(config.data).shape)
    nets = family.build_networks()
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for net in nets.values() for m in net.modules())
    assert config.model.r1_weight > 0


def test_a_renamed_key_of_an_older_run_is_read_as_the_new_one():
    """Runs saved before spectral norm had one spelling keep loading (never lose a run)."""
    old = resolve([{"model": {"name": "mspgsen", "d_spectral": False}}])
    assert old.model.spectral_norm == "none" and "d_spectral" not in old.to_dict()["model"]
    assert resolve([{"model": {"name": "mspgsen", "d_spectral": True}}]).model.spectral_norm == "d"
    with pytest.raises(UserError, match="spectral_norm"):
        resolve([{"model": {"name": "mspgsen", "spectral_norm": "g"}}])
