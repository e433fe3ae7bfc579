"""MSPG-SEN's networks and losses: shapes, gradients, DEMA's linear cost, L_LGCL, the ablation flags."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.autograd.graph import saved_tensors_hooks
from torch.utils.flop_counter import FlopCounterMode

from mspgsen import api
from mspgsen.config import DataConfig
from mspgsen.contracts import DataShape
from mspgsen.controllers.schedules import progressive_level
from mspgsen.data import load_data
from mspgsen.families import FAMILIES
from mspgsen.nn import SelfAttention2d
from mspgsen.nn.dema import DEMA, ExpansionPath, local_global_contrastive_loss
from mspgsen.nn.gctdrn import GlobalEnhancement, SelectiveBranches
from mspgsen.nn.multiscale import AuxiliaryDiscriminator, ClassEmbedding, middle_scale, scale_sizes
from mspgsen.nn.pyramid import active_scale, downsample_pyramid, fade_pyramid, grown_pyramid, upsample
from mspgsen.resolve import resolve
from mspgsen.sampling import load_generator
from mspgsen.training.loop import run_step
from mspgsen.support.rundir import existing_run_dir
from mspgsen.training.state import TrainingState

from conftest import TINY, tiny_config
from test_families_contract import context, make_state

FLAGS = ("dema", "gctdrn", "afe", "multiscale", "progressive", "conditional")


def build(shape: DataShape, **flags):
    config = resolve([{"model": {"name": "mspgsen", "width": 8, "mlp_width": 32, "mlp_depth": 3, **flags}}])
    family = FAMILIES.get("mspgsen")(config.model, shape)
    return family, family.build_networks()


def count(module: torch.nn.Module | dict, kind: type | None = None) -> int:
    modules = module.values() if isinstance(module, dict) else [module]
    if kind is None:
        return sum(p.numel() for m in modules for p in m.parameters())
    return sum(p.numel() for m in modules for sub in m.modules() if isinstance(sub, kind) for p in sub.parameters())


@pytest.mark.parametrize("dims", [(1, 28, 28), (3, 32, 32), (3, 20, 14), (1, 16, 24)])
def test_generator_emits_every_scale_and_d_reads_them(dims):
    shape = DataShape("images", dims, num_classes=5)
    family, nets = build(shape)
    labels = torch.randint(5, (3,))
    out = nets["G"](torch.randn(3, family.latent_dim()), labels)
    sizes = nets["G"].sizes
    assert sizes[-1] == dims[1:] and len(sizes) >= 2
    assert {i: tuple(x.shape) for i, x in out.pyramid.items()} == {i: (3, dims[0], *s) for i, s in enumerate(sizes)}
    assert out.middle.shape == (3, dims[0], *sizes[len(sizes) // 2])
    assert nets["D"](out.pyramid, labels).shape == (3,)
    assert nets["D_aux"](out.middle).shape == (3,)


def test_points_networks_have_afe_on_a_hidden_layer():
    shape = DataShape("points", (2,))
    family, nets = build(shape)
    out = nets["G"](torch.randn(5, family.latent_dim()))
    assert out.final.shape == (5, 2) and out.middle.shape == (5, 2)
    assert nets["D"](out.final).shape == (5,) and nets["D_aux"](out.middle).shape == (5,)


@pytest.mark.parametrize("data", ["images", "ring8"])
def test_gradients_reach_every_parameter(data, tiny_images):
    state = make_state("mspgsen", DataConfig(name=str(tiny_images) if data == "images" else data), batch_size=16)
    state.knobs.level = None  # every scale active: a growing generator leaves its top heads idle by design
    ctx = context(state, batch_size=16)
    missing = []
    for phase in state.family.phases():
        for net in state.nets.values():
            net.zero_grad(set_to_none=True)
        sum(phase.compute(ctx).values()).backward()
        for name in phase.trains:
            if name in state.nets:
                missing += [f"{name}.{n}" for n, p in state.nets[name].named_parameters()
                            if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient: {missing[:8]}"


def measure(module: torch.nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """(FLOPs of forward + backward, bytes kept for backward) of one pass: deterministic costs."""
    saved = []

    def pack(tensor):
        saved.append(tensor.numel() * tensor.element_size())
        return tensor

    with FlopCounterMode(display=False) as flops, saved_tensors_hooks(pack, lambda t: t):
        out = module(x)
        out = out.out if hasattr(out, "out") else out
        out.sum().backward()
    return flops.get_total_flops(), sum(saved)


def test_dema_expansion_cost_grows_linearly_with_positions_and_sagans_does_not():
    torch.manual_seed(0)
    small, large = torch.randn(2, 32, 16, 16), torch.randn(2, 32, 64, 64)  # 16x the positions
    expansion = ExpansionPath(32, 32, tokens=4, spectral_norm=False)
    flops_ratio, memory_ratio = (b / a for a, b in zip(measure(expansion, small), measure(expansion, large)))
    assert 15 <= flops_ratio <= 17 and 15 <= memory_ratio <= 17  # linear: 16x
    attention = SelfAttention2d(32)
    sagan_flops, sagan_memory = (b / a for a, b in zip(measure(attention, small), measure(attention, large)))
    assert sagan_flops > 100 and sagan_memory > 100  # quadratic: towards 256x; the measure can tell them apart
    dema_flops, _ = (b / a for a, b in zip(measure(DEMA(32), small), measure(DEMA(32), large)))
    assert 15 <= dema_flops <= 17  # the whole module, focus path included, stays linear


def test_contrastive_loss_is_lower_for_aligned_positives_than_for_shuffled_ones():
    torch.manual_seed(0)
    focus = torch.randn(64, 32)
    positive = focus + 0.3 * torch.randn(64, 32)
    expansion = torch.randn(64, 32)
    aligned = local_global_contrastive_loss(focus, positive, expansion, temperature=0.1)
    shuffled = local_global_contrastive_loss(focus, positive[torch.randperm(64)], expansion, temperature=0.1)
    assert aligned < 0.5 < shuffled
    # a focus embedding equal to its own expansion embedding is penalised: the paths should differ
    redundant = local_global_contrastive_loss(focus, positive, focus.clone(), temperature=0.1)
    assert redundant > aligned


def test_dema_uses_its_condition():
    torch.manual_seed(0)
    dema = DEMA(16, condition_dim=8)
    x = torch.randn(4, 16, 8, 8)
    a, b = dema(x, torch.randn(4, 8)).out, dema(x, torch.randn(4, 8)).out
    assert not torch.allclose(a, b)


IMAGE_SHAPE = DataShape("images", (3, 32, 32), num_classes=10)


def test_each_flag_removes_its_own_parameters():
    family, full = build(IMAGE_SHAPE, progressive=True)
    total = count(full)
    betas = sum(1 for b in full["G"].blocks if b.beta is not None)
    alphas = sum(1 for b in full["G"].blocks if b.alpha is not None)

    _, off = build(IMAGE_SHAPE, progressive=True, dema=False)
    assert count(off) == total - count(full, DEMA) - betas

    _, off = build(IMAGE_SHAPE, progressive=True, gctdrn=False)
    plain_bodies = sum(count(b.body) for b in off["G"].blocks)
    assert count(off) == total - count(full, SelectiveBranches) - count(full, GlobalEnhancement) - alphas + plain_bodies

    _, off = build(IMAGE_SHAPE, progressive=True, afe=False)
    assert "D_aux" not in off and count(off) == total - count(full["D_aux"])

    # D's small-scale readers are also where a growing D enters, so only without growth does
    # `multiscale` off remove them (G keeps its heads at every scale while it grows, too)
    _, off = build(IMAGE_SHAPE, progressive=True, multiscale=False)
    assert count(off) == total
    _, off = build(IMAGE_SHAPE, multiscale=False, progressive=False)
    small_scale_readers = sum(count(m) for i, m in full["D"].from_image.items() if int(i) < 3)
    afe_head = str(middle_scale(scale_sizes(IMAGE_SHAPE)))  # G keeps the head AFE's critic reads
    small_scale_heads = sum(count(m) for i, m in full["G"].to_image.items() if int(i) < 3 and i != afe_head)
    assert count(off) == total - small_scale_readers - small_scale_heads

    _, off = build(IMAGE_SHAPE, progressive=True, conditional=False)
    condition_dim = full["G"].classes.embed.embedding_dim
    g_conditions = (count(full["G"], ClassEmbedding) + condition_dim * full["G"].project[0].out_features
                    + sum(condition_dim * b.attention.fusion[0].out_features for b in full["G"].blocks
                          if b.attention is not None))  # DEMA only on maps of at most 16x16 positions
    assert count(off) == total - g_conditions - count(full["D"].classes)  # the projection D's class embedding

    off_family, off = build(IMAGE_SHAPE, progressive=False)
    assert count(off) == total  # growth is a schedule, not weights
    assert off_family.default_knobs().level is None and family.default_knobs().level == 0.0
    assert "progressive-growth" not in off_family.default_controllers()
    small, _ = build(IMAGE_SHAPE)  # unset: growth only for images larger than 32x32
    large, _ = build(DataShape("images", (3, 64, 64)))
    assert not small.grows() and large.grows()


@pytest.mark.parametrize("flag", FLAGS)
def test_each_one_off_variant_still_trains(flag, tiny_images):
    config = resolve([{"model": {"name": "mspgsen", flag: False}}], TINY)
    source = load_data(DataConfig(name=str(tiny_images)))
    torch.manual_seed(0)
    state = TrainingState(FAMILIES.get("mspgsen")(config.model, source.shape), config, torch.device("cpu"),
                          source.stream(8, 0, torch.device("cpu")))
    ctx = context(state)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in state.nets.items()}
    for _ in range(2):
        run_step(state, state.family.phases(), ctx, "fp32")
    indicators = state.stats.collect()
    assert all(torch.isfinite(torch.tensor(v)) for v in indicators.values())
    for name, net in state.nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), f"{name} did not train"
    assert ("G/aux" in indicators) == (flag != "afe") and ("G/lgcl" in indicators) == (flag != "dema")


def test_fade_in_blends_neighbouring_scales():
    sizes = [(4, 4), (8, 8), (16, 16)]
    images = torch.rand(2, 3, 16, 16)
    pyramid = downsample_pyramid(images, sizes, [0, 1, 2])
    assert fade_pyramid(pyramid, sizes, 2.0) is pyramid
    at_zero = fade_pyramid(pyramid, sizes, 0.0)
    assert torch.equal(at_zero[2], upsample(pyramid[0], (16, 16)))
    halfway = fade_pyramid(pyramid, sizes, 1.5)
    assert torch.equal(halfway[1], pyramid[1])
    assert torch.allclose(halfway[2], 0.5 * upsample(pyramid[1], (16, 16)) + 0.5 * pyramid[2])


@pytest.mark.parametrize("sizes", [[(4, 4), (8, 8), (16, 16), (32, 32)], [(3, 4), (6, 8), (12, 16)]])
def test_a_growing_generator_shows_from_its_computed_scales_what_the_fade_shows(sizes):
    """G computes only the scales up to the active one; what it shows equals the fade of a full pyramid
    (the rule real images are shown by)."""
    pyramid = downsample_pyramid(torch.rand(2, 3, *sizes[-1]), sizes, list(range(len(sizes))))
    for level in (0.0, 0.25, 1.0, 1.5, len(sizes) - 1.5, len(sizes) - 1.0):
        computed = {i: image for i, image in pyramid.items() if i <= active_scale(level, len(sizes))}
        shown, faded = grown_pyramid(computed, sizes, level), fade_pyramid(pyramid, sizes, level)
        for i in pyramid:
            torch.testing.assert_close(shown[i], faded[i], msg=lambda m: f"level {level}, scale {i}: {m}")


def test_growth_skips_the_scales_not_yet_reached():
    """FLOPs of a G and a D pass at each level: stage 0 costs a fraction of the grown networks, and
    D's features are continuous where a stage is grown into."""
    from torch.utils.flop_counter import FlopCounterMode

    family, nets = build(DataShape("images", (3, 32, 32)))
    z, top = torch.randn(2, family.latent_dim()), len(scale_sizes(IMAGE_SHAPE)) - 1

    def flops(level: float) -> int:
        nets["G"].level.fill_(level)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            nets["D"](nets["G"](z).pyramid, level=level)
        return counter.get_total_flops()

    costs = [flops(float(level)) for level in range(top + 1)]
    assert costs == sorted(costs) and costs[0] < costs[-1] / 4
    nets["D"].eval()  # spectral norm steady between the two calls
    pyramid = downsample_pyramid(torch.rand(2, 3, 32, 32), scale_sizes(IMAGE_SHAPE), list(range(top + 1)))
    for whole in range(1, top):
        before, after = (nets["D"].embed(fade_pyramid(pyramid, scale_sizes(IMAGE_SHAPE), level), level)
                         for level in (whole - 1e-6, whole + 1e-6))
        torch.testing.assert_close(before, after, atol=1e-3, rtol=1e-3)


