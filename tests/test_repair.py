"""`mspgsen repair`: the repaired run starts as exactly the base model, says where it came from, and
refuses what it cannot condition with a clear message."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from mspgsen import api
from mspgsen.cli import main
from mspgsen.commands.repair import repaired_config, start_from
from mspgsen.data import load_data
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES
from mspgsen.sampling import load_networks
from mspgsen.support.rundir import existing_run_dir
from mspgsen.training.state import TrainingState

from conftest import tiny_config

GRID = ["data.size=600", "model.mlp_width=32"]


# the tiny labelled images, small networks; mspgsen unconditional (a class-conditional run cannot be repaired)
IMAGES = {"mspgsen": ["model.conditional=false", "model.width=4"], "vaegan": ["model.width=4"]}
REPAIRED_AS = {"dcgan": "dyngan", "wgan-gp": "dyngan", "mspgsen": "mspgsen-repaired", "vaegan": "vaegan-repaired"}


@pytest.mark.parametrize("base_model, data", [("dcgan", "grid25"), ("wgan-gp", "grid25"), ("mspgsen", "grid25"),
                                              ("mspgsen", "images"), ("vaegan", "grid25"), ("vaegan", "images")])
def test_the_repaired_networks_start_as_the_base_runs(tmp_path, tiny_images, base_model, data):
    """Before its first step the repaired G gives the base G's samples for every partition label,
    and the repaired D the base D's scores: the new inputs and the projection start at zero."""
    source_name, extra = (str(tiny_images), IMAGES[base_model]) if data == "images" else ("grid25", GRID)
    base_run = api.train(tiny_config(tmp_path, base_model, steps=6, data=source_name, extra=extra)).run_dir
    base = load_networks(existing_run_dir(base_run, need_checkpoint=True))
    config = repaired_config(base, base_run, 2, None, str(tmp_path / "fixed"), None, "cpu", [])
    assert config.model.name == REPAIRED_AS[base_model]
    source = load_data(config.data)
    family = FAMILIES.get(config.model.name)(config.model, source.shape)
    state = TrainingState(family, config, torch.device("cpu"), source.stream(16, 0, torch.device("cpu")))
    start_from(state, base)
    nets = state.nets.eval()
    z = torch.randn(48, family.latent_dim(), generator=torch.Generator().manual_seed(0))
    labels = torch.randint(config.model.max_partitions, (48,), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = base.family.generate(base.nets, z)
        torch.testing.assert_close(family.generate(nets, z, labels), expected, rtol=1e-5, atol=1e-5)
        if state.ema:
            torch.testing.assert_close(family.generate({"G": state.ema.model.eval()}, z, labels), expected,
                                       rtol=1e-5, atol=1e-5)
        x = source.stream(48, 0, torch.device("cpu")).next().x
        torch.testing.assert_close(family.discriminate(nets, x, labels), base.family.discriminate(base.nets, x),
                                   rtol=1e-5, atol=1e-5)
        if "E" in nets:  # vaegan: the encoder is kept, so reconstructions are the base run's too
            torch.testing.assert_close(family.reconstruct(nets, x), base.family.reconstruct(base.nets, x),
                                       rtol=1e-5, atol=1e-5)
    assert family.partition.history and family.partition.history[0]["step"] == 0  # the first partitions


@pytest.mark.parametrize("base_model", ["dcgan", "mspgsen", "vaegan"])
def test_repair_trains_a_new_run_that_says_where_it_came_from(tmp_path, capsys, base_model):
    """The CLI's repaired run: its config names the base run, its timeline the repartitions, a
    split happens (δ so large that D flags every sample) and the run resumes like any other."""
    base_run = api.train(tiny_config(tmp_path, base_model, steps=4, data="grid25", extra=GRID)).run_dir
    out = tmp_path / "fixed"
    assert main(["repair", "--run", str(base_run), "--steps", "6", "--out", str(out), "--set", "model.delta=1e6",
                 "--set", "model.repartition_every=3", "--set", "train.log_every=3"]) == 0
    assert f"repaired run: {out}" in capsys.readouterr().out
    saved = (out / "config.yaml").read_text()
    assert str(base_run.resolve()) in saved
    assert f"name: {REPAIRED_AS[base_model]}" in saved
    assert ("base_model: dcgan" in saved) == (base_model == "dcgan")
    timeline = json.loads((out / "partitions.json").read_text())
    assert [entry["step"] for entry in timeline] == [0, 3, 6]
    assert timeline[0]["partitions"] == 2 and timeline[0]["flagged_share"] == 1.0
    resumed = api.train(api.configure(base_run=out, out=str(out), steps=8), resume=True)  # resumes as any run
    assert resumed.step == 8


def test_repair_says_which_runs_it_cannot_condition(tmp_path, tiny_images):
    dyn = api.train(tiny_config(tmp_path, "dyngan", steps=2, name="dyn", data="grid25", extra=GRID)).run_dir
    with pytest.raises(UserError, match="partition themselves"):
        api.repair(dyn, steps=2)
    classes = api.train(tiny_config(tmp_path, "mspgsen", steps=2, name="classes", data=str(tiny_images),
                                    extra=["model.width=4"])).run_dir
    with pytest.raises(UserError, match="conditioned on the data's classes"):
        api.repair(classes, steps=2)
    assert main(["repair", "--run", str(tmp_path / "nowhere")]) == 2


def test_init_from_starts_a_new_run_from_another_runs_weights(tmp_path):
    """`train.init_from`, the repair's like-for-like control: the new run starts at step 0 with the
    base run's networks and EMA, fresh optimisers, and refuses a run whose networks differ."""
    base_run = api.train(tiny_config(tmp_path, "dcgan", steps=6, data="grid25", extra=GRID)).run_dir
    base = load_networks(existing_run_dir(base_run, need_checkpoint=True))
    config = tiny_config(tmp_path, "dcgan", steps=1, data="grid25", name="warm",
                         extra=[*GRID, f"train.init_from={base_run}", "train.checkpoint_every=1"])
    seen = {}
    api.train(config)
    saved = load_networks(existing_run_dir(tmp_path / "warm", need_checkpoint=True))
    assert saved.step == 1
    # one step of fresh Adam moves every weight by about lr; a cold start would be far from the base
    for name, tensor in base.saved["nets"].items():
        if tensor.is_floating_point() and "running" not in name:  # batch statistics move by the batch
            seen[name] = float((saved.saved["nets"][name] - tensor).abs().max())
    assert max(seen.values()) < 3 * max(config.model.optim_g.lr, config.model.optim_d.lr) + 1e-6
    first_moments = [s["step"] for s in saved.saved["optimizers"]["G"]["state"].values()]
    assert all(int(step) == 1 for step in first_moments)  # fresh: one step taken, not the base run's 7
    other = tiny_config(tmp_path, "dcgan", steps=1, data="grid25", name="wider",
                        extra=[*GRID, "model.mlp_width=16", f"train.init_from={base_run}"])
    with pytest.raises(UserError, match="networks differ"):
        api.train(other)
    with pytest.raises(UserError, match="is a dcgan run"):
        api.train(tiny_config(tmp_path, "wgan-gp", steps=1, data="grid25", name="wgan",
                              extra=[*GRID, f"train.init_from={base_run}"]))
    assert not (tmp_path / "wgan").exists()  # refused before its folder was made


def test_a_repaired_vaegan_reconstructs_images_under_their_nearest_partition(tmp_path, tiny_images):
    """`mspgsen reconstruct` of a repaired run: each image is decoded under the partition whose
    centroid in D's features is nearest (two partitions here: δ so large that all is flagged)."""
    base_run = api.train(tiny_config(tmp_path, "vaegan", steps=2, data=str(tiny_images),
                                     extra=IMAGES["vaegan"])).run_dir
    fixed = api.repair(base_run, steps=2, out=str(tmp_path / "fixed"), overrides=["model.delta=1e6"]).run_dir
    loaded = load_networks(existing_run_dir(fixed, need_checkpoint=True))
    assert loaded.family.partition.count == 2 and len(loaded.family.partition.centroids) == 2
    family, nets = loaded.family, {name: net.eval() for name, net in loaded.nets.items()}
    x = load_data(loaded.config.data).stream(16, 0, torch.device("cpu")).next().x
    with torch.no_grad():
        _, features = nets["D"].score_and_features(x)
        pooled = features.flatten(2).mean(dim=2)
        family.partition.centroids = pooled[:2].clone()  # samples 0 and 1 are each their own partition's
        nearest = torch.cdist(pooled, family.partition.centroids).argmin(dim=1)  # by hand
        assert nearest[:2].tolist() == [0, 1]
        expected = family.generate(nets, family.encode(nets, x), nearest)
        torch.testing.assert_close(family.reconstruct(nets, x), expected)
        other = family.generate(nets, family.encode(nets, x), 1 - nearest)
        assert not torch.allclose(family.reconstruct(nets, x), other)  # the partition matters
    out = tmp_path / "rebuilt.png"
    assert main(["reconstruct", "--run", str(fixed), "--images", str(tiny_images), "--n", "8",
                 "--out", str(out)]) == 0
    assert out.is_file()


@pytest.mark.parametrize("base_model", [name for name, family in FAMILIES if family.repaired_as])
def test_every_model_setting_of_a_repairable_family_survives_a_repair(base_model):
    base = FAMILIES.get(base_model)
    twin = FAMILIES.get(base.repaired_as)
    kept = {field.name for field in dataclasses.fields(twin.Config)}
    lost = {field.name for field in dataclasses.fields(base.Config)} - kept - set(twin.drops_on_repair) - {"name"}
    assert lost == set(), f"a repaired {base_model} run would silently drop {sorted(lost)}"


@pytest.mark.parametrize("base_model, setting, term", [("wgan-gp", "model.gp_weight=3.5", "D/gp"),
                                                       ("wgan", "model.clip_value=0.02", None)])
def test_a_repaired_wgan_keeps_its_loss_penalty_and_clipping(tmp_path, base_model, setting, term):
    base_run = api.train(tiny_config(tmp_path, base_model, steps=2, data="grid25",
                                     extra=[*GRID, setting, "model.n_critic=2", "train.seed=7"])).run_dir
    base = load_networks(existing_run_dir(base_run, need_checkpoint=True))
    config = repaired_config(base, base_run, 2, None, str(tmp_path / "fixed"), None, "cpu", [])
    key, value = setting.split("=")
    assert getattr(config.model, key.split(".")[1]) == float(value)
    assert (config.model.n_critic, config.train.seed, config.model.base_model) == (2, 7, base_model)
    family = FAMILIES.get("dyngan")(config.model, load_data(config.data).shape)
    assert type(family.loss) is type(base.family.loss)  # Wasserstein, not DynGAN's non-saturating
    knobs, (d_phase, _) = family.default_knobs(), family.phases()
    assert (knobs.weight("D/gp") == 3.5) if term else (d_phase.after_step is not None)


def test_repair_of_a_run_on_fresh_points_takes_a_fixed_set_and_says_so(tmp_path, capsys):
    base_run = api.train(tiny_config(tmp_path, "dcgan", steps=2, data="grid25")).run_dir  # no data.size
    assert main(["repair", "--run", str(base_run), "--steps", "2", "--out", str(tmp_path / "fixed")]) == 0
    assert "trains on a fixed set of 20000 of them (data.size)" in capsys.readouterr().out
    assert "size: 20000" in (tmp_path / "fixed" / "config.yaml").read_text()


@pytest.mark.parametrize("model", ["mspgsen-repaired", "vaegan-repaired"])
def test_a_repaired_family_splits_and_resumes_exactly(tmp_path, model):
    """The repaired families train from scratch like any family (a repair only sets their start):
    a run that splits (δ so large that all is flagged), is interrupted (APFL and BALANCE read the
    run's length, so it is not configured shorter) and resumed equals the straight run, weights
    and partition timeline."""
    from test_resume import weights

    extra = [*GRID, "model.repartition_every=4", "model.delta=1e6", "train.log_every=2"]
    straight = api.train(tiny_config(tmp_path, model, data="grid25", steps=12, name="straight", extra=extra))
    stopped = api.train(tiny_config(tmp_path, model, data="grid25", steps=12, name="split",  # SIGINT at step 6
                                    extra=[*extra, "train.controllers=[test-interrupt]"]))
    assert not stopped.completed and stopped.step == 6
    resumed = api.train(api.configure(base_run=tmp_path / "split", out=str(tmp_path / "split")), resume=True)
    a, b = weights(straight.run_dir), weights(resumed.run_dir)
    assert not [k for k in a if not torch.equal(a[k], b[k])]
    timelines = [[{k: v for k, v in entry.items() if k != "full_pass_seconds"}
                  for entry in json.loads((run / "partitions.json").read_text())]
                 for run in (straight.run_dir, resumed.run_dir)]
    assert timelines[0] == timelines[1]
    assert [entry["partitions"] for entry in timelines[0]] == [2, 3, 4]  # every repartition splits one off
