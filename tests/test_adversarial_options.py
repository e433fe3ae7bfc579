"""The adversarial families' own keys: R1 on real samples and the choice of norm layers."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from mspgsen.config import DataConfig
from mspgsen.contracts import DataShape
from mspgsen.resolve import resolve
from mspgsen.errors import UserError
from mspgsen.families import FAMILIES
from mspgsen.objectives import r1_of_scores, r1_penalty
from mspgsen.training.loop import run_step

from conftest import TINY, tiny_config
from test_families_contract import context, make_state


def test_r1_is_the_mean_squared_gradient_norm_on_real_samples():
    weights = torch.tensor([3.0, 4.0])
    linear = lambda x: x @ weights  # ∇ = w everywhere, so ‖∇‖² = 25
    assert r1_penalty(linear, torch.randn(16, 2)).item() == pytest.approx(25.0)
    x = torch.randn(16, 2)
    half_square = lambda x: 0.5 * x.pow(2).sum(dim=1)  # ∇ = x
    assert r1_penalty(half_square, x).item() == pytest.approx(x.pow(2).sum(dim=1).mean().item(), rel=1e-6)


def test_r1_from_the_scores_of_the_loss_forward_equals_r1_from_a_forward_of_its_own():
    critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))
    real = torch.randn(32, 2)
    leaf = real.clone().requires_grad_(True)
    assert r1_of_scores(critic(leaf), leaf).item() == pytest.approx(r1_penalty(critic, real).item(), rel=1e-6)


# dyngan conditions D on partitions but takes the same keys; it needs a finite set
FAMILIES_WITH_R1 = [("dcgan", DataConfig(name="ring8")), ("dyngan", DataConfig(name="ring8", size=512))]


@pytest.mark.parametrize("model,data", FAMILIES_WITH_R1)
def test_r1_weight_sets_the_knob_and_the_term_joins_ds_loss(model, data):
    state = make_state(model, data, overrides=["model.r1_weight=10"])
    assert state.knobs.weight("D/r1") == 5.0  # the term is E‖∇D‖², its weight γ/2
    run_step(state, state.family.phases(), context(state), "fp32")
    assert "D/r1" in state.stats.collect()


@pytest.mark.parametrize("model,data", [*FAMILIES_WITH_R1, ("mspgsen", DataConfig(name="ring8"))])
def test_lazy_r1_runs_on_every_nth_step_only_at_n_times_the_weight(model, data):
    """StyleGAN2's lazy regularisation: with r1_every=4 the term is computed on steps 0, 4, ... and
    there D moves exactly as with R1 on every step at 4× γ; on the other steps as without R1."""
    def one_step(step: int, overrides: list[str]) -> tuple[list[torch.Tensor], bool]:
        """D's weights after the step numbered `step`, and whether R1 was computed in it."""
        state = make_state(model, data, overrides=overrides)
        state.step = step
        run_step(state, state.family.phases(), context(state), "fp32")
        return [p.detach().clone() for p in state.nets["D"].parameters()], "D/r1" in state.stats.collect()

    lazy = ["model.r1_weight=10", "model.r1_every=4"]
    assert make_state(model, data, overrides=lazy).knobs.weight("D/r1") == 20.0  # γ/2 × 4
    for step, same_as in ((0, ["model.r1_weight=40"]), (3, ["model.r1_weight=0"]), (4, ["model.r1_weight=40"])):
        (lazy_weights, computed), (weights, _) = one_step(step, lazy), one_step(step, same_as)
        assert computed == (step % 4 == 0)
        for lazy_p, p in zip(lazy_weights, weights):
            torch.testing.assert_close(lazy_p, p)


@pytest.mark.parametrize("model,data", FAMILIES_WITH_R1)
def test_r1_keeps_d_flat_on_the_data(model, data):
    def gradient_on_real(r1_weight: float) -> float:
        # lr 1e-3 so that 60 steps move D well away from its initial (seed-dependent) slope
        state = make_state(model, data, overrides=[f"model.r1_weight={r1_weight}", "model.d_norm=none",
                                                   "model.optim_d.lr=1e-3"])
        ctx = context(state, batch_size=64)
        for _ in range(60):
            run_step(state, state.family.phases(), ctx, "fp32")
        real = state.stream.next().x
        labels = torch.zeros(len(real), dtype=torch.long)  # dyngan's one partition before any split
        return r1_penalty(lambda x: state.family.discriminate(state.nets, x, labels), real).item()

    assert gradient_on_real(100.0) < 0.01 * gradient_on_real(0.0)


def _norm_layers(net: nn.Module) -> set[type]:
    return {type(m) for m in net.modules() if isinstance(m, (nn.BatchNorm1d, nn.LayerNorm))}


