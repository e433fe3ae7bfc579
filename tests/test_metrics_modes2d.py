import math

import pytest
import torch

from mspgsen.data.points import grid_centers, ring_centers
from mspgsen.metrics import kl_from_uniform, mode_coverage

GRID = grid_centers()
STD = 0.05


def test_every_mode_evenly_gives_full_coverage_and_zero_kl():
    samples = GRID.repeat(100, 1)  # 2,500 samples, exactly 100 per mode
    result = mode_coverage(samples, GRID, STD)
    assert (result.modes_covered, result.high_quality, result.kl) == (25, 1.0, pytest.approx(0.0, abs=1e-12))


def test_half_the_modes_gives_log_of_the_ratio():
    samples = GRID[:12].repeat(50, 1) + 0.5 * STD  # 0.5σ off centre: still high quality
    result = mode_coverage(samples, GRID, STD)
    assert result.modes_covered == 12
    assert result.high_quality == 1.0
    assert result.kl == pytest.approx(math.log(25 / 12), rel=1e-12)


def test_off_mode_noise_lowers_quality_but_not_coverage():
    on_mode = GRID.repeat(60, 1)  # 1,500 samples
    off_mode = GRID[:10].repeat(100, 1) + torch.tensor([1.0, 1.0])  # 1,000 samples halfway between modes
    result = mode_coverage(torch.cat([on_mode, off_mode]), GRID, STD)
    assert (result.modes_covered, result.high_quality, result.num_samples) == (25, 0.6, 2500)
    assert result.kl == pytest.approx(0.0, abs=1e-12)


def test_the_threshold_is_three_standard_deviations():
    center = GRID[12:13]
    inside = center + torch.tensor([[2.99 * STD, 0.0]])
    outside = center + torch.tensor([[3.01 * STD, 0.0]])
    assert mode_coverage(inside, GRID, STD).modes_covered == 1
    assert mode_coverage(outside, GRID, STD).modes_covered == 0


def test_uneven_histogram_kl_matches_hand_computation():
    counts = torch.tensor([3.0, 1.0, 0.0, 0.0])
    expected = 0.75 * math.log(0.75 * 4) + 0.25 * math.log(0.25 * 4)
    assert kl_from_uniform(counts) == pytest.approx(expected)


def test_no_high_quality_sample_gives_infinite_kl():
    result = mode_coverage(torch.full((10, 2), 100.0), ring_centers(), 0.01)
    assert (result.modes_covered, result.high_quality, result.kl) == (0, 0.0, math.inf)