def test_progressive_schedule_holds_then_fades_each_scale_in():
    levels = [progressive_level(step, grow_until=400, scales=4) for step in (0, 99, 100, 125, 150, 199, 300, 350, 400)]
    assert levels == [0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 3.0, 3.0]


def test_a_growing_generator_shows_the_small_scale_and_its_snapshot_keeps_the_level(tmp_path, tiny_images):
    result = api.train(tiny_config(tmp_path, "mspgsen", tiny_images, steps=4,
                                   extra=["model.progressive=true", "model.grow_fraction=100"]))
    loaded = load_generator(existing_run_dir(result.run_dir))
    assert float(loaded.generator.level) == 0.0  # 4 of 400 growth steps: still at the 4x4 stage
    pixels = np.load(api.sample(result.run_dir, 4, tmp_path / "s.npz"))["images"]
    blocks = pixels.reshape(4, 4, 4, 4, 4, 3)  # 16x16 from 4x4: constant 4x4 blocks
    assert (blocks == blocks[:, :, :1, :, :1]).all()


def test_conditional_sampling_draws_every_class(tiny_images):
    family, nets = build(DataShape("images", (3, 16, 16), num_classes=3))
    labels = family.sample_conditions(300, torch.Generator().manual_seed(0))
    assert set(labels.tolist()) == {0, 1, 2}
    assert family.generate(nets, torch.randn(300, family.latent_dim()),
                           labels).shape == (300, 3, 16, 16)