def test_norm_keys_replace_the_familys_norms_and_family_keeps_them():
    state = make_state("dcgan", DataConfig(name="ring8"))
    assert _norm_layers(state.nets["G"]) == _norm_layers(state.nets["D"]) == {nn.BatchNorm1d}
    state = make_state("dyngan", DataConfig(name="ring8", size=512))
    assert _norm_layers(state.nets["G"]) == {nn.BatchNorm1d} and _norm_layers(state.nets["D"]) == set()
    state = make_state("dyngan", DataConfig(name="ring8", size=512), overrides=["model.g_norm=none"])
    assert _norm_layers(state.nets["G"]) == set()
    state = make_state("dcgan", DataConfig(name="ring8"), overrides=["model.d_norm=none", "model.g_norm=layer"])
    assert _norm_layers(state.nets["D"]) == set() and _norm_layers(state.nets["G"]) == {nn.LayerNorm}


def _spectral_layers(net: nn.Module) -> int:
    return sum(1 for m in net.modules() if nn.utils.parametrize.is_parametrized(m, "weight"))


def test_spectral_norm_key_chooses_the_sides_and_family_keeps_sagans():
    sides = {}
    for choice in ("family", "none", "g", "d"):
        state = make_state("sagan", DataConfig(name="ring8"), overrides=[f"model.spectral_norm={choice}"])
        sides[choice] = (_spectral_layers(state.nets["G"]) > 0, _spectral_layers(state.nets["D"]) > 0)
    assert sides == {"family": (True, True), "none": (False, False), "g": (True, False), "d": (False, True)}
    state = make_state("dcgan", DataConfig(name="ring8"), overrides=["model.spectral_norm=both"])
    assert _spectral_layers(state.nets["G"]) > 0 and _spectral_layers(state.nets["D"]) > 0


def test_a_wrong_norm_or_a_key_of_another_mould_is_a_clear_error():
    with pytest.raises(UserError, match="'model.d_norm' must be one of family, batch, layer, none"):
        resolve([{"model": "dcgan"}], ["model.d_norm=spectral"])
    with pytest.raises(UserError, match="unknown config key 'model.pack'"):
        resolve([{"model": "mspgsen"}], ["model.pack=2"])
    family = FAMILIES.get("dcgan")(resolve([{"model": "dcgan"}], TINY).model, DataShape("points", (2,)))
    assert family.networks_spec().d_norm == "batch"


@pytest.mark.parametrize("model,key", [("dcgan", "r1_weight"), ("wgan-gp", "gp_weight"), ("vaegan", "style_weight")])
def test_a_negative_loss_weight_is_a_clear_error(model, key):
    with pytest.raises(UserError, match=f"model.{key} weights a loss term and must be 0 \\(off\\) or more, got -1"):
        resolve([{"model": model}], [f"model.{key}=-1"])


def _trained_accuracy(family_overrides: list[str], fake_batch, steps: int = 200, lr: float = 1e-3) -> float:
    """Accuracy of the family's D (no norm layers, so no batch statistics leak) trained with BCE to
    tell real ring8 batches from `fake_batch(real)`, measured on fresh batches."""
    state = make_state("dcgan", DataConfig(name="ring8"), batch_size=64, overrides=["model.d_norm=none",
                                                                                   *family_overrides])
    discriminator = state.nets["D"]
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr)
    bce = nn.functional.binary_cross_entropy_with_logits
    for _ in range(steps):
        real = state.stream.next().x
        real_scores, fake_scores = discriminator(real), discriminator(fake_batch(real))
        loss = bce(real_scores, torch.ones_like(real_scores)) + bce(fake_scores, torch.zeros_like(fake_scores))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        hits = []
        for _ in range(20):
            real = state.stream.next().x
            hits += [discriminator(real) > 0, discriminator(fake_batch(real)) <= 0]
        return torch.cat(hits).float().mean().item()


def test_a_packed_d_sees_duplicates_that_a_one_sample_d_cannot():
    """PacGAN's point: samples repeated in pairs have the data's marginal, so a D judging one
    sample at a time is at chance; judging packs of two, it sees the pairs agree."""
    in_pairs = lambda real: real[::2].repeat_interleave(2, dim=0)
    # real pairs from one ring mode (1 in 8) look like duplicates: the best D is right ~94% of the time
    assert _trained_accuracy(["model.pack=2"], in_pairs) > 0.85
    assert _trained_accuracy([], in_pairs) < 0.6


