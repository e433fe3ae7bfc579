"""Image metrics on feature vectors, computed by torch-fidelity's own functions.

Pure stages in torch-fidelity's style: features → statistics → value. The same functions serve
Inception features (comparable with published numbers) and the project's classifier features
(labelled with the classifier's name wherever they are reported).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# torch-fidelity is imported where it is used: it imports torchvision (1.5 s), which a training
# run that never computes an image metric should not wait for.

KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000  # torch-fidelity's defaults
PRC_NEIGHBORHOOD = 3  # k of the k-NN balls (Kynkäänniemi et al. 2019)


@dataclass(frozen=True)
class FeatureStatistics:
    """Mean and covariance of a feature set, in float64 (the FID reference precision)."""

    mean: np.ndarray
    covariance: np.ndarray
    count: int


def feature_statistics(features: torch.Tensor) -> FeatureStatistics:
    from torch_fidelity.metric_fid import fid_features_to_statistics

    stats = fid_features_to_statistics(features.detach().double().cpu())
    return FeatureStatistics(stats["mu"], stats["sigma"], len(features))


def frechet_distance(a: FeatureStatistics, b: FeatureStatistics) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^½) (seed 002, eq. 6)."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    result = fid_statistics_to_metric({"mu": a.mean, "sigma": a.covariance},
                                      {"mu": b.mean, "sigma": b.covariance}, verbose=False)
    return result[KEY_METRIC_FID]


def kernel_distance(generated: torch.Tensor, real: torch.Tensor, subsets: int = KID_SUBSETS,
                    subset_size: int = KID_SUBSET_SIZE, seed: int = 2020) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel, mean and std over subsets."""
    subset_size = min(subset_size, len(generated), len(real))
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    result = kid_features_to_metric(generated.detach().cpu(), real.detach().cpu(), kid_subsets=subsets,
                                    kid_subset_size=subset_size, rng_seed=seed, verbose=False)
    return result[KEY_METRIC_KID_MEAN], result[KEY_METRIC_KID_STD]


def precision_recall(generated: torch.Tensor, real: torch.Tensor,
                     neighborhood: int = PRC_NEIGHBORHOOD) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) from k-NN balls in feature space."""
    from torch_fidelity.metric_prc import KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

    result = prc_features_to_metric(generated.detach().float().cpu(), real.detach().float().cpu(),
                                    prc_neighborhood=neighborhood, verbose=False, save_cpu_ram=True)
    return result[KEY_METRIC_PRECISION], result[KEY_METRIC_RECALL]


def inception_score(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """exp(E KL(p(y|x) ‖ p(y))) over `splits` parts (seed 002, eq. 5), from classifier logits."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    result = isc_features_to_metric(logits.detach().cpu(), splits=splits)
    return result[KEY_METRIC_ISC_MEAN], result[KEY_METRIC_ISC_STD]
