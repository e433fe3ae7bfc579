"""DynGAN: the collapse detector finds exactly what a generator misses, partitions grow, the
conditional sampler follows partition sizes, and `mspgsen diagnose` runs on any trained run."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from mspgsen import api
from mspgsen.cli import main
from mspgsen.contracts import DataShape, Knobs
from mspgsen.controllers import build_controllers
from mspgsen.data.points import GaussianMixture, grid_centers
from mspgsen.commands.diagnose import collapsed, missed_modes
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES
from mspgsen.nn import MLPDiscriminator, NetSpec
from mspgsen.resolve import resolve

from conftest import tiny_config

GRID = GaussianMixture("grid25", grid_centers(), 0.05)


def trained_discriminator(fake: GaussianMixture, steps: int = 1200) -> MLPDiscriminator:
    """A D trained against a fixed generator `fake` (itself a mixture) on the grid."""
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(0)
    critic = MLPDiscriminator(2, 64, 2, NetSpec(d_norm="none"))
    optimizer = torch.optim.Adam(critic.parameters(), lr=2e-3)
    for _ in range(steps):
        real, generated = GRID.sample(256, rng), fake.sample(256, rng)
        loss = F.softplus(-critic(real)).mean() + F.softplus(critic(generated)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return critic


def test_detector_flags_exactly_the_modes_a_half_grid_generator_drops():
    kept = list(range(0, 25, 2))  # every other mode: 13 kept, 12 dropped
    critic = trained_discriminator(GaussianMixture("half", GRID.centers[kept], 0.05))
    real = GRID.sample(5000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        flagged = collapsed(torch.sigmoid(critic(real)))
    assert missed_modes(real, flagged, GRID.centers) == [m for m in range(25) if m not in kept]


def test_detector_flags_nothing_when_the_generator_covers_everything():
    critic = trained_discriminator(GRID)
    real = GRID.sample(5000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        flagged = collapsed(torch.sigmoid(critic(real)))
    assert flagged.float().mean() < 0.01 and missed_modes(real, flagged, GRID.centers) == []


def partitioner(samples: int, **model):
    """The family's partition and the controller it hands it to, as a run builds them."""
    config = resolve([{"model": {"name": "dyngan", "repartition_every": 100, **model}}])
    family = FAMILIES.get("dyngan")(config.model, DataShape("points", (2,), samples=samples))
    return build_controllers(config, family)[0], family.partition


def test_partitions_grow_from_collapsed_samples_only_when_there_are_enough():
    controller, part = partitioner(1000)
    part.seen[:] = True
    part.scores[:] = 0.5
    part.scores[:50] = 0.95  # 5% collapsed
    assert controller.act(50, {}, Knobs()) == {}  # not yet time
    actions = controller.act(100, {}, Knobs())
    assert actions["split"] == 1.0 and part.count == 2
    assert (part.labels[:50] == 1).all() and (part.labels[50:] == 0).all()
    assert not part.seen.any()  # smoothing starts afresh
    part.seen[:] = True
    part.scores[:] = 0.5
    part.scores[:5] = 0.95  # 0.5%: below min_flagged
    assert controller.act(200, {}, Knobs())["split"] == 0.0 and part.count == 2


def test_the_full_pass_flags_exactly_the_mode_the_generator_never_makes():
    """A hand-built G that never produces grid mode 12; D trained against it; the family's full
    pass over the training set must flag (nearly) exactly the samples of that mode."""
    from mspgsen.contracts import StepContext
    from mspgsen.data.images import ShuffledStream
    from mspgsen.metrics.modes2d import nearest_modes
    from mspgsen.nn.conditional import ProjectionDiscriminator

    missing = 12
    critic = trained_discriminator(GaussianMixture("all but one", GRID.centers[[m for m in range(25) if m != missing]],
                                                   0.05))
    config = resolve([{"model": {"name": "dyngan"}}])
    family = FAMILIES.get("dyngan")(config.model, DataShape("points", (2,), samples=5000))
    points = GRID.sample(5000, torch.Generator().manual_seed(3))
    nets = {"D": ProjectionDiscriminator(critic, 30, critic.head.in_features)}  # zero embedding: D itself
    ctx = StepContext(nets, Knobs(), ShuffledStream(points, None, 64, 0, torch.device("cpu")), 2, 64,
                      torch.device("cpu"), None)
    features, modes = family.score_training_set(ctx)
    assert modes is None  # these points came without their modes
    flagged, in_mode = family.partition.flagged(), nearest_modes(points, GRID.centers) == missing
    assert flagged[in_mode].float().mean() > 0.95  # the missed mode's samples: found
    assert flagged[~in_mode].float().mean() < 0.01  # the others: left alone
    assert features.shape == (5000, critic.head.in_features)
    family.partition.min_flagged = 0.01
    assert family.partition.split(features)["split"] == 1.0
    assert (family.partition.labels[in_mode] == 1).float().mean() > 0.95