def test_minibatch_std_lets_d_see_a_collapsed_batch():
    """Every fake batch is one real point repeated: each sample alone looks real, the batch's
    spread (zero) does not."""
    collapsed = lambda real: real[:1].expand_as(real)
    # lr 1e-2: the spread is one input among 129 to the head, and its weight must grow alone
    assert _trained_accuracy(["model.minibatch_std=true"], collapsed, lr=1e-2) > 0.9
    assert _trained_accuracy([], collapsed, lr=1e-2) < 0.6


def test_packing_scores_packs_and_penalises_each_packs_gradient():
    state = make_state("dcgan", DataConfig(name="ring8"), overrides=["model.pack=4", "model.d_norm=none"])
    x = torch.randn(8, 2)
    assert state.nets["D"](x).shape == (2,)
    assert state.family.discriminate(state.nets, x[:5]).shape == (5,)  # diagnose reads one score per sample
    weights = torch.arange(8.0)
    linear_in_the_pack = lambda x: x.reshape(len(x) // 4, 8) @ weights  # ∇ of a pack's score = w: ‖w‖² = 140
    assert r1_penalty(linear_in_the_pack, x, pack=4).item() == pytest.approx(140.0)


def test_a_batch_of_broken_packs_or_a_packed_dyngan_is_a_clear_error(tmp_path):
    from mspgsen import api

    with pytest.raises(UserError, match="model.pack=3 makes D judge packs of 3 samples, so the batch must hold "
                                        "whole packs; a process's batch is 16"):
        api.train(tiny_config(tmp_path, extra=["model.pack=3"]))
    with pytest.raises(UserError, match="dyngan's projection D .* cannot judge packs"):
        api.train(tiny_config(tmp_path, model="dyngan", name="dyn", extra=["model.pack=2", "data.size=512"]))
    assert not (tmp_path / "run").exists()  # refused before the run folder was made


def test_d_width_shrinks_d_alone():
    """VEEGAN's collapsing Stacked MNIST baseline: D at a quarter of G's width."""
    shape = DataShape("images", (3, 28, 28))
    config = resolve([{"model": {"name": "dcgan", "width": 64}}])
    nets = FAMILIES.get("dcgan")(config.model, shape).build_networks()
    small = FAMILIES.get("dcgan")(resolve([{"model": {"name": "dcgan", "width": 64, "d_width": 16}}]).model,
                                  shape).build_networks()
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(small["G"]) == count(nets["G"])
    assert count(small["D"]) < count(nets["D"]) / 8  # conv weights scale with the width squared
    assert small["D"](torch.zeros(2, 3, 28, 28)).shape == (2,)


def test_spectral_norm_divides_by_the_top_singular_value_and_iterates_once_per_update():
    """W / σ(W) with σ from u, v that the forward only reads; one power iteration per optimiser
    step of the network (the training loop's), so after enough updates σ is the true top singular
    value; the state has torch's names, so torch's checkpoints load."""
    from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm

    from mspgsen.nn.spectral_norm import refresh_spectral_norms, spectral_norm

    torch.manual_seed(0)
    layer = spectral_norm(nn.Conv2d(4, 6, 3))
    u = layer.parametrizations.weight[0]._u.clone()
    layer(torch.randn(2, 4, 5, 5))
    layer(torch.randn(2, 4, 5, 5))
    assert torch.equal(layer.parametrizations.weight[0]._u, u)  # calls leave u and v alone
    for _ in range(50):
        refresh_spectral_norms(layer)
    assert not torch.equal(layer.parametrizations.weight[0]._u, u)
    top = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), 2)
    assert top.item() == pytest.approx(1.0, abs=1e-4)
    layer.load_state_dict(torch_spectral_norm(nn.Conv2d(4, 6, 3)).state_dict())

    state = make_state("sagan", DataConfig(name="ring8"))
    vectors = {k: v.clone() for k, v in state.nets.state_dict().items() if k.endswith("._u")}
    run_step(state, state.family.phases(), context(state), "fp32")
    moved = {k for k, v in state.nets.state_dict().items() if k in vectors and not torch.equal(v, vectors[k])}
    # both sides were updated, so both iterated (a layer whose weight got no gradient, like an
    # attention projection behind SAGAN's zero-initialised γ, keeps its converged u)
    assert {k.split(".")[0] for k in moved} == {"G", "D"}


@pytest.mark.parametrize("make", [lambda: nn.Linear(5, 4), lambda: nn.Conv2d(3, 6, 3), lambda: nn.ConvTranspose2d(6, 3, 4, 2, 1)],
                         ids=["linear", "conv", "transposed-conv"])
