"""What a run picks for this machine (precision, threads), the progress fraction every schedule
reads, the time limit, and the reference DCGAN the speed benchmarks race."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from safetensors.torch import load_file

from mspgsen import api
from mspgsen.contracts import DataShape
from mspgsen.families import FAMILIES
from mspgsen.resolve import resolve
from mspgsen.training import hardware, progress as progress_module
from mspgsen.training.hardware import choose_precision, choose_threads
from mspgsen.training.progress import TrainingProgress

from conftest import REPO, tiny_config

CPU = torch.device("cpu")


@pytest.fixture
def cpu_flags(monkeypatch):
    """Fake the CPU's report: cpu_flags("amx_bf16", "avx512_bf16"), or cpu_flags() for an AVX2-only CPU."""
    def fake(*flags: str) -> None:
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: "amx_bf16" in flags, raising=False)
        monkeypatch.setattr(hardware, "_cpu_flag", lambda flag: flag in flags)
    return fake


def test_auto_precision_is_fp32_on_a_cpu_without_native_bf16(cpu_flags):
    cpu_flags("avx2", "avx512f")
    choice = choose_precision("auto", CPU, "images")
    assert choice.value == "fp32" and "neither AMX nor AVX-512 BF16" in choice.reason


def test_auto_precision_is_bf16_on_a_cpu_with_amx(cpu_flags):
    cpu_flags("amx_bf16", "avx512_bf16")
    choice = choose_precision("auto", CPU, "images")
    assert choice.value == "bf16" and "AMX" in choice.reason


def test_auto_precision_is_bf16_on_a_cpu_with_avx512_bf16_but_no_amx(cpu_flags):
    cpu_flags("avx2", "avx512f", "avx512_bf16")
    choice = choose_precision("auto", CPU, "images")
    assert choice.value == "bf16" and choice.reason == "this CPU has AVX-512 BF16 instructions"


def test_auto_precision_keeps_the_2d_mlps_in_fp32_even_with_native_bf16(cpu_flags):
    for flags in (("amx_bf16", "avx512_bf16"), ("avx512_bf16",)):
        cpu_flags(*flags)
        assert choose_precision("auto", CPU, "points").value == "fp32"


def test_a_precision_the_user_sets_is_kept(cpu_flags):
    cpu_flags()
    assert choose_precision("bf16", CPU, "images").value == "bf16"
    cpu_flags("amx_bf16", "avx512_bf16")
    assert choose_precision("fp32", CPU, "images").value == "fp32"


def test_the_run_header_and_config_say_which_precision_and_why(tmp_path, tiny_images, cpu_flags, capsys):
    cpu_flags("amx_bf16")
    api.train(tiny_config(tmp_path, data=str(tiny_images), steps=2))
    printed = capsys.readouterr().out
    assert "precision: bf16 (this CPU has AMX bf16 units)" in printed
    config_text = (tmp_path / "run" / "config.yaml").read_text()
    assert config_text.startswith("# precision: bf16 (this CPU has AMX bf16 units)")
    assert "precision: auto" in config_text  # the setting itself stays auto, so another machine chooses anew


def test_threads_follow_the_user_then_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads(2, 1e12).value == 2
    assert choose_threads(0, 1e12).value == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert choose_threads(0, None).value == 1


def test_small_work_gets_one_thread_and_large_work_the_free_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(hardware, "usable_cores", lambda: 4)
    monkeypatch.setattr(hardware, "threads_per_core", lambda: 1)
    assert choose_threads(0, None).value == 1  # 2-D MLPs
    assert choose_threads(0, 1e6).value == 1  # a tiny conv net
    assert choose_threads(0, 1e11, busy=0.0).value == 4
    assert choose_threads(0, 1e11, busy=1.1).value == 3  # another job holds a core
    assert choose_threads(0, 1e11, busy=6.0).value == 1  # never fewer than one
    monkeypatch.setattr(hardware, "threads_per_core", lambda: 2)
    assert choose_threads(0, 1e11, busy=0.0).value == 2  # 4 hyper-threads on 2 physical cores


@pytest.mark.parametrize("model", ["dcgan", "dyngan"])  # dyngan cannot be built on the meta device
def test_step_flops_counts_image_networks_and_leaves_the_rng_alone(model):
    config = resolve([{"model": model}]).model
    family = FAMILIES.get(model)(config, DataShape("images", (3, 16, 16), 0, 64))
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    flops = hardware.step_flops(family, batch_size=16)
    assert torch.equal(torch.rand(3), expected)
    assert flops > 1e6 and hardware.step_flops(family, batch_size=32) == pytest.approx(2 * flops)
    points = FAMILIES.get(model)(config, DataShape("points", (2,), 0, 64))
    assert hardware.step_flops(points, batch_size=16) is None


