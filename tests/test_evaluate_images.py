"""`mspgsen evaluate` on image runs: labelled classifier metrics, cached references, Inception's absence."""
from __future__ import annotations

import json

import pytest
import torch

from mspgsen import api
from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.errors import UserError
from mspgsen.metrics.extractors import ClassifierFeatures
from mspgsen.metrics.features import feature_statistics, frechet_distance

from conftest import tiny_config


@pytest.fixture
def mnist_run(tmp_path, shared_data, mnist_classifier):
    config = tiny_config(tmp_path, "dcgan", "mnist", steps=2, data_root=str(shared_data),
                         extra=["data.limit=64"])
    return api.train(config).run_dir


def test_fid_of_real_against_real_is_far_below_real_against_noise(mnist_classifier, shared_data):
    extractor = ClassifierFeatures(mnist_classifier.model, mnist_classifier.extractor_name, (1, 28, 28))
    train = load_data(DataConfig(name="mnist", root=str(shared_data))).images[:3000]
    test = load_data(DataConfig(name="mnist", root=str(shared_data), split="test")).images[:3000]
    noise = torch.randint(0, 256, test.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    stats = {name: feature_statistics(extractor(images)["features"])
             for name, images in (("train", train), ("test", test), ("noise", noise))}
    real_vs_real = frechet_distance(stats["train"], stats["test"])
    real_vs_noise = frechet_distance(stats["train"], stats["noise"])
    assert real_vs_real * 20 < real_vs_noise


def test_classifier_metrics_are_labelled_and_never_written_as_plain_fid(mnist_run):
    results = api.evaluate(mnist_run, num_samples=300, ref="test", features="classifier", metrics="fid,is,kid,prc")
    for key in ("fid[classifier:mnist]", "is_mean[classifier:mnist]", "kid_mean[classifier:mnist]",
                "precision[classifier:mnist]", "recall[classifier:mnist]"):
        assert key in results
    assert not {"fid", "is_mean", "kid_mean", "precision"} & set(results)
    saved = json.loads((mnist_run / "metrics.json").read_text())["images"]
    assert saved["fid[classifier:mnist]"] == results["fid[classifier:mnist]"] and saved["samples"] == 300


def test_reference_features_are_computed_once_and_reused(mnist_run, monkeypatch, tmp_path):
    from mspgsen.evaluation.classifier import default_path

    classifier = str(default_path("mnist"))
    monkeypatch.setenv("MSPGSEN_CACHE", str(tmp_path / "fresh-cache"))  # nothing cached yet
    calls = []
    original = ClassifierFeatures.__call__
    monkeypatch.setattr(ClassifierFeatures, "__call__", lambda self, images: calls.append(len(images)) or
                        original(self, images))
    first = api.evaluate(mnist_run, num_samples=200, ref="test", features="classifier", metrics="fid",
                         classifier=classifier)
    second = api.evaluate(mnist_run, num_samples=200, ref="test", features="classifier", metrics="fid",
                          classifier=classifier)
    assert calls == [10000, 200, 200]  # reference, samples, then samples alone: the reference came from the cache
    assert first == second


def test_inception_without_weights_is_one_clear_message(mnist_run):
    with pytest.raises(UserError, match=r"Inception-v3 weights are needed .*--inception-weights PATH.*MSPGSEN_INCEPTION_WEIGHTS.*--features classifier"):
        api.evaluate(mnist_run, num_samples=50, ref="test")


def test_a_named_inception_weights_file_that_is_missing_is_an_error(mnist_run, tmp_path):
    with pytest.raises(UserError, match="--inception-weights names .* which does not exist"):
        api.evaluate(mnist_run, num_samples=50, ref="test", inception_weights=str(tmp_path / "nope.pth"))


def test_a_data_set_without_a_trained_classifier_says_how_to_train_one(tmp_path, tiny_images):
    run = api.train(tiny_config(tmp_path, "dcgan", tiny_images, steps=2)).run_dir
    with pytest.raises(UserError, match=r"no classifier for .*tiny.npz.*mspgsen classifier train --data"):
        api.evaluate(run, num_samples=20, features="classifier")


def test_samples_from_a_file_are_measured_against_a_named_data_set(tmp_path, mnist_classifier, shared_data):
    import numpy as np

    digits = load_data(DataConfig(name="mnist", root=str(shared_data))).images[:400]
    noise = torch.randint(0, 256, digits.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fids = {}
    for name, images in (("digits", digits), ("noise", noise)):
        np.savez(tmp_path / f"{name}.npz", images=images.permute(0, 2, 3, 1).numpy())
        fids[name] = api.evaluate(samples=tmp_path / f"{name}.npz", data="mnist", data_root=str(shared_data),
                                  ref="test", features="classifier", metrics="fid")["fid[classifier:mnist]"]
    assert fids["digits"] * 10 < fids["noise"]


@pytest.mark.slow
def test_stacked_mnist_run_reports_modes(tmp_path, shared_data, mnist_classifier):
    run = api.train(tiny_config(tmp_path, "dcgan", "stacked-mnist", steps=2, data_root=str(shared_data),
                                extra=["data.limit=64", "train.final_eval_n=0"])).run_dir
    results = api.evaluate(run, num_samples=500, metrics="modes")
    assert 1 <= results["stacked_modes"] <= 500 and results["stacked_samples"] == 500
    assert results["digit_classifier_accuracy"] >= 0.99
    assert 0 <= results["stacked_confident"] <= 1 and results["stacked_fid[classifier:mnist]"] > 0
    assert "reference" not in results and "features" not in results  # modes read neither


def test_periodic_evaluation_logs_metrics_keeps_the_best_and_feeds_controllers(tmp_path, shared_data, mnist_run):
    config = tiny_config(tmp_path, "dcgan", "mnist", steps=6, name="periodic", data_root=str(shared_data),
                         extra=["data.limit=64", "train.eval_every=3", "train.eval_n=100",
                                "train.eval_features=classifier", "train.eval_metrics=fid,prc", "train.eval_ref=test",
                                "train.log_every=3"])
    run = api.train(config).run_dir
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3, 6]
    assert {"fid[classifier:mnist]", "precision[classifier:mnist]"} <= set(rows[0])
    assert (run / "best.safetensors").is_file()
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert stats[-1]["eval/fid[classifier:mnist]"] == rows[0]["fid[classifier:mnist]"]  # tick at 6 precedes eval 6


def test_a_missing_extractor_stops_training_before_the_run_folder_exists(tmp_path, shared_data):
    config = tiny_config(tmp_path, "dcgan", "mnist", steps=2, name="never", data_root=str(shared_data),
                         extra=["data.limit=64", "train.eval_every=1"])
    with pytest.raises(UserError, match="Inception-v3 weights are needed"):
        api.train(config)
    assert not (tmp_path / "never").exists()
