"""APFL and the DQN balancer: scripted indicators get the documented actions, the DQN learns known
tasks, both survive resume exactly, and the ablation command tabulates variants."""
from __future__ import annotations

import json
import math

import pytest
import torch

from mspgsen import api
from mspgsen.commands import experiments
from mspgsen.contracts import Knobs
from mspgsen.controllers import CONTROLLERS
from mspgsen.config import BalanceConfig
from mspgsen.controllers.balance import ACTIONS, Balance
from mspgsen.controllers.dqn import DQNAgent
from mspgsen.errors import UserError
from mspgsen.commands.experiments import plan_variants
from mspgsen.resolve import resolve

from conftest import TINY, tiny_config


def apfl(steps: int = 1000, **settings):
    config = resolve([{"train": {"steps": steps, "apfl": settings}}])
    return CONTROLLERS.get("apfl")(config)


def indicators(accuracy: float, g_trend: float = -0.1, **extra) -> dict[str, float]:
    return {"acc/real": accuracy, "acc/fake": accuracy, "trend/G/adv": g_trend, **extra}


def run_knobs(**fields) -> Knobs:
    """Knobs as a run starts them: every optimiser listed in lr_scale."""
    return Knobs(lr_scale={"G": 1.0, "D": 1.0}, **fields)


def test_apfl_cuts_a_too_strong_discriminator_and_raises_the_noise():
    controller, knobs = apfl(), run_knobs()
    controller.act(500, indicators(0.7), knobs)  # middle phase, balanced: the baseline
    lr_d, lr_g, noise = knobs.lr("D", 1.0), knobs.lr("G", 1.0), knobs.noise()
    actions = controller.act(550, indicators(0.99), knobs)
    assert actions["d_too_strong"] == 1.0
    assert knobs.lr("D", 1.0) < 0.85 * lr_d  # cut by d_lr_factor (0.8), beyond the slow γ decay
    assert knobs.lr("G", 1.0) > 0.95 * lr_g  # G's side untouched but for the γ decay
    assert knobs.noise() > noise


def test_apfl_raises_feature_matching_for_a_stalled_generator_and_lowers_it_again():
    controller, knobs = apfl(g_stall_ticks=3), run_knobs()
    weights = []
    for tick in range(5):  # G's loss not falling, no metric: stalled from the third tick on
        controller.act(300 + 10 * tick, indicators(0.7, g_trend=0.05), knobs)
        weights.append(knobs.weight("G/fm"))
    assert weights[:2] == [0.0, 0.0] and weights[2] > 0 and weights[4] > weights[3] > weights[2]
    controller.act(400, indicators(0.7, g_trend=-0.05), knobs)  # moving again
    assert knobs.weight("G/fm") < weights[4]


def test_apfl_counts_a_better_metric_as_progress():
    controller, knobs = apfl(g_stall_ticks=2), run_knobs()
    for tick, quality in enumerate([0.1, 0.2, 0.3, 0.4]):  # loss flat, but the periodic metric improves
        controller.act(300 + tick, indicators(0.7, g_trend=0.05, **{"eval/high_quality": quality}), knobs)
    assert knobs.weight("G/fm") == 0.0


def test_apfl_phases_floor_the_noise_early_and_add_feature_matching_late():
    controller, knobs = apfl(steps=1000, early_noise=0.1), run_knobs()
    controller.act(10, indicators(0.7), knobs)
    assert knobs.noise() >= 0.1  # early: simplified D feedback, with a noise floor where one is set
    controller.act(500, indicators(0.7), knobs)
    assert knobs.noise() == 0.0 and knobs.weight("G/fm") == 0.0  # middle: full strength
    controller.act(900, indicators(0.7), knobs)
    assert knobs.weight("G/fm") >= 1.0  # late: L_FM as regulariser


def test_apfl_learning_rate_follows_equation_8():
    controller, knobs = apfl(lr_gamma=0.9), run_knobs()
    for tick in range(1, 4):
        controller.act(400 + tick, indicators(0.7), knobs)
    assert knobs.lr("G", 1.0) == pytest.approx(0.9 ** (1 + 1 / 2 + 1 / 3))


