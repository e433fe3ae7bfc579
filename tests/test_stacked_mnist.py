import math

import pytest
import torch

from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.metrics.stacked_mnist import stacked_mnist_modes


def test_digit_classifier_reaches_99_percent_on_the_mnist_test_set(mnist_classifier):
    assert mnist_classifier.test_accuracy >= 0.99


@pytest.fixture
def one_sure_image_per_digit(mnist_classifier, shared_data) -> torch.Tensor:
    """For each digit, a test image the classifier reads correctly: hand-built stacks need sure channels."""
    test = load_data(DataConfig(name="mnist", root=str(shared_data), split="test"))
    with torch.no_grad():
        predicted = mnist_classifier.model(test.images[:2000].float() / 127.5 - 1).argmax(1)
    correct = predicted == test.labels[:2000]
    return torch.stack([test.images[:2000][correct & (test.labels[:2000] == d)][0, 0] for d in range(10)])


def test_all_1000_modes_are_counted_exactly(mnist_classifier, one_sure_image_per_digit):
    digits = torch.arange(1000)
    stacks = torch.stack([one_sure_image_per_digit[digits // 100], one_sure_image_per_digit[digits // 10 % 10],
                          one_sure_image_per_digit[digits % 10]], dim=1)
    result = stacked_mnist_modes(stacks, mnist_classifier.model)
    assert (result.modes_covered, result.num_samples) == (1000, 1000)
    assert result.kl == pytest.approx(0.0, abs=1e-12)


def test_ten_modes_are_counted_exactly(mnist_classifier, one_sure_image_per_digit):
    same_digit = one_sure_image_per_digit.repeat(30, 1, 1)  # 300 stacks of (d, d, d)
    stacks = torch.stack([same_digit] * 3, dim=1)
    result = stacked_mnist_modes(stacks, mnist_classifier.model)
    assert result.modes_covered == 10
    assert result.kl == pytest.approx(math.log(100), rel=1e-12)


def test_stacked_mnist_has_1000_modes_and_is_the_same_set_every_time(shared_data):
    a = load_data(DataConfig(name="stacked-mnist", root=str(shared_data), limit=5000))
    b = load_data(DataConfig(name="stacked-mnist", root=str(shared_data), limit=5000))
    assert a.shape.dims == (3, 28, 28) and a.shape.num_classes == 0  # labels are kept, but hidden from conditional models
    assert torch.equal(a.images, b.images) and len(a.labels.unique()) > 990


def test_confident_share_is_high_for_clear_digits_and_low_for_blends(mnist_classifier, shared_data):
    test = load_data(DataConfig(name="mnist", root=str(shared_data), split="test"))
    with torch.no_grad():
        probabilities = mnist_classifier.model(test.images[:2000].float() / 127.5 - 1).softmax(1)
    sure = probabilities.amax(1) >= 0.99
    confident = torch.stack([test.images[:2000][sure & (probabilities.argmax(1) == d)][0, 0] for d in range(10)])
    digits = torch.arange(1000)
    sure = torch.stack([confident[digits // 100], confident[digits // 10 % 10], confident[digits % 10]], dim=1)
    blends = ((sure.float() + sure.roll(37, dims=0).float()) / 2).round().to(torch.uint8)  # two digits in one
    assert stacked_mnist_modes(sure, mnist_classifier.model).confident_share == 1.0
    assert stacked_mnist_modes(blends, mnist_classifier.model).confident_share < 0.3


def test_noise_reads_as_one_confident_mode_so_modes_need_a_second_figure(mnist_classifier):
    """Why the confident share is not the only quality figure: uniform noise is read as one digit
    triple with full confidence. The mode count (1) and the classifier FID give it away."""
    noise = torch.randint(0, 256, (1000, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    result = stacked_mnist_modes(noise, mnist_classifier.model)
    assert result.modes_covered <= 3


@pytest.mark.slow
def test_classifier_fid_of_real_stacks_is_near_the_floor_and_of_noise_far_above(mnist_classifier, shared_data,
                                                                                   monkeypatch):
    from mspgsen.evaluation.images import StackedModesMetric

    monkeypatch.setattr("mspgsen.evaluation.images.find_classifier", lambda *args, **kwargs: mnist_classifier)
    metric = StackedModesMetric(DataConfig(name="stacked-mnist", root=str(shared_data)), "cpu")
    real = load_data(DataConfig(name="stacked-mnist", root=str(shared_data), split="test", limit=3000)).images
    noise = torch.randint(0, 256, real.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    on_real, on_noise = metric(real), metric(noise)
    fid = "stacked_fid[classifier:mnist]"
    assert on_real["stacked_confident"] > 0.9 and on_real["stacked_modes"] > 900
    assert on_noise[fid] > 20 * on_real[fid]
