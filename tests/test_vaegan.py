"""The VAE-GAN hybrid: it learns to reconstruct, its style loss is a real distance, each network
gets its own learning rate, and the reconstruct / interpolate commands work."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from mspgsen import api
from mspgsen.config import DataConfig
from mspgsen.contracts import DataShape
from mspgsen.families import FAMILIES
from mspgsen.nn.attention import MultiHeadSelfAttention2d
from mspgsen.resolve import resolve
from mspgsen.errors import UserError
from mspgsen.nn.vae import gram_matrix, style_loss
from mspgsen.commands.reconstruct import slerp
from mspgsen.training.loop import run_step

from conftest import tiny_config
from test_families_contract import context, make_state

SMALL = ["model.width=8", "model.attention_heads=1"]  # 8 heads are slow on 2 CPU cores


def test_style_loss_is_zero_for_identical_features_and_positive_otherwise():
    torch.manual_seed(0)
    features = [torch.randn(4, 8, 6, 6), torch.randn(4, 16, 3, 3)]
    assert float(style_loss(features, [f.clone() for f in features])) == 0.0
    assert float(style_loss(features, [f.flip(0) for f in features])) > 0
    assert gram_matrix(features[0]).shape == (4, 8, 8)


def test_each_network_trains_at_its_own_learning_rate(tiny_images):
    state = make_state("vaegan", DataConfig(name=str(tiny_images)))
    run_step(state, state.family.phases(), context(state), "fp32")
    groups = state.optimizers["G"].param_groups
    assert [round(g["lr"], 10) for g in groups] == [2e-4, 1e-3, 1e-4]  # G, E (the VAE), R


@pytest.mark.slow
def test_vaegan_learns_to_reconstruct_better_than_the_mean_image(tmp_path, shared_data):
    config = tiny_config(tmp_path, "vaegan", "mnist", steps=150, batch_size=32,
                         extra=[*SMALL, "data.limit=256", "model.width=16"], data_root=str(shared_data))
    run = api.train(config).run_dir
    result = api.reconstruct(run, "mnist", tmp_path / "rec.png", n=64, data_root=str(shared_data))
    assert result["mse"] < 0.8 * result["mean_image_mse"]
    assert (tmp_path / "rec.png").is_file()


def test_reconstruct_needs_an_encoder(tmp_path, tiny_images):
    run = api.train(tiny_config(tmp_path, "dcgan", tiny_images, steps=2)).run_dir
    with pytest.raises(UserError, match="no encoder"):
        api.reconstruct(run, str(tiny_images), tmp_path / "rec.png")


def test_interpolation_grid_has_ten_steps_per_row(tmp_path, tiny_images):
    run = api.train(tiny_config(tmp_path, "vaegan", tiny_images, steps=2, extra=SMALL)).run_dir
    path = api.interpolation_grid(run, 3, tmp_path / "walk.png")
    width, height = Image.open(path).size
    cell = 4 * 16 + 2  # 16-pixel images shown 4x larger (at least 56 px), 2-px padding as save_image's
    assert (width - 2) // cell == 10 and (height - 2) // cell == 3


def test_slerp_starts_and_ends_at_its_endpoints():
    a, b = torch.randn(5, 16), torch.randn(5, 16)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)


def test_a_missing_perceptual_extractor_is_a_clear_error(tmp_path, tiny_images):
    config = tiny_config(tmp_path, "vaegan", tiny_images, steps=2,
                         extra=[*SMALL, f"model.perceptual_extractor={tmp_path / 'vgg.pth'}"])
    with pytest.raises(UserError, match="VGG-16"):
        api.train(config)


def test_attention_has_the_seeds_eight_heads_with_q_k_v_of_64_dims_and_d_attends_at_7x7():
    family = FAMILIES.get("vaegan")(resolve([{"model": "vaegan"}], []).model, DataShape("images", (3, 28, 28)))
    nets = family.build_networks()
    seen = {}
    for side in ("G", "D"):
        (attention,) = [m for m in nets[side].modules() if isinstance(m, MultiHeadSelfAttention2d)]
        assert (attention.heads, attention.heads * attention.head_dim) == (8, 64)
        assert attention.qkv.out_features == 3 * 64
        attention.register_forward_hook(lambda module, args, out, side=side: seen.__setitem__(side, out.shape[-2:]))
    nets["D"](family.generate(nets, torch.randn(2, family.latent_dim())))
    assert seen == {"G": (14, 14), "D": (7, 7)}  # G keeps SAGAN's placement; D's at 7x7 costs 1/16 of 14x14's


def test_d_reads_gs_batch_once_per_g_step_and_its_scores_are_ds_own(tiny_images):
    """The perceptual and style terms take D's layers from the pass that scores G's batch: one pass of
    D over the generated batch and one over the real batch per G step, where there were three."""
    state = make_state("vaegan", DataConfig(name=str(tiny_images)), overrides=SMALL)
    ctx = context(state)
    discriminator = state.nets["D"]
    batch_sizes = []
    discriminator.features[0].register_forward_hook(lambda module, args, out: batch_sizes.append(len(args[0])))
    state.nets["G"].requires_grad_(True)
    state.family.generator_terms(ctx)
    assert sorted(batch_sizes) == [8, 16]  # the real batch, then the reconstructed and sampled ones together
    x = torch.randn(5, *state.family.shape.dims)
    torch.testing.assert_close(discriminator.score_of(discriminator.features(x)), discriminator(x))
