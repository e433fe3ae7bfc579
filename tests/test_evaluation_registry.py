"""The metric registry: one rule of "better" that the best-run choice, an ablation's main metric and
the controllers' quality signal all read."""
from __future__ import annotations

from mspgsen.controllers.base import quality_signal
from mspgsen.evaluation import metric, score
from mspgsen.commands.experiments import columns_of, main_metric


def test_each_metric_states_direction_scale_and_features_under_any_extractor_label():
    fid = metric("eval/fid[classifier:mnist]")
    assert fid.name == "fid" and not fid.higher_is_better and fid.scale == "distance"
    assert "classifier" in fid.features
    assert metric("stacked_confident").display_scale == 100.0 and metric("modes_covered").scale == "count"
    assert metric("D(x)") is None


def test_coverage_comes_before_quality_and_distances_count_downwards():
    collapsed = {"modes_covered": 3, "high_quality": 1.0, "kl": 2.1}
    covering = {"modes_covered": 25, "high_quality": 0.6, "kl": 0.05}
    assert score(covering) > score(collapsed)  # full quality on 3 modes never beats 25 modes
    assert score({"modes_covered": 25, "high_quality": 0.9}) > score(covering)
    assert score({"fid[classifier:mnist]": 20.0}) > score({"fid[classifier:mnist]": 80.0})
    assert score({"is_mean": 8.0}) > score({"is_mean": 3.0})
    assert score({"D(x)": 0.5}) is None


def test_the_three_readers_agree_on_which_result_is_better():
    worse = {"modes_covered": 20, "high_quality": 0.95, "kl": 0.3}
    better = {"modes_covered": 25, "high_quality": 0.5, "kl": 0.1}
    signal = [quality_signal({f"eval/{k}": v for k, v in r.items()}) for r in (worse, better)]
    assert signal[1] > signal[0] and signal == [score(worse), score(better)]
    key, main = main_metric([{"variant": "full", "seed": 0, **better}])
    assert (key, main.label, main.display_scale) == ("high_quality", "high-quality %", 100.0)
    stacked = {"variant": "x", "stacked_kl": 0.3, "stacked_modes": 990, "stacked_confident": 0.2,
               "stacked_fid[classifier:mnist]": 120.0, "digit_classifier_accuracy": 0.99}
    assert main_metric([stacked])[0] == "stacked_confident"
    assert [c[2] for c in columns_of([stacked])] == ["modes", "confident %", "KL", "classifier FID [classifier:mnist]"]

