"""Metrics; pure functions of samples and references, never importing training code."""
from mspgsen.metrics.modes2d import PROTOCOL_SAMPLES, ModeCoverage, kl_from_uniform, mode_coverage

__all__ = ["PROTOCOL_SAMPLES", "ModeCoverage", "kl_from_uniform", "mode_coverage"]
