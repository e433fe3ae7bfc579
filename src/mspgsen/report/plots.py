"""Figures a run writes: sample grids, 2-D scatter plots over the mode centres, training curves."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import save_image  # noqa: E402


def save_image_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> None:
    """Images in [-1, 1] as one PNG grid."""
    nrow = nrow or max(1, int(len(images) ** 0.5))
    save_image(images.float().cpu(), str(path), nrow=nrow, normalize=True, value_range=(-1, 1))


def save_scatter(points: torch.Tensor, path: Path, centers: torch.Tensor | None = None, title: str = "") -> None:
    figure, axis = plt.subplots(figsize=(5, 5))
    points = points.float().cpu()
    axis.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, color="tab:blue", label="generated")
    if centers is not None:
        axis.scatter(centers[:, 0], centers[:, 1], s=40, marker="x", color="tab:red", label="mode centres")
        span = float(centers.abs().max()) * 1.5 + 0.5
        axis.set_xlim(-span, span)
        axis.set_ylim(-span, span)
    axis.set_aspect("equal")
    axis.set_title(title, fontsize=9)
    axis.legend(loc="upper right", fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def save_training_curves(stats_file: Path, path: Path) -> None:
    """Seed 002's figure 3: the loss terms of G and D, and D(x) against D(G(z)), over steps."""
    rows = [json.loads(line) for line in stats_file.read_text().splitlines() if line]
    if not rows:
        return
    steps = [row["step"] for row in rows]
    loss_names = sorted({k for row in rows for k in row if k[:2] in ("D/", "G/")})
    figure, (losses, scores) = plt.subplots(1, 2, figsize=(10, 4))
    for name in loss_names:
        losses.plot(steps, [row.get(name, float("nan")) for row in rows], label=name)
    for name in ("D(x)", "D(G(z))"):
        scores.plot(steps, [row.get(name, float("nan")) for row in rows], label=name)
    for axis, title in ((losses, "loss terms (unweighted)"), (scores, "discriminator outputs")):
        axis.set_xlabel("step")
        axis.set_title(title)
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
