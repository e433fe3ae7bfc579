"""Training actually learns: after a few hundred steps the generator covers the modes it did not."""
from __future__ import annotations

from mspgsen import api
from mspgsen.data import load_data
from mspgsen.config import DataConfig
from mspgsen.families import FAMILIES
from mspgsen.metrics import mode_coverage
from mspgsen.sampling import draw

RECIPE = ["train.progress=false", "train.sample_every=100000", "model.mlp_width=64", "model.optim_g.lr=1e-3",
          "model.optim_d.lr=1e-3", "train.controllers=[linear-lr-decay]", "data.std=0.05",
          "train.eval_samples=1000"]


def test_dcgan_learns_every_mode_of_the_ring(tmp_path):
    config = api.configure(model="dcgan", data="ring8", steps=500, batch_size=128, device="cpu",
                           out=str(tmp_path / "run"), overrides=RECIPE)
    family = FAMILIES.get("dcgan")(config.model)
    source = load_data(DataConfig(name="ring8", std=0.05))
    untrained = family.build_networks(source.shape)["G"]
    before = mode_coverage(draw(family, untrained, source.shape, 1000, 0, "cpu"), source.centers, source.std)

    after = api.train(config).metrics
    assert before.high_quality < 0.1
    assert after["modes_covered"] == 8
    assert after["high_quality"] > 0.4
    assert after["kl"] < 0.15

