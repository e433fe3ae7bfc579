"""`mspgsen diagnose`: DynGAN's collapse detector run on any trained model.

The run's discriminator scores real training samples; those it is sure are real (probability
above 1/(1+δ), δ = 0.2 by default) are the ones the generator does not reach. The report gives
their share, on 2-D mixtures the modes most of whose samples are missed, and a figure: the
missed points in red over the data, or a grid of missed images.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mspgsen.data import load_data
from mspgsen.metrics.collapse import DEFAULT_DELTA, collapse_threshold, collapsed
from mspgsen.metrics.modes2d import nearest_modes
from mspgsen.report.outputs import write_metrics
from mspgsen.report.plots import save_image_grid, save_scatter
from mspgsen.sampling import load_networks
from mspgsen.training.device import resolve_device
from mspgsen.support.rundir import existing_run_dir

DEFAULT_SAMPLES = 10_000
MISSED_MODE_SHARE = 0.5  # a mode is missed when at least this share of its real samples is
SCORE_BATCH = 1000


def missed_modes(points: torch.Tensor, flagged: torch.Tensor, centers: torch.Tensor) -> list[int]:
    modes = nearest_modes(points, centers)
    missed = []
    for mode in range(len(centers)):
        members = modes == mode
        if members.any() and flagged[members].float().mean() >= MISSED_MODE_SHARE:
            missed.append(mode)
    return missed


def diagnose(run_dir: str | Path, num_samples: int | None = None, delta: float = DEFAULT_DELTA,
             device: str = "cpu") -> dict[str, Any]:
    run = existing_run_dir(run_dir, need_checkpoint=True)
    torch_device = resolve_device(device)
    loaded = load_networks(run, torch_device)
    family, nets, saved = loaded.family, loaded.nets, loaded.saved
    source = load_data(loaded.config.data)
    real, labels = _real_samples(source, saved, num_samples or DEFAULT_SAMPLES)
    with torch.no_grad():
        scores = torch.cat([family.discriminate(nets, real[i:i + SCORE_BATCH].to(torch_device),
                                                None if labels is None else labels[i:i + SCORE_BATCH].to(torch_device))
                            .float().cpu() for i in range(0, len(real), SCORE_BATCH)])
    flagged = collapsed(torch.sigmoid(scores), delta)
    report: dict[str, Any] = {"samples": len(real), "delta": delta, "threshold": collapse_threshold(delta),
                              "missed_share": float(flagged.float().mean()), "step": loaded.step}
    loss = getattr(family, "loss", None)
    if loss is not None and loss.name != "non-saturating":
        report["note"] = (f"{family.name}'s critic is trained with the {loss.name} loss: its scores are not "
                          "probabilities, so the 1/(1+δ) threshold is not calibrated for it")
    figure = run.path / "diagnose.png"
    if hasattr(source, "centers"):
        report["missed_modes"] = missed_modes(real, flagged, source.centers)
        report["num_modes"] = len(source.centers)
        save_scatter(real[flagged], figure, source.centers, f"{report['missed_share']:.1%} of real samples missed",
                     label="real samples G misses", color="tab:red")
    elif flagged.any():
        save_image_grid(real[flagged][:64], figure)
    report["figure"] = str(figure) if figure.exists() else None
    write_metrics(run, {"diagnose": report})
    return report


def _real_samples(source, saved: dict[str, Any], n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The first n samples of the training set (points: its fixed set, or a seeded fresh sample),
    with their DynGAN partition labels when the run kept a partition."""
    if hasattr(source, "centers"):
        fixed = getattr(source, "fixed", None)
        real = fixed[:n] if fixed is not None else source.sample(n, torch.Generator().manual_seed(0))
    else:
        real = source.images[:n].float() / 127.5 - 1.0
    # the family keeps its partition (before 2026-12-05, among the knobs)
    partition = (saved.get("family") or {}).get("partition") or (saved.get("knobs") or {}).get("partition")
    labels = partition["labels"][:len(real)].cpu() if partition else None
    return real, labels