def test_apfl_outer_level_climbs_to_the_strength_that_pays():
    """Quality peaks when the D-side strength is 2 and does not depend on the G side: the outer
    level's sign hill-climbing brings the D strength there and keeps it near."""
    from mspgsen.controllers.meta import SignHillClimb

    meta = SignHillClimb(("d", "g"), period=3, lr=0.2)
    strengths = []
    for _ in range(600):
        meta.observe(-(math.log(meta.strength("d")) - math.log(2.0)) ** 2)
        strengths.append(meta.strength("d"))
    assert all(1.4 < s < 2.9 for s in strengths[-60:]), strengths[-60:]
    wrong = SignHillClimb(("d",), period=3, lr=0.2)  # quality falls as the strength rises
    for _ in range(300):
        wrong.observe(-wrong.strength("d"))
    assert wrong.strength("d") < 0.4


def test_apfl_acts_at_the_strength_its_outer_level_set():
    controller, knobs = apfl(meta_every=2), run_knobs()
    controller.meta.log_strength["d"] = math.log(2.0)
    controller.act(500, indicators(0.99, **{"D(x)": 0.9, "D(G(z))": 0.1}), knobs)
    assert controller.d_scale == pytest.approx(0.8 ** 2)  # d_lr_factor to the power of the strength
    assert controller.noise_boost == pytest.approx(0.02 * 2)
    actions = controller.act(510, indicators(0.99, **{"D(x)": 0.9, "D(G(z))": 0.1}), knobs)
    assert {"meta_d", "meta_g"} <= set(actions)  # an outer step every second tick


def test_feedback_controllers_compose_with_a_schedule_and_each_other_instead_of_compounding():
    config = resolve([{"train": {"steps": 1000}}])
    decay, controller, balance = CONTROLLERS.get("linear-lr-decay")(config), apfl(lr_gamma=1.0), Balance(config)
    knobs = run_knobs(repeats={"D": 1, "G": 1})
    balance.base_repeats = {"D": 1, "G": 1}
    for step in (400, 450, 500):
        decay.act(step, indicators(0.7), knobs)
        controller.act(step, indicators(0.7), knobs)
        balance.apply("lr-g-up" if step == 400 else "no-op", knobs)
    assert knobs.lr("G", 1.0) == pytest.approx(0.5 * 1.25)  # schedule × balancer's one move × APFL's 1


def test_dqn_learns_a_contextual_bandit():
    """Three contexts, four arms, a different best arm in each: the greedy policy must find all three."""
    best = [2, 0, 3]
    config = BalanceConfig(hidden=32, lr=5e-3, gamma=0.0, batch_size=32, epsilon_decay=300, target_sync=20)
    agent = DQNAgent(3, 4, config, seed=0)
    rng = torch.Generator().manual_seed(1)
    for _ in range(600):
        context = int(torch.randint(3, (), generator=rng))
        state = torch.nn.functional.one_hot(torch.tensor(context), 3).float()
        action = agent.act(state)
        agent.remember(state, action, 1.0 if action == best[context] else 0.0, state, done=True)
        agent.learn()
    greedy = [agent.act(torch.nn.functional.one_hot(torch.tensor(c), 3).float(), explore=False) for c in range(3)]
    assert greedy == best


def test_an_untrained_balancer_chooses_the_no_op():
    """Before it has learned anything the greedy choice is the no-op, whatever the state: a short run
    (fewer ticks than a replay minibatch) is not pushed one way every tick by a random network."""
    controller = Balance(resolve([{"train": {"steps": 100}}]))
    for seed in range(5):
        state = torch.randn(len(controller.observe({})), generator=torch.Generator().manual_seed(seed))
        assert ACTIONS[controller.agent.act(state, explore=False)] == "no-op"


def test_dqn_learns_to_walk_a_chain_to_its_distant_reward():
    """Five states in a row; only reaching the right end pays. Q-learning must bootstrap the value back."""
    config = BalanceConfig(hidden=32, lr=5e-3, gamma=0.9, batch_size=32, epsilon_decay=1500, target_sync=25)
    agent = DQNAgent(5, 2, config, seed=0)  # actions: 0 left, 1 right
    position = 0
    for _ in range(2500):
        state = torch.nn.functional.one_hot(torch.tensor(position), 5).float()
        action = agent.act(state)
        position = max(0, position - 1) if action == 0 else position + 1
        done = position == 4
        following = torch.nn.functional.one_hot(torch.tensor(min(position, 4)), 5).float()
        agent.remember(state, action, 1.0 if done else 0.0, following, done)
        agent.learn()
        if done:
            position = 0
    policy = [agent.act(torch.nn.functional.one_hot(torch.tensor(p), 5).float(), explore=False) for p in range(4)]
    assert policy == [1, 1, 1, 1]