def test_a_run_is_the_same_whatever_thread_count_the_process_started_with(tmp_path, tiny_images):
    """The thread count is settled before anything is built: spectral norm's power iteration at
    construction rounds differently on 1 and 2 threads, and a run started under 2 then trained
    on 1 came out different from a straight 1-thread run."""
    results = []
    for start_threads in (2, 1):
        torch.set_num_threads(start_threads)
        result = api.train(tiny_config(tmp_path, "sagan", tiny_images, steps=3, name=f"start{start_threads}",
                                       extra=["train.threads=1"]))
        results.append(load_file(str(result.run_dir / "checkpoint.safetensors")))
    torch.set_num_threads(1)
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0] if k.startswith("nets."))


def test_progress_is_the_step_share_without_a_time_limit():
    progress = TrainingProgress(steps=200)
    progress.start()
    assert progress.fraction(50) == 0.25 and not progress.last_step_due()


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_counts_time_against_the_limit_and_across_resumes(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(progress_module.time, "monotonic", clock)
    progress = TrainingProgress(steps=1_000_000, time_limit=100.0)
    progress.start()
    clock.now += 30
    assert progress.fraction(10) == pytest.approx(0.3)
    resumed = TrainingProgress(steps=1_000_000, time_limit=100.0)
    resumed.load_state_dict(progress.state_dict())
    resumed.start()
    clock.now += 20
    assert resumed.fraction(20) == pytest.approx(0.5)


def test_the_last_step_ends_within_one_step_of_the_time_limit(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(progress_module.time, "monotonic", clock)
    progress = TrainingProgress(steps=1_000_000, time_limit=35.0)
    progress.start()
    steps = 0
    while True:
        last = progress.last_step_due()
        clock.now += 10.0  # every step takes 10 s
        steps += 1
        progress.mark_step()
        if last:
            break
    assert steps == 3 and 25.0 <= progress.elapsed() <= 35.0  # 3 steps end at 30 s; a 4th would end at 40 s


@pytest.mark.slow
def test_a_time_limited_run_finishes_its_schedules(tmp_path):
    config = tiny_config(tmp_path, steps=10_000_000, extra=["train.time_limit=3", "train.controllers=[linear-lr-decay]",
                                                            "train.log_every=20"])
    result = api.train(config)
    assert result.completed and 0 < result.step < 10_000_000
    rows = [json.loads(line) for line in (result.run_dir / "stats.jsonl").read_text().splitlines()]
    assert rows[-1]["progress"] > 0.9  # the schedule reached its end with the clock, not with train.steps
    acted = [r for r in rows if "linear-lr-decay/lr_scale" in r]  # controllers act on the regular ticks
    assert acted[-1]["linear-lr-decay/lr_scale"] < 0.15
    assert [r["progress"] for r in rows] == sorted(r["progress"] for r in rows)


@pytest.mark.slow
def test_a_time_limited_mspgsen_run_grows_to_full_size(tmp_path, tiny_images):
    config = tiny_config(tmp_path, model="mspgsen", data=str(tiny_images), steps=10_000_000,
                         extra=["train.time_limit=6", "train.log_every=2", "model.grow_fraction=0.5",
                                "model.progressive=true"])
    result = api.train(config)
    rows = [json.loads(line) for line in (result.run_dir / "stats.jsonl").read_text().splitlines()]
    levels = [r["progressive-growth/level"] for r in rows if "progressive-growth/level" in r]
    # it grew during the run and reached the top scale within its 6 s (the first tick's level depends
    # on how long the first steps took, so a loaded machine may log it past 0)
    assert levels[0] < levels[-1] == max(levels) > 0


def _reference_module():
    spec = importlib.util.spec_from_file_location("reference_dcgan", REPO / "benchmarks" / "reference_dcgan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", [32, 64])
def test_the_reference_dcgan_has_our_dcgans_parameter_counts(size):
    reference = _reference_module().ReferenceDCGAN(size, nc=3)
    config = resolve([{"model": {"name": "dcgan", "bias": False}}])
    nets = FAMILIES.get("dcgan")(config.model, DataShape("images", (3, size, size))).build_networks()
    ours = tuple(sum(p.numel() for p in nets[name].parameters()) for name in ("G", "D"))
    assert ours == reference.parameter_counts()


def test_the_reference_dcgan_step_trains_its_discriminator():
    reference = _reference_module().ReferenceDCGAN(32, nc=1)
    torch.manual_seed(0)
    real = torch.rand(16, 1, 32, 32) * 2 - 1
    first, _ = reference.step(real)
    for _ in range(4):
        last, _ = reference.step(real)
    assert last < first  # D learns to tell this fixed batch from G's samples
