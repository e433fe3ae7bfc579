"""Encode-decode images with a trained VAE-GAN, and latent interpolation grids for any image run."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.errors import UserError
from mspgsen.report.plots import save_image_grid
from mspgsen.sampling import load_generator, load_networks
from mspgsen.training.device import resolve_device
from mspgsen.support.rundir import existing_run_dir

INTERPOLATION_STEPS = 10


def reconstruct(run_dir: str | Path, images: str, out: str | Path, n: int = 32, data_root: str | None = None,
                device: str = "cpu") -> dict[str, Any]:
    """Decode the latent mean of `n` images (a folder, .npz or data set name) and compare with the
    mean-image baseline; `out` gets originals (odd rows) over reconstructions (even rows)."""
    run = existing_run_dir(run_dir, need_checkpoint=True)
    torch_device = resolve_device(device)
    loaded = load_networks(run, torch_device)
    if not hasattr(loaded.family, "reconstruct"):
        raise UserError(f"{loaded.family.name} has no encoder; reconstruct needs a vaegan run.")
    if loaded.shape.kind != "images":
        raise UserError("reconstruct works on image runs.")
    channels, height, width = loaded.shape.dims
    source = load_data(DataConfig(name=images, root=data_root, image_size=f"{height}x{width}", channels=channels,
                                  limit=n))
    real = source.images[:n].float().to(torch_device) / 127.5 - 1.0
    with torch.no_grad():
        rebuilt = loaded.family.reconstruct(loaded.nets, real)
    mse = float(F.mse_loss(rebuilt, real))
    baseline = float(F.mse_loss(real.mean(dim=0, keepdim=True).expand_as(real), real))
    columns = min(8, len(real))
    rows = [t for start in range(0, len(real), columns) for t in (real[start:start + columns],
                                                                   rebuilt[start:start + columns])]
    save_image_grid(torch.cat(rows).cpu(), Path(out), nrow=columns)
    return {"images": len(real), "mse": mse, "mean_image_mse": baseline, "out": str(out)}


def interpolation_grid(run_dir: str | Path, rows: int, out: str | Path, seed: int = 0, device: str = "cpu") -> Path:
    """Each row walks the latent space between two random points (spherical interpolation)."""
    run = existing_run_dir(run_dir)
    torch_device = resolve_device(device)
    loaded = load_generator(run, torch_device)
    if loaded.shape.kind != "images":
        raise UserError("interpolation grids are drawn for image runs; this run models points.")
    rng = torch.Generator().manual_seed(seed)
    latent_dim = loaded.family.latent_dim()
    ends = torch.randn(2, rows, latent_dim, generator=rng)
    weights = torch.linspace(0, 1, INTERPOLATION_STEPS)
    latents = torch.stack([slerp(ends[0], ends[1], w) for w in weights], dim=1).reshape(-1, latent_dim)
    conditions = loaded.family.sample_conditions(rows, rng, loaded.generator)
    if conditions is not None:  # one class per row
        conditions = conditions.repeat_interleave(INTERPOLATION_STEPS).to(torch_device)
    with torch.no_grad():
        images = loaded.family.generate({loaded.family.generator_key: loaded.generator}, latents.to(torch_device),
                                        conditions)
    save_image_grid(images.cpu(), Path(out), nrow=INTERPOLATION_STEPS)
    return Path(out)


def slerp(a: torch.Tensor, b: torch.Tensor, weight: float) -> torch.Tensor:
    """Spherical interpolation, row by row: Gaussian latents keep their norm along the path."""
    cosine = (F.normalize(a, dim=1) * F.normalize(b, dim=1)).sum(dim=1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7)
    angle = torch.acos(cosine)
    if float(angle.abs().max()) < 1e-4:
        return torch.lerp(a, b, weight)
    return (torch.sin((1 - weight) * angle) * a + torch.sin(weight * angle) * b) / torch.sin(angle)

