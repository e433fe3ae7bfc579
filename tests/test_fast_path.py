"""The fast path changes how a step is computed, not what: compiled training matches eager."""
from __future__ import annotations

import json
import warnings

import pytest
import torch
from safetensors.torch import load_file

from mspgsen import api
from mspgsen.errors import UserError
from mspgsen.training import fast

from conftest import tiny_config


@pytest.mark.slow
def test_compiled_training_matches_eager_and_keeps_the_checkpoint_format(tmp_path):
    if fast.compile_unavailable(torch.device("cpu")):
        pytest.skip("torch.compile cannot run on this machine")
    # wgan-gp: its gradient penalty (a double backward) must run eagerly inside a compiled D
    big_steps = ["model.optim_g.lr=5e-3", "model.optim_d.lr=5e-3"]  # updates far above float noise
    eager = api.train(tiny_config(tmp_path, "wgan-gp", steps=3, name="eager", extra=[*big_steps, "train.compile=off"]))
    compiled = api.train(tiny_config(tmp_path, "wgan-gp", steps=3, name="compiled",
                                     extra=[*big_steps, "train.compile=default"]))
    a = load_file(str(eager.run_dir / "checkpoint.safetensors"))
    b = load_file(str(compiled.run_dir / "checkpoint.safetensors"))
    assert a.keys() == b.keys()  # compiled in place: no _orig_mod in the names, resumable either way
    # Weights only: a bias right before BatchNorm has a zero gradient in exact arithmetic, and
    # Adam blows the rounding noise in it up to full-size steps of either sign.
    weights = [k for k in a if k.startswith("nets.") and k.endswith("weight")]
    assert len(weights) >= 6
    for key in weights:
        torch.testing.assert_close(b[key], a[key], rtol=1e-3, atol=1e-4, msg=lambda m: f"{key}: {m}")
    losses = [json.loads((run.run_dir / "stats.jsonl").read_text().splitlines()[-1]) for run in (eager, compiled)]
    for term in ("D/adv", "D/gp", "G/adv"):
        assert losses[1][term] == pytest.approx(losses[0][term], rel=1e-3, abs=1e-5)


def test_auto_compiles_on_cuda_only():
    assert fast.compile_mode("auto", torch.device("cpu")) is None
    assert fast.compile_mode("auto", torch.device("cuda")) == "default"
    assert fast.compile_mode("off", torch.device("cuda")) is None
    assert fast.compile_mode("max-autotune", torch.device("cpu")) == "max-autotune"


def test_where_compile_is_unavailable_the_run_says_so_and_trains_eagerly(tmp_path, monkeypatch):
    monkeypatch.setattr(fast, "compile_unavailable", lambda device: "no C++ compiler found for compiling on CPU")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = api.train(tiny_config(tmp_path, "dcgan", steps=2, extra=["train.compile=default"]))
    assert result.completed
    assert any("no C++ compiler found" in str(w.message) and "train.compile=off" in str(w.message) for w in caught)


def test_an_unknown_compile_mode_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="train.compile"):
        tiny_config(tmp_path, "dcgan", extra=["train.compile=fastest"])


@pytest.mark.slow
def test_compiled_spectral_normed_critics_train_as_eager_ones(tmp_path):
    """sagan: spectral norm on both sides and a D that judges the real and the generated batch in
    two calls per update. With torch's spectral norm (power iteration inside each call, u and v
    updated in place) the compiled backward failed; ours iterates once per update, outside the
    graph, so compiled training runs and matches eager."""
    if fast.compile_unavailable(torch.device("cpu")):
        pytest.skip("torch.compile cannot run on this machine")
    big_steps = ["model.optim_g.lr=5e-3", "model.optim_d.lr=5e-3"]
    runs = [api.train(tiny_config(tmp_path, "sagan", steps=3, name=mode, extra=[*big_steps, f"train.compile={mode}"]))
            for mode in ("off", "default")]
    eager, compiled = (load_file(str(run.run_dir / "checkpoint.safetensors")) for run in runs)
    vectors = [k for k in eager if k.startswith("nets.") and k.endswith(("._u", "._v"))]
    assert len(vectors) >= 8
    for key in [k for k in eager if k.startswith("nets.") and (k.endswith("original") or k in vectors)]:
        torch.testing.assert_close(compiled[key], eager[key], rtol=1e-3, atol=1e-4, msg=lambda m: f"{key}: {m}")


def test_mspgsen_compiles_every_network(tmp_path):
    """Its critics judge real and generated images in one call and its spectral norm iterates
    outside the forward, so nothing is left eager."""
    from mspgsen.data.images import ImageTensorSource
    from mspgsen.families import FAMILIES
    from mspgsen.resolve import resolve
    from mspgsen.training.state import TrainingState

    if fast.compile_unavailable(torch.device("cpu")):
        pytest.skip("torch.compile cannot run on this machine")
    config = resolve([{"model": "mspgsen"}], ["train.batch_size=4", "train.compile=default"])
    source = ImageTensorSource("tiny", torch.randint(0, 256, (16, 3, 16, 16), dtype=torch.uint8))
    model = FAMILIES.get("mspgsen")(config.model, source.shape)
    state = TrainingState(model, config, torch.device("cpu"), source.stream(4, 0, torch.device("cpu")))
    compiled = {name for name, net in state.nets.items() if net._compiled_call_impl is not None}
    assert compiled == {"G", "D", "D_aux"}