def test_auxiliary_critic_sees_a_collapsed_batch():
    """The minibatch-diversity feature: identical samples give D_aux a different input than varied ones."""
    critic = AuxiliaryDiscriminator(3, (8, 8), 8, spectral_norm=False)
    varied = torch.randn(8, 3, 8, 8)
    collapsed = varied[:1].expand(8, -1, -1, -1)
    assert not torch.allclose(critic(collapsed)[0], critic(varied)[0])  # the same image, judged in its batch


@pytest.mark.slow
def test_mspgsen_trains_on_mnist_from_the_command_line_with_its_labels(tmp_path, shared_data):
    from mspgsen.cli import main

    out = tmp_path / "run"
    code = main(["train", "--model", "mspgsen", "--data", "mnist", "--data-root", str(shared_data), "--steps", "2",
                 "--batch-size", "8", "--out", str(out), "--set", "data.limit=64", "--set", "model.width=4",
                 "--set", "train.progress=false"])
    assert code == 0
    loaded = load_generator(existing_run_dir(out))
    assert loaded.generator.classes is not None and loaded.family.num_classes == 10  # conditional on digits
    assert loaded.generator.sizes == [(7, 7), (14, 14), (28, 28)]


def test_gctdrn_branch_weights_are_attention_of_the_input_on_the_branches():
    """Eq. 16 as we read it: W_i = softmax_i(q·k_i/√d) per channel group, q from the pooled input,
    k_i from the pooled output of branch i; checked against a hand computation."""
    from mspgsen.nn.gctdrn import SelectiveBranches

    torch.manual_seed(0)
    branches = SelectiveBranches(8, 2, spectral_norm=False)
    x = torch.randn(2, 8, 5, 5)
    outputs = torch.randn(2, 3, 8, 5, 5)
    weights = branches.branch_weights(x, outputs.mean(dim=(3, 4)))
    q = branches.query(x.mean(dim=(2, 3)))  # [2, 8]
    k = branches.key(outputs.mean(dim=(3, 4)))  # [2, 3, 8]
    for head in range(4):  # 4 heads of 2 channels
        cols = slice(2 * head, 2 * head + 2)
        expected = ((q[:, None, cols] * k[:, :, cols]).sum(dim=2) / 2 ** 0.5).softmax(dim=1)  # [2, 3]
        assert torch.allclose(weights[:, :, cols], expected[:, :, None].expand(-1, -1, 2), atol=1e-6)
    assert torch.allclose(weights.sum(dim=1), torch.ones(2, 8))


