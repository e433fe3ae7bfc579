"""With Inception weights present, our path gives torch-fidelity's own numbers.

The real weights cannot be downloaded here, so the check uses a file of the same format holding a
randomly initialised network: the code path (loading, resizing, features, statistics) is the same.
"""
from __future__ import annotations

import pytest
import torch


class UInt8Images(torch.utils.data.Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index]


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    import torch_fidelity.feature_extractor_inceptionv3 as inception

    torch.manual_seed(0)
    original = inception.FeatureExtractorInceptionV3.load_state_dict
    inception.FeatureExtractorInceptionV3.load_state_dict = lambda self, *args, **kwargs: None
    saved = inception.load_state_dict_from_url
    inception.load_state_dict_from_url = lambda *args, **kwargs: {}
    try:
        model = inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    finally:
        inception.FeatureExtractorInceptionV3.load_state_dict = original
        inception.load_state_dict_from_url = saved
    path = tmp_path_factory.mktemp("weights") / "inception.pth"
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.slow
def test_inception_fid_and_kid_equal_torch_fidelity(random_inception_weights):
    from torch_fidelity import calculate_metrics

    from mspgsen.evaluation.images import image_metrics
    from mspgsen.metrics.extractors import InceptionFeatures

    generator = torch.Generator().manual_seed(1)
    fake = torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8, generator=generator)
    real = (torch.randint(0, 128, (20, 3, 32, 32), dtype=torch.uint8, generator=generator) + 64).to(torch.uint8)
    extractor = InceptionFeatures(random_inception_weights)
    ours = image_metrics(fake, extractor(real), extractor, ["fid", "kid"])
    theirs = calculate_metrics(input1=UInt8Images(fake), input2=UInt8Images(real), fid=True, kid=True,
                               kid_subset_size=20, feature_extractor_weights_path=str(random_inception_weights),
                               cuda=False, verbose=False, cache=False, save_cpu_ram=True)
    assert ours["fid"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-5)
    assert ours["kid_mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-5)
    assert ours["fid"] > 0
