"""Figures: sample grids, 2-D scatter plots over the mode centres, training curves, ablation bars."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

GRID_PADDING = 2  # pixels between the images of a grid, as torchvision's make_grid
MIN_CELL = 56  # smaller images are scaled up to at least this many pixels a side, so a 28x28 digit is legible
TITLE_BAND = 18  # pixels of the white band a grid's title is written in


def save_image_grid(images: torch.Tensor, path: Path, nrow: int | None = None, title: str = "") -> None:
    """Images `[N, C, H, W]` in [-1, 1] as one PNG grid, `nrow` images per row, laid out like
    torchvision's `save_image(normalize=True, value_range=(-1, 1))`, small images scaled up (nearest)
    to at least MIN_CELL pixels, with `title` in a band on top. Written with Pillow directly:
    importing torchvision costs a training process 1.5 s for this one picture."""
    images = images.detach().float().cpu()
    scale = max(1, -(-MIN_CELL // min(images.shape[-2:])))
    if scale > 1:
        images = images.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    nrow = min(nrow or max(1, int(len(images) ** 0.5)), len(images))
    rows = -(-len(images) // nrow)
    height, width = images.shape[-2] + GRID_PADDING, images.shape[-1] + GRID_PADDING
    grid = torch.zeros(3, rows * height + GRID_PADDING, nrow * width + GRID_PADDING)
    for i, image in enumerate(images):
        top, left = (i // nrow) * height + GRID_PADDING, (i % nrow) * width + GRID_PADDING
        grid[:, top:top + image.shape[-2], left:left + image.shape[-1]] = (image.clamp(-1, 1) + 1) / 2
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    picture = Image.fromarray(pixels)
    if title:
        picture = _with_title(picture, title)
    picture.save(path)


def _with_title(picture: Image.Image, title: str) -> Image.Image:
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default()
    band = TITLE_BAND
    titled = Image.new("RGB", (picture.width, picture.height + band), "white")
    titled.paste(picture, (0, band))
    ImageDraw.Draw(titled).text((4, (band - 11) // 2), title, fill="black", font=font)
    return titled


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend, imported on first use (0.4 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_scatter(points: torch.Tensor, path: Path, centers: torch.Tensor | None = None, title: str = "",
                 label: str = "generated", color: str = "tab:blue") -> None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5, 5))
    points = points.float().cpu()
    if centers is not None:  # hollow rings under the samples: the clusters stay visible
        axis.scatter(centers[:, 0], centers[:, 1], s=90, facecolors="none", edgecolors="tab:red", linewidths=0.8,
                     label="mode centres", zorder=1)
    axis.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, color=color, label=label, zorder=2)
    axis.set_xlabel("x")
    axis.set_ylabel("y")
    if centers is not None:
        span = float(centers.abs().max()) * 1.5 + 0.5
        axis.set_xlim(-span, span)
        axis.set_ylim(-span, span)
    axis.set_aspect("equal")
    axis.set_title(title, fontsize=9)
    axis.legend(loc="upper right", fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def save_training_curves(stats_file: Path, path: Path, metrics_file: Path | None = None, title: str = "") -> None:
    """Seed 002's figures 3 and 4: loss terms, D(x) against D(G(z)), and periodic metrics, over steps."""
    plt = _pyplot()
    rows = _rows(stats_file)
    if not rows:
        return
    evaluations = _rows(metrics_file) if metrics_file else []
    panels = 3 if evaluations else 2
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 4))
    steps = [row["step"] for row in rows]
    for name in sorted({k for row in rows for k in row if k[:2] in ("D/", "G/")}):
        axes[0].plot(steps, [row.get(name, float("nan")) for row in rows], label=name)
    for name in ("D(x)", "D(G(z))"):
        axes[1].plot(steps, [row.get(name, float("nan")) for row in rows], label=name)
    titles = ["loss terms (unweighted)", "discriminator outputs", "periodic evaluation"]
    y_labels = ["loss", "D's output (probability or score)", "metric value"]
    if evaluations:
        for name in [k for k in evaluations[0] if k != "step"]:
            axes[2].plot([r["step"] for r in evaluations], [r.get(name, float("nan")) for r in evaluations],
                         marker="o", label=name)
    for axis, panel, y_label in zip(axes, titles, y_labels):
        axis.set_xlabel("step")
        axis.set_ylabel(y_label)
        axis.set_title(panel)
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _rows(path: Path | None) -> list[dict]:
    if path is None or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def save_ablation_plot(values: dict[str, list[float]], label: str, title: str, path: Path) -> None:
    """One bar per variant (mean over seeds) with every seed's value as a dot."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(1.2 * len(values) + 2, 3.5))
    for i, (variant, seeds) in enumerate(values.items()):
        finite = [v for v in seeds if v == v and abs(v) != float("inf")]
        mean = sum(finite) / len(finite) if finite else 0.0
        axis.bar(i, mean, color="tab:blue" if variant == "full" else "tab:gray", alpha=0.7)
        axis.scatter([i] * len(finite), finite, color="black", s=12, zorder=3)
    axis.set_xticks(range(len(values)), list(values))
    axis.set_ylabel(label)
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def save_metric_curves(curves: dict[str, list[tuple[int, float]]], label: str, title: str, path: Path) -> None:
    """One line per setting: a metric over training steps (seed 003's sensitivity figure)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for name, curve in curves.items():
        axis.plot([step for step, _ in curve], [value for _, value in curve], label=name, marker=".")
    axis.set_xlabel("step")
    axis.set_ylabel(label)
    axis.set_title(title)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def save_partition_timeline(history: list[dict], path: Path, title: str = "") -> None:
    """DynGAN's partitions over training: their sizes at each repartition (stacked), and with
    labelled data how many of the data's modes each holds (at least half of a mode's samples)."""
    if not history:
        return
    plt = _pyplot()
    with_modes = "modes" in history[-1]
    figure, axes = plt.subplots(1, 1 + with_modes, figsize=(5.5 * (1 + with_modes), 3.8), squeeze=False)
    steps = [entry["step"] for entry in history]
    count = max(len(entry["sizes"]) for entry in history)
    bottom = [0.0] * len(history)
    for p in range(count):
        sizes = [entry["sizes"][p] if p < len(entry["sizes"]) else 0.0 for entry in history]
        axes[0][0].bar(range(len(history)), sizes, bottom=bottom, label=f"partition {p}")
        bottom = [b + s for b, s in zip(bottom, sizes)]
    axes[0][0].set_title("partition sizes at each repartition")
    axes[0][0].set_ylabel("training samples")
    if with_modes:
        for p in range(count):
            held = [len(entry["modes"][p]) if "modes" in entry and p < len(entry["modes"]) else 0 for entry in history]
            axes[0][1].plot(range(len(history)), held, marker="o", label=f"partition {p}")
        axes[0][1].set_title("modes each partition holds (≥ half their samples)")
        axes[0][1].set_ylabel("modes")
    for axis in axes[0]:
        axis.set_xticks(range(len(history)), [str(s) for s in steps], rotation=45, fontsize=7)
        axis.set_xlabel("step")
        axis.legend(fontsize=6, ncol=2)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