def test_dema_windows_are_chosen_per_position_by_the_input():
    from mspgsen.nn.dema import FocusPath

    torch.manual_seed(0)
    focus = FocusPath(8, 8, 2, 3, spectral_norm=False)
    a, b = torch.randn(1, 8, 6, 6), torch.randn(1, 8, 6, 6)
    choice = focus.window_choice(a)
    assert choice.shape == (1, 3, 6, 6) and torch.allclose(choice.sum(dim=1), torch.ones(1, 6, 6))
    assert not torch.allclose(choice, focus.window_choice(b))  # another input, other windows
    assert not torch.allclose(choice[..., 0, 0], choice[..., 3, 3])  # and per position


class _OneBatch:
    """A stream that always gives the same real batch (so a phase can be recomputed by hand)."""

    def __init__(self, x):
        from mspgsen.contracts import Batch

        self.batch = Batch(x)

    def next(self):
        return self.batch


def test_afe_terms_are_the_sums_of_eq_17_to_20():
    """D/adv (eq. 17), D/aux (eq. 18, real side repaired), G/adv + G/aux (eq. 19) and G/aux_critic
    (eq. 20's λ_aux·L_Daux), each against −log σ by hand on a tiny batch of points."""
    import torch.nn.functional as F

    from mspgsen.contracts import StepContext
    from mspgsen.training.stats import StatsCollector

    config = resolve([{"model": {"name": "mspgsen", "mlp_width": 16, "mlp_depth": 3, "tokens": 4,
                                 "instance_noise": 0.0, "dema": False}}])
    family = FAMILIES.get("mspgsen")(config.model, DataShape("points", (2,)))
    nets = torch.nn.ModuleDict(family.build_networks()).eval()  # spectral norm's power step would move between calls
    real = torch.randn(6, 2)
    ctx = StepContext(nets, family.default_knobs(), _OneBatch(real), family.latent_dim(), 6, torch.device("cpu"),
                      StatsCollector())
    nll = lambda scores: -F.logsigmoid(scores).mean()  # −E[log σ(s)]
    nll_fake = lambda scores: -F.logsigmoid(-scores).mean()  # −E[log(1 − σ(s))]

    torch.manual_seed(3)
    g_terms = family.generator_terms(ctx)
    torch.manual_seed(3)
    fake = nets["G"](ctx.latents())
    main, aux_fake, aux_real = nets["D"](fake.final), nets["D_aux"](fake.middle), nets["D_aux"](real)
    assert g_terms["G/adv"].item() == pytest.approx(nll(main).item(), abs=1e-6)
    assert g_terms["G/aux"].item() == pytest.approx(nll(aux_fake).item(), abs=1e-6)
    assert g_terms["G/aux_critic"].item() == pytest.approx((nll(aux_real) + nll_fake(aux_fake)).item(), abs=1e-6)
    assert ctx.knobs.weight("G/aux") == 1.0 and ctx.knobs.weight("G/aux_critic") == config.model.aux_weight

    torch.manual_seed(4)
    d_terms = family.discriminator_terms(ctx)
    torch.manual_seed(4)
    with torch.no_grad():
        fake = nets["G"](ctx.latents())
    expected_d = nll(nets["D"](real)) + nll_fake(nets["D"](fake.final))
    expected_aux = nll(nets["D_aux"](real)) + nll_fake(nets["D_aux"](fake.middle))
    assert d_terms["D/adv"].item() == pytest.approx(expected_d.item(), abs=1e-6)
    assert d_terms["D/aux"].item() == pytest.approx(expected_aux.item(), abs=1e-6)