def test_each_source_partition_splits_on_its_own_flagged_samples_then_kmeans_refines():
    """Four clusters in feature space; partitions 0 (clusters A, B) and 1 (C, D). B and D are flagged:
    each source gives its own new partition (2 and 3). One sample of cluster A was labelled into
    partition 1 by hand: k-means on the features moves it back with its cluster, and a new sample
    is assigned by its nearest centroid."""
    from mspgsen.families.partition import Partition

    generator = torch.Generator().manual_seed(0)
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    cluster = torch.arange(4).repeat_interleave(50)
    features = centers[cluster] + 0.3 * torch.randn(200, 2, generator=generator)
    part = Partition(200, delta=0.2, min_flagged=0.05, max_partitions=10, score_ema=0.1)
    part.labels = torch.where(cluster < 2, 0, 1)
    part.labels[0] = 1  # a sample of cluster A in the wrong source partition
    part.count = 2
    scores = torch.where((cluster == 1) | (cluster == 3), 0.95, 0.5)
    part.record_scores(scores)
    actions = part.split(features)
    assert actions["split"] == 2.0 and part.count == 4
    assert (part.labels[cluster == 1] == 2).all() and (part.labels[cluster == 3] == 3).all()
    assert (part.labels[cluster == 0] == 0).all()  # the stray sample went back to its cluster's partition
    assert (part.labels[cluster == 2] == 1).all()
    assert actions["kmeans_moved"] == pytest.approx(1 / 200)
    assert part.assign(torch.tensor([[9.5, 0.5], [0.2, 9.8]])).tolist() == [2, 1]


def test_partitions_stop_at_the_cap():
    controller, part = partitioner(100, max_partitions=2)
    for step in (100, 200):
        part.seen[:] = True
        part.scores[:] = 0.99
        controller.act(step, {}, Knobs())
    assert part.count == 2


def test_the_partitioner_named_for_a_family_without_a_partition_is_refused():
    config = resolve([{"model": "dcgan"}], ["train.controllers=[dyngan-partitioner]"])
    family = FAMILIES.get("dcgan")(config.model, DataShape("points", (2,)))
    with pytest.raises(UserError, match="dyngan-partitioner controller moves the training-set partition, which dcgan"):
        build_controllers(config, family)


def test_the_conditional_sampler_follows_partition_sizes():
    config = resolve([{"model": {"name": "dyngan", "mlp_width": 16, "mlp_depth": 2}}])
    family = FAMILIES.get("dyngan")(config.model, DataShape("points", (2,), samples=400))
    nets = family.build_networks()
    nets["G"].class_weights.zero_()
    nets["G"].class_weights[:2] = torch.tensor([300.0, 100.0])
    labels = family.sample_conditions(4000, torch.Generator().manual_seed(0), nets["G"])
    share = torch.bincount(labels, minlength=30).float() / len(labels)
    assert share[0] == pytest.approx(0.75, abs=0.03) and share[1] == pytest.approx(0.25, abs=0.03)
    assert share[2:].sum() == 0


def test_dyngan_needs_a_finite_training_set(tmp_path):
    with pytest.raises(UserError, match="data.size"):
        api.train(tiny_config(tmp_path, "dyngan", steps=2))


def test_dyngan_trains_splits_and_resumes_exactly(tmp_path):
    from test_resume import weights

    extra = ["data.size=512", "model.repartition_every=4", "model.delta=10", "train.log_every=2"]  # δ=10: D>0.09
    straight = api.train(tiny_config(tmp_path, "dyngan", steps=12, name="straight", extra=extra))
    stopped = api.train(tiny_config(tmp_path, "dyngan", steps=12, name="split",
                                    extra=[*extra, "train.controllers=[test-interrupt]"]))
    assert stopped.step == 6
    resumed = api.train(api.configure(base_run=tmp_path / "split", out=str(tmp_path / "split")), resume=True)
    a, b = weights(straight.run_dir), weights(resumed.run_dir)
    assert not [k for k in a if not torch.equal(a[k], b[k])]
    splits = [line for line in (straight.run_dir / "controller.jsonl").read_text().splitlines()
              if "dyngan-partitioner" in line]
    assert splits and '"split": 1.0' in splits[0]  # with δ=10 nearly every sample counts as missed
    assert a["family.partition.labels"].max() >= 1  # the partition is saved with the run
    timeline = json.loads((straight.run_dir / "partitions.json").read_text())
    assert [entry["step"] for entry in timeline] == [4, 8, 12] and timeline[0]["split"] == 1.0
    untimed = [[{k: v for k, v in e.items() if k != "full_pass_seconds"} for e in json.loads(
        (run / "partitions.json").read_text())] for run in (straight.run_dir, resumed.run_dir)]
    assert untimed[0] == untimed[1]  # the resumed run's timeline is the straight one's
    assert all(sum(entry["sizes"]) == 512 for entry in timeline) and "modes" in timeline[0]
    assert "full_pass_seconds" in timeline[0] and (straight.run_dir / "partitions.png").stat().st_size > 0


def test_diagnose_reports_missed_samples_of_any_run(tmp_path, capsys):
    run = api.train(tiny_config(tmp_path, "dcgan", steps=3)).run_dir
    assert main(["diagnose", "--run", str(run), "--n", "500", "--delta", "100"]) == 0  # δ=100: flags all D > 0.01
    out = capsys.readouterr().out
    assert "of 500 real samples are missed" in out and "missed modes:" in out
    assert (run / "diagnose.png").is_file()
    report = api.diagnose(run, num_samples=500, delta=1e-9)  # nothing is above probability ~1
    assert report["missed_share"] == 0.0 and report["missed_modes"] == []