def test_our_spectral_norm_gives_torchs_outputs_and_gradients_on_the_same_weights(make):
    """From the same weight and the same u, v: torch iterates inside each training-mode forward,
    we once after each update; so k refreshes then a call give what torch's k-th call gives, in
    value and in gradient (u and v are constants to both), and in eval mode neither iterates."""
    from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm

    from mspgsen.nn.spectral_norm import refresh_spectral_norms, spectral_norm

    torch.manual_seed(0)
    theirs = torch_spectral_norm(make())
    ours = spectral_norm(make())
    ours.load_state_dict(theirs.state_dict())  # same weight, bias, u and v
    x = torch.randn(2, 5) if isinstance(theirs, nn.Linear) else torch.randn(2, theirs.in_channels, 6, 6)
    for _ in range(4):
        refresh_spectral_norms(ours)
        expected, got = theirs(x), ours(x)
        assert torch.allclose(got, expected, atol=1e-6)
        expected_grad, = torch.autograd.grad(expected.square().sum(), theirs.parametrizations.weight.original)
        got_grad, = torch.autograd.grad(got.square().sum(), ours.parametrizations.weight.original)
        assert torch.allclose(got_grad, expected_grad, atol=1e-5)
    theirs.eval(), ours.eval()
    assert torch.allclose(ours(x), theirs(x), atol=1e-6) and torch.allclose(ours(x), theirs(x), atol=1e-6)


def test_a_grouped_minibatch_spread_is_each_groups_own():
    """D_aux judges the real and the generated batch in one call: groups=2 gives each half the
    spread it would have alone."""
    from mspgsen.nn.layers import minibatch_std

    real, fake = torch.randn(6, 3, 4, 4), torch.zeros(6, 3, 4, 4)
    joined = minibatch_std(torch.cat([real, fake]), groups=2)
    assert torch.equal(joined, torch.cat([minibatch_std(real), minibatch_std(fake)]))
    with pytest.raises(ValueError, match="equal groups"):
        minibatch_std(torch.randn(5, 3), groups=2)


def test_sagans_attention_is_x_plus_gamma_softmax_q_k_v_by_hand():
    from mspgsen.nn import SelfAttention2d
    torch.manual_seed(0)
    attention = SelfAttention2d(16)
    with torch.no_grad():
        attention.attention.gamma.fill_(0.7)
    x = torch.randn(2, 16, 3, 4)
    tokens = x.flatten(2).transpose(1, 2)  # [B, 12 positions, 16]
    block = attention.attention
    q, k, v = tokens @ block.query.weight.T, tokens @ block.key.weight.T, tokens @ block.value.weight.T
    expected = torch.empty_like(tokens)
    for b in range(2):
        for i in range(12):  # position i attends to every j with weight exp(q_i·k_j) / Σ_j' exp(q_i·k_j')
            weights = torch.exp(q[b, i] @ k[b].T)
            expected[b, i] = tokens[b, i] + 0.7 * (weights / weights.sum()) @ v[b]
    assert torch.allclose(attention(x), expected.transpose(1, 2).reshape(2, 16, 3, 4), atol=1e-5)


def test_hinge_terms_by_hand():
    from mspgsen.objectives import Hinge
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 0.5])
    # D: mean(max(0, 1 − D(x))) + mean(max(0, 1 + D(G(z)))) = (0 + 0.5 + 2)/3 + (0 + 1 + 1.5)/3
    assert Hinge().discriminator(real, fake).item() == pytest.approx(2.5 / 3 + 2.5 / 3)
    assert Hinge().generator(fake).item() == pytest.approx(0.5)  # G: −mean D(G(z))


def test_spectral_norm_on_g_changes_nothing_its_batch_norm_takes_out():
    """In SAGAN's G every spectral-normed layer is followed by batch norm, so W/σ(W) must compute
    what W computes. A bias per position on the projection from z broke this: spectral norm
    shrank z's part against it, and G learned to ignore z (SAGAN collapsed on Stacked MNIST)."""
    from mspgsen.nn import ConvGenerator, NetSpec
    shape = DataShape("images", (3, 28, 28))
    torch.manual_seed(0)
    normed = ConvGenerator(shape, 16, 8, NetSpec(g_norm="batch", g_spectral_norm=True))
    plain = ConvGenerator(shape, 16, 8, NetSpec(g_norm="batch"))
    weights = {k.replace("parametrizations.weight.original", "weight"): v for k, v in normed.state_dict().items()
               if not k.endswith(("._u", "._v"))}
    plain.load_state_dict(weights, strict=False)
    with torch.no_grad():
        plain.project.bias.zero_()
    z = torch.randn(32, 16)
    assert normed.project.bias is None
    assert torch.allclose(normed(z), plain(z), atol=1e-4)