def test_r1_is_the_mean_squared_input_gradient_of_d_on_real_points_weighted_by_half_gamma():
    from mspgsen.contracts import StepContext
    from mspgsen.training.stats import StatsCollector

    config = resolve([{"model": {"name": "mspgsen", "mlp_width": 16, "mlp_depth": 3, "tokens": 4, "r1_weight": 0.4}}])
    family = FAMILIES.get("mspgsen")(config.model, DataShape("points", (2,)))
    nets = torch.nn.ModuleDict(family.build_networks())
    real = torch.randn(6, 2)
    ctx = StepContext(nets, family.default_knobs(), _OneBatch(real), family.latent_dim(), 6, torch.device("cpu"),
                      StatsCollector())
    terms = family.discriminator_terms(ctx)
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(nets["D"](x).sum(), x)
    assert terms["D/r1"].item() == pytest.approx(grad.pow(2).sum(dim=1).mean().item(), rel=1e-5)
    assert ctx.knobs.weight("D/r1") == pytest.approx(0.2)
    assert "D/r1" not in FAMILIES.get("mspgsen")(resolve([{"model": "mspgsen"}]).model,
                                                 DataShape("points", (2,))).default_knobs().loss_weights


def test_feature_matching_sums_over_ds_layers_as_eq_12_writes_it():
    """L_FM = Σ_i (1/N_i)·‖φ_i(x) − φ_i(G(z))‖² over every stage of D, batch means per side."""
    from mspgsen.nn.multiscale import scale_sizes
    from mspgsen.nn.pyramid import downsample_pyramid
    from mspgsen.objectives import layered_feature_matching

    real = [torch.ones(4, 2, 3, 3), torch.zeros(4, 5)]
    fake = [torch.zeros(4, 2, 3, 3), torch.full((4, 5), 2.0)]
    assert layered_feature_matching(real, fake).item() == pytest.approx(1.0 + 4.0)  # (18·1)/18 + (5·4)/5
    _, nets = build(IMAGE_SHAPE)
    layers = nets["D"].layer_features(downsample_pyramid(torch.randn(2, *IMAGE_SHAPE.dims), scale_sizes(IMAGE_SHAPE),
                                                         nets["D"].read_scales))
    assert len(layers) == len(scale_sizes(IMAGE_SHAPE))  # one φ_i per stage, full size down
    assert [layer.shape[-1] for layer in layers] == sorted((s[1] for s in scale_sizes(IMAGE_SHAPE)), reverse=True)


