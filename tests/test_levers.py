"""The lever contract (contracts/levers.py): every lever a family says it applies changes its training
when a controller moves it, and a controller moving a lever the family does not apply is refused."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from mspgsen import api
from mspgsen.contracts import Controller
from mspgsen.contracts.levers import LEVERS
from mspgsen.controllers import CONTROLLERS
from mspgsen.data import load_data
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES

from conftest import tiny_config

# how the probe controller moves each lever, from its first tick on
MOVES = {
    "lr": lambda knobs: knobs.lr_factors.__setitem__("probe", {name: 0.1 for name in knobs.optimizers()}),
    "repeats": lambda knobs: knobs.repeats.__setitem__("D", knobs.repeats.get("D", 1) + 1),
    "ema_decay": lambda knobs: setattr(knobs, "ema_decay", 0.01),  # below the warm-up cap of early steps
    "noise": lambda knobs: knobs.noise_extra.__setitem__("probe", 0.5),
    "G/fm": lambda knobs: knobs.loss_weights.__setitem__("G/fm", 5.0),
    "level": lambda knobs: setattr(knobs, "level", 0.0),
}
# a run on which each family has every lever it can apply: mspgsen grows only on images
DATA = {"mspgsen": "images", "mspgsen-repaired": "images"}
POINTS = ["data.size=256"]  # partition families need a finite set
IMAGES = ["model.progressive=true", "model.width=4"]


def lever_probe(lever: str) -> type[Controller]:
    class Probe(Controller):
        name = "lever-probe"
        levers = frozenset({lever})

        def act(self, step, indicators, knobs):
            MOVES[lever](knobs)
            return {}

    return Probe


def train(tmp_path, family: str, tiny_images, name: str, controllers: str = "[]"):
    images = DATA.get(family) == "images"
    data = str(tiny_images) if images else "grid25"
    extra = [*(IMAGES if images else POINTS), "train.log_every=1", f"train.controllers={controllers}"]
    run = api.train(tiny_config(tmp_path, family, data, steps=4, name=name, extra=extra, batch_size=16)).run_dir
    return {**load_file(str(run / "checkpoint.safetensors")), **{f"snapshot.{k}": v for k, v in load_file(
        str(run / "generator.safetensors")).items()}}


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES.names())
def test_every_lever_a_family_applies_changes_its_training(tmp_path, tiny_images, family):
    images = DATA.get(family) == "images"
    config = tiny_config(tmp_path, family, str(tiny_images) if images else "grid25", extra=IMAGES if images else POINTS)
    levers = FAMILIES.get(family)(config.model, load_data(config.data).shape).levers()
    assert levers <= set(LEVERS)
    baseline = train(tmp_path, family, tiny_images, "baseline")
    assert all(torch.equal(baseline[k], v) for k, v in train(tmp_path, family, tiny_images, "again").items())
    for lever in sorted(levers - {"partition"}):  # the partition is moved by the family's own partitioner
        with CONTROLLERS.temporarily("lever-probe", lever_probe(lever)):
            moved = train(tmp_path, family, tiny_images, f"moved-{lever.replace('/', '-')}", "[lever-probe]")
        changed = [k for k in baseline if k not in moved or not torch.equal(baseline[k], moved[k])]
        assert any(k.startswith(("nets.", "snapshot.")) for k in changed), f"{family} ignores the {lever} lever"


@pytest.mark.parametrize("family", FAMILIES.names())
@pytest.mark.parametrize("lever", sorted(LEVERS))
def test_a_controller_moving_a_lever_the_family_does_not_apply_is_refused_before_training(tmp_path, tiny_images,
                                                                                            family, lever):
    images = DATA.get(family) == "images"
    config = tiny_config(tmp_path, family, str(tiny_images) if images else "grid25", extra=IMAGES if images else POINTS)
    if lever in FAMILIES.get(family)(config.model, load_data(config.data).shape).levers():
        return
    with CONTROLLERS.temporarily("lever-probe", lever_probe(lever)), \
            pytest.raises(UserError, match=f"lever-probe controller moves {LEVERS[lever]}.*which {family} does not"):
        train(tmp_path, family, tiny_images, "refused", "[lever-probe]")
    assert not (tmp_path / "refused").exists()


def test_apfl_on_vaegan_is_refused_naming_both_levers_it_would_leave_unmoved(tmp_path):
    config = tiny_config(tmp_path, "vaegan", "grid25", extra=["train.controllers=[apfl]"])
    with pytest.raises(UserError, match=r"apfl controller moves instance noise on D's inputs and the "
                                        r"feature-matching term G/fm, which vaegan does not apply"):
        api.train(config)
    assert not (tmp_path / "run").exists()
