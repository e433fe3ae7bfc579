import json

import pytest
import torch

from mspgsen import api
from mspgsen.contracts import Controller
from mspgsen.controllers import CONTROLLERS
from mspgsen.errors import UserError

from conftest import tiny_config


def logged(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]


def test_linear_decay_brings_every_learning_rate_to_zero_by_the_last_step(tmp_path):
    result = api.train(tiny_config(tmp_path, "sagan", steps=20, extra=["train.controllers=[linear-lr-decay]"]))
    rows = logged(result.run_dir)
    assert [round(r["lr/D"] / 4e-4, 6) for r in rows] == [1.0, 0.75, 0.5, 0.25]  # the scale set at a tick applies after it
    assert [r["linear-lr-decay/lr_scale"] for r in rows] == [0.75, 0.5, 0.25, 0.0]
    assert rows[-1]["lr/G"] == pytest.approx(0.25 * 1e-4)


class FreezeGenerator(Controller):
    name = "test-freeze-generator"

    def act(self, step, indicators, knobs):
        knobs.lr_scale["G"] = 0.0
        return {"frozen": 1.0}


def test_a_controller_acts_only_through_knobs_and_the_loop_obeys_them(tmp_path):
    from safetensors.torch import load_file

    config = tiny_config(tmp_path, steps=15, name="b", extra=["train.controllers=[test-freeze-generator]",
                                                              "model.ema_decay=0"])
    with CONTROLLERS.temporarily(FreezeGenerator.name, FreezeGenerator):  # registered for this test only
        later = api.train(config)
    rows = logged(later.run_dir)
    assert rows[0]["lr/G"] == 2e-4 and all(r["lr/G"] == 0.0 for r in rows[1:])
    g = load_file(str(later.run_dir / "checkpoint.safetensors"))
    straight = api.train(tiny_config(tmp_path, steps=5, name="c", extra=["model.ema_decay=0"]))
    g5 = load_file(str(straight.run_dir / "checkpoint.safetensors"))
    weights = [k for k in g if k.startswith("nets.G.") and k.endswith("weight")]
    assert all(torch.equal(g[k], g5[k]) for k in weights)  # G never moved after the first tick (step 5)
    assert not all(torch.equal(g[k], g5[k]) for k in g if k.startswith("nets.D.") and k.endswith("weight"))


def test_an_unknown_controller_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="unknown controller 'apfll'"):
        api.train(tiny_config(tmp_path, extra=["train.controllers=[apfll]"]))