@pytest.mark.parametrize("level", [0.0, 0.5, 1.0, 1.5, 2.0])
def test_ds_score_depends_on_where_the_pixels_are_at_every_growth_level(level):
    """A D whose head sums 1x1-conv features over positions scores a shuffled image as the image
    itself: it read only that at the first growth level, and G collapsed there."""
    torch.manual_seed(0)
    shape = DataShape("images", (3, 28, 28))
    family, nets = build(shape)
    discriminator = nets["D"].eval()
    sizes = scale_sizes(shape)
    images = torch.rand(4, 3, 28, 28) * 2 - 1
    pyramid = fade_pyramid(downsample_pyramid(images, sizes, list(range(len(sizes)))), sizes, level)
    shuffled = {}
    for scale, x in pyramid.items():  # the same pixels, at other places (every channel alike)
        order = torch.randperm(x.shape[2] * x.shape[3])
        shuffled[scale] = x.flatten(2)[:, :, order].view_as(x)
    with torch.no_grad():
        assert not torch.allclose(discriminator(pyramid, level=level), discriminator(shuffled, level=level), atol=1e-4)


def test_ds_batch_norm_judges_a_joined_batch_as_two_separate_calls():
    """Real and generated images go through D in one call; its batch norm takes each part's own statistics."""
    torch.manual_seed(0)
    shape = DataShape("images", (3, 28, 28))
    family, nets = build(shape, progressive=False)
    discriminator = nets["D"].train()
    sizes = scale_sizes(shape)
    real, fake = (downsample_pyramid(torch.rand(6, 3, 28, 28) * s, sizes, discriminator.read_scales) for s in (1, 0.1))
    joined = {i: torch.cat([real[i], fake[i]]) for i in real}
    apart = torch.cat([discriminator(real), discriminator(fake)])
    torch.testing.assert_close(discriminator(joined, groups=2), apart)
    assert not torch.allclose(discriminator(joined), apart)  # one batch statistic over both would differ


