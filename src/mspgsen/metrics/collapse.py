"""DynGAN's collapse rule (Luo et al. 2024): a real sample the discriminator is still sure of, with
probability above 1/(1+δ), is one the generator does not reach. One definition for the DynGAN
family, its partitioner and `mspgsen diagnose` on any trained model."""
from __future__ import annotations

DEFAULT_DELTA = 0.2  # δ: the threshold 1/(1+δ) is then 0.833


def collapse_threshold(delta: float = DEFAULT_DELTA) -> float:
    return 1.0 / (1.0 + delta)


def collapsed(probabilities, delta: float = DEFAULT_DELTA):
    """Which samples (a tensor of D's probabilities) the rule marks as missed by the generator."""
    return probabilities > collapse_threshold(delta)