def test_balance_actions_turn_the_documented_knobs():
    controller = Balance(resolve([{"train": {"steps": 100}, "model": {"ema_decay": 0.999}}]))
    knobs = run_knobs(repeats={"D": 1, "G": 1})
    controller.base_repeats = {"D": 1, "G": 1}
    controller.apply("extra-d", knobs)
    assert knobs.repeats == {"D": 2, "G": 1}
    controller.apply("extra-g", knobs)  # first gives back D's extra step
    assert knobs.repeats == {"D": 1, "G": 1}
    controller.apply("lr-d-down", knobs)
    assert knobs.lr("D", 1.0) == pytest.approx(1 / 1.25) and knobs.lr("G", 1.0) == 1.0
    controller.apply("lr-g-up", knobs)
    assert knobs.lr("G", 1.0) == pytest.approx(1.25)
    controller.apply("ema-slower", knobs)  # 1 − decay halved: the average spans twice the steps
    assert knobs.ema_decay == pytest.approx(0.9995)
    controller.apply("ema-faster", knobs)
    controller.apply("ema-faster", knobs)
    assert knobs.ema_decay == pytest.approx(0.998)
    assert ACTIONS[0] == "no-op" and {"ema-slower", "ema-faster", "lr-d-down", "extra-g"} <= set(ACTIONS)
    no_ema = Balance(resolve([{"train": {"steps": 100}, "model": {"ema_decay": 0}}]))
    no_ema.base_repeats = {"D": 1, "G": 1}
    no_ema.apply("ema-slower", knobs)
    assert knobs.ema_decay is None  # a run without EMA: the action does nothing


def test_balance_state_is_gs_output_and_ds_scores():
    controller = Balance(resolve([{"train": {"steps": 100}}]))
    seen = {"G(z)/mean": 0.1, "G(z)/std": 0.5, "G(z)/diversity": 0.2, "D(x)": 0.8, "D(G(z))": 0.3,
            "acc/real": 0.9, "acc/fake": 0.6}
    state = controller.observe(seen)
    assert state[:3].tolist() == pytest.approx([0.1, 0.5, 0.2])
    assert state[3:7].tolist() == pytest.approx([math.tanh(v) for v in (0.8, 0.3, 0.9, 0.6)])
    assert not torch.equal(state, controller.observe({**seen, "G(z)/diversity": 0.9}))


def test_balance_reward_comes_from_d_and_peaks_at_the_target_accuracy():
    """r = (1 − acc/fake) − 4·|ā − 0.7|: by hand, and its best accuracy is the target."""
    controller = Balance(resolve([{"train": {"steps": 100}}]))
    assert controller.reward({"acc/real": 0.9, "acc/fake": 0.8}) == pytest.approx(0.2 - 4 * 0.15)
    rewards = {a: controller.reward(indicators(a)) for a in (0.5, 0.6, 0.7, 0.8, 0.95)}
    assert max(rewards, key=rewards.get) == 0.7
    paid = Balance(resolve([{"train": {"steps": 100, "balance": {"quality_weight": 1.0}}}]))
    paid.reward(indicators(0.7, **{"eval/high_quality": 0.2}))
    assert paid.reward(indicators(0.7, **{"eval/high_quality": 0.6})) > controller.reward(indicators(0.7))


