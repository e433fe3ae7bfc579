"""Every registered family meets the same contract; a new family adds nothing here but its name."""
from __future__ import annotations

import pytest
import torch

from mspgsen.config import DataConfig
from mspgsen.contracts import DataShape, StepContext
from mspgsen.data import load_data
from mspgsen.families import FAMILIES
from mspgsen.resolve import resolve
from mspgsen.training.loop import run_step
from mspgsen.training.state import TrainingState

from conftest import TINY

ALL = FAMILIES.names()
RING = DataConfig(name="ring8", size=512)  # a finite set: every family can train on it (dyngan needs one)
IMAGE_SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64), (3, 20, 14), (3, 200, 200)]  # 200: seed 002's CelebA crop


def make_state(model: str, data: DataConfig, seed: int = 0, batch_size: int = 8,
               overrides: list[str] = ()) -> TrainingState:
    config = resolve([{"model": model}], [*TINY, *overrides])
    source = load_data(data)
    family = FAMILIES.get(model)(config.model, source.shape)
    torch.manual_seed(seed)
    stream = source.stream(batch_size, seed, torch.device("cpu"))
    return TrainingState(family, config, torch.device("cpu"), stream)


def context(state: TrainingState, batch_size: int = 8) -> StepContext:
    return StepContext(state.nets, state.knobs, state.stream, state.family.latent_dim(), batch_size,
                       state.device, state.stats)


@pytest.mark.parametrize("model", ALL)
@pytest.mark.parametrize("dims", IMAGE_SHAPES)
def test_networks_fit_any_image_shape(model, dims):
    family = FAMILIES.get(model)(resolve([{"model": model}], TINY).model, DataShape("images", dims, samples=100))
    nets = family.build_networks()
    images = family.generate(nets, torch.randn(3, family.latent_dim()))
    assert images.shape == (3, *dims)
    assert float(images.abs().max()) <= 1.0  # tanh output, the range of the data
    assert family.discriminate(nets, images).shape == (3,)


@pytest.mark.parametrize("model", ALL)
@pytest.mark.parametrize("data", ["ring8", "images"])
def test_two_steps_give_finite_loss_terms(model, data, tiny_images):
    state = make_state(model, DataConfig(name=str(tiny_images)) if data == "images" else RING)
    ctx = context(state)
    for _ in range(2):
        run_step(state, state.family.phases(), ctx, "fp32")
    indicators = state.stats.collect()
    assert {"D/adv", "G/adv", "D(x)", "D(G(z))"} <= set(indicators)
    assert all(torch.isfinite(torch.tensor(v)) for v in indicators.values())


@pytest.mark.parametrize("model", ALL)
def test_each_phase_changes_only_the_networks_it_trains(model, tiny_images):
    state = make_state(model, DataConfig(name=str(tiny_images)))
    ctx = context(state)
    for phase in state.family.phases():
        before = {name: [p.detach().clone() for p in net.parameters()] for name, net in state.nets.items()}
        run_step(state, [phase], ctx, "fp32")
        for name, net in state.nets.items():
            changed = any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters()))
            assert changed == (name in phase.trains), f"phase {phase.name} {'did not change' if not changed else 'changed'} {name}"


@pytest.mark.parametrize("model", ALL)
def test_same_seed_same_weights(model):
    results = []
    for _ in range(2):
        state = make_state(model, RING, seed=5)
        ctx = context(state)
        for _ in range(3):
            run_step(state, state.family.phases(), ctx, "fp32")
        results.append(torch.cat([p.detach().flatten() for p in state.nets.parameters()]))
    assert torch.equal(*results)


@pytest.mark.parametrize("model, overrides, expected", [("wgan-gp", [], ["D"] * 5 + ["G"]),
                                                       ("dcgan", ["model.g_steps=2"], ["D", "G", "G"])])
def test_n_critic_and_g_steps_run_each_phase_that_many_times(model, overrides, expected):
    state = make_state(model, DataConfig(name="ring8"), overrides=overrides)
    calls = []
    phases = state.family.phases()
    counted = [type(p)(p.name, p.optimizer, p.trains, lambda ctx, f=p.compute, n=p.name: calls.append(n) or f(ctx),
                       p.after_step) for p in phases]
    run_step(state, counted, context(state), "fp32")
    assert calls == expected


def test_weight_clipping_keeps_the_critic_inside_the_box():
    state = make_state("wgan", DataConfig(name="ring8"))
    state.knobs.lr_scale["D"] = 1e4  # large steps would leave the box without clipping
    run_step(state, state.family.phases(), context(state), "fp32")
    assert max(float(p.abs().max()) for p in state.nets["D"].parameters()) <= 0.01


def test_gradient_penalty_is_weighted_by_its_knob_in_the_loss_the_loop_backpropagates(monkeypatch):
    """The loop's D loss is D/adv + 10·D/gp: the gradient it steps with equals that sum's, by hand."""
    state = make_state("wgan-gp", DataConfig(name="ring8"))
    assert state.knobs.weight("D/gp") == 10.0
    parameters = list(state.nets["D"].parameters())
    by_hand, penalty_gradients, stepped = [], [], []

    def compute(ctx):
        terms = d_phase.compute(ctx)
        by_hand.append(torch.autograd.grad(terms["D/adv"] + 10.0 * terms["D/gp"], parameters, retain_graph=True))
        penalty_gradients.append(torch.autograd.grad(terms["D/gp"], parameters, retain_graph=True, allow_unused=True))
        return terms

    d_phase = state.family.phases()[0]
    recording = type(d_phase)(d_phase.name, d_phase.optimizer, d_phase.trains, compute)
    monkeypatch.setattr(state.optimizers["D"], "step", lambda *a, **k: stepped.append([p.grad.clone()
                                                                                        for p in parameters]))
    run_step(state, [recording], context(state), "fp32")
    assert len(stepped) == 5  # n_critic
    for looped, expected in zip(stepped[0], by_hand[0]):
        torch.testing.assert_close(looped, expected)
    # the penalty moves D, so a loop that left its weight at 1 (or dropped it) would fail the check above
    assert max(float(g.abs().max()) for g in penalty_gradients[0] if g is not None) > 1e-3


@pytest.mark.parametrize("model", ALL)
def test_bf16_autocast_steps_give_finite_terms(model, tiny_images):
    state = make_state(model, DataConfig(name=str(tiny_images)))
    ctx = context(state)
    for _ in range(2):
        run_step(state, state.family.phases(), ctx, "bf16")
    indicators = state.stats.collect()
    assert indicators and all(torch.isfinite(torch.tensor(v)) for v in indicators.values())
    assert all(p.dtype == torch.float32 for p in state.nets.parameters())  # weights stay fp32 under autocast
