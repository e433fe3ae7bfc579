import math

import numpy as np
import pytest
import scipy.linalg
import torch
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from mspgsen.metrics.features import (FeatureStatistics, feature_statistics, frechet_distance, inception_score,
                                      kernel_distance, precision_recall)


def random_spd(dim: int, rng) -> np.ndarray:
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def reference_frechet(mu1, s1, mu2, s2) -> float:
    """Float64 reference with scipy's matrix square root."""
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def test_frechet_distance_of_identical_sets_is_zero():
    stats = feature_statistics(torch.randn(2000, 16))
    assert frechet_distance(stats, stats) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_is_symmetric():
    a, b = feature_statistics(torch.randn(1000, 8)), feature_statistics(torch.rand(1000, 8))
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_frechet_distance_matches_a_float64_reference():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=12), rng.normal(size=12)
    s1, s2 = random_spd(12, rng), random_spd(12, rng)
    value = frechet_distance(FeatureStatistics(mu1, s1, 0), FeatureStatistics(mu2, s2, 0))
    assert value == pytest.approx(reference_frechet(mu1, s1, mu2, s2), rel=1e-8)


def test_frechet_distance_of_diagonal_gaussians_has_the_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))  # = 5 + 1 + 1 + 4
    assert frechet_distance(FeatureStatistics(mu1, np.diag(var1), 0),
                            FeatureStatistics(mu2, np.diag(var2), 0)) == pytest.approx(expected, rel=1e-12)
    assert expected == 11.0


def test_sample_statistics_converge_to_the_population_distance():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 4, generator=generator, dtype=torch.float64)
    b = 2 * torch.randn(20000, 4, generator=generator, dtype=torch.float64) + 1
    # N(0, I) vs N(1, 4I) in 4 dims: 4·1 + 4·(1 + 4 − 2·2) = 8
    assert frechet_distance(feature_statistics(a), feature_statistics(b)) == pytest.approx(8.0, rel=0.03)


def test_kid_and_precision_recall_agree_with_torch_fidelity():
    generator = torch.Generator().manual_seed(1)
    fake, real = torch.randn(600, 32, generator=generator), torch.randn(700, 32, generator=generator) + 0.3
    ours = kernel_distance(fake, real, subsets=20, subset_size=500, seed=7)
    theirs = kid_features_to_metric(fake, real, kid_subsets=20, kid_subset_size=500, rng_seed=7, verbose=False)
    assert ours == (theirs["kernel_inception_distance_mean"], theirs["kernel_inception_distance_std"])
    ours = precision_recall(fake, real)
    theirs = prc_features_to_metric(fake, real, prc_neighborhood=3, verbose=False)
    assert ours == pytest.approx((theirs["precision"], theirs["recall"]))


def test_kid_is_near_zero_for_one_distribution_and_large_for_two():
    generator = torch.Generator().manual_seed(2)
    same = kernel_distance(torch.randn(1000, 16, generator=generator), torch.randn(1000, 16, generator=generator),
                           subsets=10, subset_size=500)
    apart = kernel_distance(torch.randn(1000, 16, generator=generator),
                            torch.randn(1000, 16, generator=generator) + 2, subsets=10, subset_size=500)
    assert abs(same[0]) < 0.05 < apart[0]


def test_precision_and_recall_see_a_collapsed_generator():
    generator = torch.Generator().manual_seed(3)
    real = torch.randn(1000, 8, generator=generator)
    collapsed = real[:50].repeat(20, 1) + 0.01 * torch.randn(1000, 8, generator=generator)
    precision, recall = precision_recall(collapsed, real)
    assert precision > 0.9 and recall < 0.3


def test_inception_score_is_the_number_of_classes_for_confident_uniform_predictions():
    logits = torch.full((1000, 10), -50.0)
    logits[torch.arange(1000), torch.arange(1000) % 10] = 50.0
    mean, _ = inception_score(logits, splits=1)  # with splits, each part's class shares are only near uniform
    assert mean == pytest.approx(10.0, rel=1e-6)
    assert 9.0 < inception_score(logits)[0] < 10.0
    assert inception_score(torch.zeros(1000, 10))[0] == pytest.approx(1.0)
    assert math.isfinite(mean)