def test_balance_learns_to_weaken_a_too_strong_discriminator():
    """A toy game: D's accuracy is 0.95 at its base lr and falls as the balancer lowers D's lr;
    nothing else matters. After learning, the greedy balancer started afresh lowers D's lr
    until D is near the target accuracy."""
    def game(controller: Balance) -> dict[str, float]:
        accuracy = min(1.0, max(0.5, 0.95 + 0.4 * math.log(controller.lr_moves["D"])))
        return {"acc/real": accuracy, "acc/fake": accuracy, "D(x)": accuracy, "D(G(z))": 1 - accuracy}

    config = resolve([{"train": {"steps": 10_000, "log_every": 1, "balance": {
        "hidden": 32, "lr": 5e-3, "batch_size": 32, "epsilon_decay": 1500, "target_sync": 25, "gamma": 0.8}}}])
    controller, knobs = Balance(config), run_knobs(repeats={"D": 1, "G": 1})
    for step in range(2500):
        if step % 40 == 0:  # episodes: the game starts again from the base learning rates
            controller.lr_moves, controller.extra = {"G": 1.0, "D": 1.0}, {"D": 0, "G": 0}
            controller.previous = None
        controller.act(step, game(controller), knobs)
    controller.lr_moves, controller.extra = {"G": 1.0, "D": 1.0}, {"D": 0, "G": 0}
    for _ in range(12):
        state = controller.observe(game(controller))
        controller.apply(ACTIONS[controller.agent.act(state, explore=False)], knobs)
    assert abs(game(controller)["acc/real"] - 0.7) < 0.08, controller.lr_moves


def test_a_balancer_saved_with_another_state_is_a_clear_error():
    controller = Balance(resolve([{"train": {"steps": 100}}]))
    old = DQNAgent(10, 7, controller.cfg).state_dict()  # the state and actions of the version before
    with pytest.raises(UserError, match="sees 10 state features and 7 actions"):
        controller.load_state_dict({**controller.state_dict(), "agent": old})