def test_a_gctdrn_block_is_equation_15_with_one_norm_and_relu():
    """Without its switches a block is ReLU(BN(conv(X) + shortcut(X))), eq. 15's F with α, β off:
    one nonlinear layer per scale (a second conv-BN-ReLU before the body made G collapse)."""
    from mspgsen.nn.gctdrn import GCTDRNBlock, conv3x3_mixer

    torch.manual_seed(0)
    block = GCTDRNBlock(6, 4, 2, conv3x3_mixer(False), gctdrn=False, dema=False).train()
    x = torch.randn(5, 6, 7, 7)
    by_hand = torch.relu(block.post[0](block.body(x) + block.shortcut(x)))
    torch.testing.assert_close(block(x)[0], by_hand)
    assert isinstance(block.pre, torch.nn.Identity)


@pytest.mark.parametrize("side", [(28, 28), (32, 32), (20, 14), (48, 40), (36, 36)])
def test_the_scale_pyramid_treats_every_border_alike(side):
    """Resampling between G's and D's scales commutes with flips, so no border row or column is
    made or read differently from the one opposite it (the first mspgsen drew a bright top and
    left border row)."""
    shape = DataShape("images", (3, *side))
    sizes = scale_sizes(shape)
    images = torch.rand(2, 3, *side)
    for dims in ([2], [3]):
        flipped = downsample_pyramid(images.flip(dims), sizes, list(range(len(sizes))))
        for scale, x in downsample_pyramid(images, sizes, list(range(len(sizes)))).items():
            torch.testing.assert_close(flipped[scale], x.flip(dims))
            if scale + 1 < len(sizes):
                torch.testing.assert_close(upsample(x.flip(dims), sizes[scale + 1]),
                                           upsample(x, sizes[scale + 1]).flip(dims))


@pytest.mark.slow
def test_a_trained_generator_draws_every_border_as_dark_as_the_data(tmp_path):
    """Images with a black frame: after a few hundred steps at the family's defaults the frame G
    draws is dark on all four sides alike (a bright top or left row was the first mspgsen's mark)."""
    rng = np.random.default_rng(0)
    images = np.zeros((256, 16, 16, 1), np.uint8)
    images[:, 3:13, 3:13] = rng.integers(64, 256, (256, 10, 10, 1))
    np.savez(tmp_path / "framed.npz", images=images)
    result = api.train(tiny_config(tmp_path, "mspgsen", tmp_path / "framed.npz", steps=300))
    mean = np.load(api.sample(result.run_dir, 256, tmp_path / "s.npz"))["images"][..., 0].mean(0) / 255
    bands = {"top": mean[:3], "bottom": mean[-3:], "left": mean[:, :3], "right": mean[:, -3:]}
    darkness = {side: float(band.mean()) for side, band in bands.items()}
    assert max(darkness.values()) < 0.3, darkness  # the data's frame is 0, its inside 0.63 on average
    assert max(darkness.values()) - min(darkness.values()) < 0.1, darkness
    assert mean[3:13, 3:13].mean() > max(darkness.values()) + 0.3


def test_g_grows_its_features_smoothly_and_alike_at_every_border():
    """G's features reach the next scale bilinearly: no 2x2 block of copies for the dilated branches
    to read in a grid (nearest growth gave mspgsen's samples a blocky look and cost it modes,
    docs/benchmarks.md 2026-12-07), and flipping commutes with it as with the pyramid."""
    config = resolve([{"model": "mspgsen"}])
    assert config.model.g_upsample == "bilinear"
    family = FAMILIES.get("mspgsen")(config.model, DataShape("images", (3, 28, 28)))
    generator = family.build_networks()["G"]
    x = torch.randn(2, 8, 7, 7)
    grown = generator._grow(x, (14, 14))
    blocks = grown.unfold(2, 2, 2).unfold(3, 2, 2).flatten(-2)  # every aligned 2x2 block
    assert (blocks.std(dim=-1) > 1e-6).all()
    for dims in ([2], [3]):
        torch.testing.assert_close(generator._grow(x.flip(dims), (14, 14)), grown.flip(dims))
    nearest = resolve([{"model": {"name": "mspgsen", "g_upsample": "nearest"}}])
    old = FAMILIES.get("mspgsen")(nearest.model, DataShape("images", (3, 28, 28))).build_networks()["G"]
    assert (old._grow(x, (14, 14)).unfold(2, 2, 2).unfold(3, 2, 2).flatten(-2).std(dim=-1) < 1e-6).all()
