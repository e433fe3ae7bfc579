"""The protocol behind a run's metrics, and the published numbers measured the same way.

Anchors are shown only where the run's data follow the protocol they were published on (PacGAN's
ring and grid; VEEGAN's and PacGAN's Stacked MNIST), so a reader never compares unlike numbers.
Sources: shared/docs/DESIGN.md (PacGAN's Table 2, 10 trials; VEEGAN's Table 2; PacGAN's Table 4).
"""
from __future__ import annotations

from typing import Any

POINTS_PROTOCOL = ("{samples} samples from the {generator} generator; a sample is high quality within 3σ of its "
                   "nearest centre; a mode is covered with at least one high-quality sample; KL (natural log) of "
                   "the high-quality samples' mode histogram from uniform")
PROTOCOLS = {
    "ring8": "8 Gaussians on a circle of radius 1, σ 0.01 (PacGAN's released protocol). " + POINTS_PROTOCOL,
    "grid25": "25 Gaussians on {{-4, -2, 0, 2, 4}}², σ 0.05 (PacGAN's released protocol). " + POINTS_PROTOCOL,
    "stacked-mnist": ("{samples} samples from the {generator} generator, each channel read by the project's MNIST "
                      "classifier; modes of 1000 and KL (natural log) from uniform (VEEGAN's and PacGAN's protocol); "
                      "confident: all three digits read with probability ≥ 0.9; classifier FID: Fréchet distance of "
                      "the classifier's penultimate features against 26,000 training stacks (not Inception FID)"),
}
IMAGES_PROTOCOL = ("{samples} samples from the {generator} generator, {features} features against the {reference} set"
                   " (classifier features are not Inception's: no published FID compares with them)")
# (who, {metric: value}) per data set, only for runs on the protocol's own data parameters
ANCHORS: dict[str, list[tuple[str, dict[str, float]]]] = {
    "grid25": [("GAN (PacGAN, Table 2)", {"modes_covered": 17.3, "high_quality": 0.948, "kl": 0.70}),
               ("PacGAN4 (PacGAN, Table 2)", {"modes_covered": 24.8, "high_quality": 0.936, "kl": 0.04})],
    "ring8": [("GAN (PacGAN, Table 2)", {"modes_covered": 6.3, "high_quality": 0.982, "kl": 0.45}),
              ("PacGAN2 (PacGAN, Table 2)", {"modes_covered": 7.9, "high_quality": 0.956, "kl": 0.07})],
    "stacked-mnist": [("DCGAN (VEEGAN, Table 2)", {"stacked_modes": 99, "stacked_kl": 3.4}),
                      ("VEEGAN (VEEGAN, Table 2)", {"stacked_modes": 150, "stacked_kl": 2.95}),
                      ("PacDCGAN2 (PacGAN, Table 4)", {"stacked_modes": 1000, "stacked_kl": 0.06})],
}
PROTOCOL_DATA = {"ring8": {"std": 0.01, "radius": 1.0}, "grid25": {"std": 0.05, "spacing": 2.0}}


def protocol_of(data: dict[str, Any], metrics: dict[str, Any]) -> str:
    """How the run's final metrics were measured, in words."""
    fields = {"samples": metrics.get("num_samples", metrics.get("samples", metrics.get("stacked_samples", "?"))),
              "generator": metrics.get("generator", "?"), "features": metrics.get("features", "?"),
              "reference": metrics.get("reference", "?")}
    text = PROTOCOLS.get(data.get("name"), IMAGES_PROTOCOL)
    if data.get("name") in PROTOCOL_DATA and not on_protocol(data):
        text = "Not PacGAN's data parameters (" + ", ".join(f"{k} {data.get(k)}" for k in PROTOCOL_DATA[data["name"]]) \
               + "): " + POINTS_PROTOCOL
    return text.format(**fields)


def on_protocol(data: dict[str, Any]) -> bool:
    """The run's data are the ones its anchors were published on (unset keys take the protocol's values)."""
    expected = PROTOCOL_DATA.get(data.get("name"), {})
    return all(data.get(key) in (None, value) for key, value in expected.items())


def anchors_for(data: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    return ANCHORS.get(data.get("name"), []) if on_protocol(data) else []