def test_families_report_gs_output_statistics(tmp_path):
    from mspgsen.families.base import report_output_statistics

    class Collect:
        def __init__(self):
            self.values = {}

        def report(self, name, value):
            self.values[name] = float(value)

    ctx, real = Collect(), torch.randn(64, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    report_output_statistics(ctx, real, torch.randn(64, 3, 8, 8, generator=torch.Generator().manual_seed(1)))
    assert ctx.values["G(z)/diversity"] == pytest.approx(1.0, abs=0.1)
    report_output_statistics(ctx, real, real[:1].expand(64, -1, -1, -1) + 0.01 * torch.randn(64, 3, 8, 8))
    assert ctx.values["G(z)/diversity"] < 0.05  # one sample, repeated
    run = api.train(tiny_config(tmp_path, "dcgan", steps=4, extra=["train.log_every=2"])).run_dir
    logged = json.loads((run / "stats.jsonl").read_text().splitlines()[-1])
    assert {"G(z)/mean", "G(z)/std", "G(z)/diversity"} <= set(logged)


@pytest.mark.slow
@pytest.mark.parametrize("data", ["ring8", "images"])
def test_feedback_controllers_survive_resume_exactly(tmp_path, tiny_images, data):
    from test_resume import weights

    data = tiny_images if data == "images" else data
    extra = ["train.log_every=2", "train.balance.batch_size=2", "train.balance.epsilon_decay=3"]
    straight = api.train(tiny_config(tmp_path, "mspgsen", data, steps=12, name="straight",
                                     extra=[*extra, "train.controllers=[apfl,balance]"]))
    stopped = api.train(tiny_config(tmp_path, "mspgsen", data, steps=12, name="split",
                                    extra=[*extra, "train.controllers=[apfl,balance,test-interrupt]"]))
    assert stopped.step == 6
    resumed = api.train(api.configure(base_run=tmp_path / "split", out=str(tmp_path / "split")), resume=True)
    a, b = weights(straight.run_dir), weights(resumed.run_dir)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"differ after resume: {different[:5]}"
    actions = [json.loads(line) for line in (straight.run_dir / "controller.jsonl").read_text().splitlines()]
    assert {"apfl", "balance"} <= {a["controller"] for a in actions}
    assert any("q_loss" in a for a in actions if a["controller"] == "balance")  # the agent learned on the way


def test_a_balancer_can_start_from_another_run(tmp_path):
    extra = ["train.log_every=2", "train.balance.batch_size=2", "train.controllers=[balance]"]
    first = api.train(tiny_config(tmp_path, "mspgsen", steps=10, name="first", extra=extra))
    config = api.configure(model="mspgsen", data="ring8", steps=2, out=str(tmp_path / "second"), device="cpu",
                           balancer_from=str(first.run_dir), overrides=[*TINY, *extra])
    controller = Balance(config)
    from test_resume import weights

    saved = weights(first.run_dir)
    q_weight = next(k for k in saved if k.startswith("controllers.balance.agent.q.") and k.endswith("weight"))
    layer = q_weight.split("agent.q.")[1]
    assert torch.equal(controller.agent.q.state_dict()[layer], saved[q_weight])
    assert controller.agent.memory.size > 0


def test_a_balancer_from_a_run_without_one_is_a_clear_error(tmp_path):
    plain = api.train(tiny_config(tmp_path, "mspgsen", steps=2, name="plain", extra=["model.balance=false"]))
    config = api.configure(model="mspgsen", data="ring8", steps=2, out=str(tmp_path / "x"), device="cpu",
                           balancer_from=str(plain.run_dir), overrides=[*TINY, "train.controllers=[balance]"])
    with pytest.raises(UserError, match="trained without the balance controller"):
        api.train(config)
    assert not (tmp_path / "x").exists()  # refused before a run folder was made


def test_ablation_plans_one_variant_per_component():
    # MSPG-SEN's APFL and BALANCE are model flags (on by default): switched like any component
    variants = {v.name: v.overrides for v in plan_variants("mspgsen", ["dema", "apfl", "balance"])}
    assert variants["full"] == ["model.dema=true", "model.apfl=true", "model.balance=true"]
    assert variants["-dema"] == ["model.dema=false", "model.apfl=true", "model.balance=true"]
    assert variants["-apfl"] == ["model.dema=true", "model.apfl=false", "model.balance=true"]
    # for another family a controller is a component through train.controllers
    variants = {v.name: v.overrides for v in plan_variants("dcgan", ["apfl", "balance"])}
    assert variants["full"] == ["train.controllers=[apfl,balance]"]
    assert variants["-balance"] == ["train.controllers=[apfl]"]
    with pytest.raises(UserError, match="unknown component 'dmea'"):
        plan_variants("mspgsen", ["dmea"])


@pytest.mark.slow
def test_ablate_writes_a_table_and_a_plot(tmp_path):
    result = experiments.ablate(model="mspgsen", data="ring8", seeds=2, components=["afe", "apfl"], steps=4, batch_size=16,
                        out=tmp_path / "ablation", overrides=[*TINY, "train.eval_samples=200"])
    lines = result.table_path.read_text().splitlines()
    assert [line.split("|")[1].strip() for line in lines if line.startswith("| ") and "---" not in line][1:] == \
        ["full", "-afe", "-apfl"]
    assert "[" in lines[4]  # a confidence interval per cell
    assert result.plot_path.stat().st_size > 0 and len(result.runs) == 6
    assert "2 seed(s), 4 steps" in lines[0] and "| steps |" not in lines[2]


def test_an_ablation_on_a_time_budget_reports_the_steps_each_variant_made():
    runs = [{"variant": v, "seed": s, "steps": steps, "time_limit": 60.0, "batch_size": 8, "modes_covered": m}
            for v, s, steps, m in [("full", 0, 100, 5), ("full", 1, 110, 6), ("-afe", 0, 200, 7), ("-afe", 1, 220, 8)]]
    table = experiments.summarise(runs, ["full", "-afe"], baseline="full")
    assert "| steps |" in table.splitlines()[0] and "210.00 ± 14.14" in table
    assert experiments._length(runs) == "60 s of training each (100-220 steps)"


@pytest.mark.slow
def test_sweep_varies_one_setting_at_a_time_and_plots_curves(tmp_path):
    from mspgsen.cli import main

    code = main(["sweep", "--model", "dcgan", "--data", "ring8", "--vary", "model.optim_g.lr=1e-4,1e-3",
                 "--vary", "model.latent_dim=2,8", "--steps", "6", "--batch-size", "16", "--out", str(tmp_path / "s"),
                 *[arg for item in [*TINY, "train.eval_every=3", "train.eval_n=200", "train.eval_samples=200"]
                   for arg in ("--set", item)]])
    assert code == 0
    table = (tmp_path / "s" / "sweep.md").read_text()
    for name in ("model.optim_g.lr=1e-4", "model.optim_g.lr=1e-3", "model.latent_dim=2", "model.latent_dim=8"):
        assert f"| {name} |" in table
    assert (tmp_path / "s" / "sweep.png").stat().st_size > 0
    with pytest.raises(UserError, match="--vary expects"):
        experiments.sweep(["model.latent_dim"], model="dcgan", data="ring8")


def test_mspgsen_runs_apfl_and_balance_by_default_and_a_flag_drops_either(tmp_path):
    """Seed 001 makes both part of the model: both act in a default run; a flag drops either."""
    run = api.train(tiny_config(tmp_path, "mspgsen", steps=8, name="default", extra=["train.log_every=2"])).run_dir
    acted = {json.loads(line)["controller"] for line in (run / "controller.jsonl").read_text().splitlines()}
    assert {"apfl", "balance"} <= acted
    run = api.train(tiny_config(tmp_path, "mspgsen", steps=8, name="no-balance",
                                extra=["train.log_every=2", "model.balance=false"])).run_dir
    acted = {json.loads(line)["controller"] for line in (run / "controller.jsonl").read_text().splitlines()}
    assert "apfl" in acted and "balance" not in acted
    config = resolve([{"model": {"name": "mspgsen", "apfl": False}}])
    from mspgsen.contracts import DataShape
    from mspgsen.families import FAMILIES

    family = FAMILIES.get("mspgsen")(config.model, DataShape("points", (2,)))
    assert "apfl" not in family.default_controllers() and "balance" in family.default_controllers()


def test_without_periodic_evaluations_the_quality_signal_is_ds_calibration():
    from mspgsen.controllers.base import quality_signal

    assert quality_signal({"D(x)": 0.9, "D(G(z))": 0.2}) == pytest.approx(-0.7)
    assert quality_signal({"D(x)": 0.6, "D(G(z))": 0.5}) > quality_signal({"D(x)": 0.9, "D(G(z))": 0.2})
    assert quality_signal({"D(x)": 0.9, "D(G(z))": 0.2}, periodic=True) is None  # waits for the evaluation
    assert quality_signal({"D(x)": 0.9, "D(G(z))": 0.2, "eval/high_quality": 0.5}) == 0.5


def test_the_ema_follows_the_decay_a_controller_sets():
    from mspgsen.training.ema import EMA

    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    ema = EMA(model, decay=0.999)
    torch.nn.init.ones_(model.weight)
    ema.update(step=10_000)  # the configured decay
    assert float(ema.model.weight) == pytest.approx(0.001)
    ema.update(step=10_001, decay=0.5)  # Knobs.ema_decay, as BALANCE sets it
    assert float(ema.model.weight) == pytest.approx(0.001 + 0.5 * 0.999)


def test_apfl_leaves_ds_learning_rate_and_feature_matching_alone_in_its_early_phase():
    """Every D is 'too accurate' in the first ticks: APFL's rules wait for the middle phase, and by
    default it adds no noise there either."""
    controller, knobs = apfl(steps=1000, lr_gamma=1.0), run_knobs()
    for tick in range(8):  # the early phase (first 10%): D always right, G's loss never falling
        controller.act(10 * tick, indicators(1.0, g_trend=0.5), knobs)
    assert knobs.lr("D", 1.0) == 1.0 and knobs.weight("G/fm") == 0.0 and knobs.noise() == 0.0
    controller.act(200, indicators(1.0, g_trend=0.5), knobs)  # middle phase: the rule acts at once
    assert knobs.lr("D", 1.0) < 1.0


def test_balance_only_watches_until_its_replay_holds_a_minibatch():
    config = resolve([{"train": {"steps": 10_000, "balance": {"batch_size": 8, "epsilon_start": 1.0}}}])
    controller, knobs = Balance(config), run_knobs(repeats={"D": 1, "G": 1})
    before = (dict(knobs.repeats), knobs.lr("G", 1.0), knobs.lr("D", 1.0))
    actions = [controller.act(step, indicators(0.99), knobs) for step in range(8)]  # the 8th tick holds 7
    assert all(a["action"] == ACTIONS.index("no-op") and a["warming_up"] == 1.0 for a in actions)
    assert (dict(knobs.repeats), knobs.lr("G", 1.0), knobs.lr("D", 1.0)) == before
    moves = [controller.act(step, indicators(0.99), knobs)["action"] for step in range(8, 30)]
    assert any(move != ACTIONS.index("no-op") for move in moves)  # then it explores (ε = 1 at the start)
