"""`mspgsen sample`: samples of a run's generator as a figure or an array."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mspgsen.commands.evaluate import sampling_precision
from mspgsen.data import load_data
from mspgsen.errors import UserError
from mspgsen.evaluation import to_uint8
from mspgsen.report.outputs import save_samples_figure
from mspgsen.sampling import draw, load_generator
from mspgsen.training.device import resolve_device
from mspgsen.support.rundir import existing_run_dir


def sample(run_dir: str | Path, n: int, out: str | Path, seed: int = 0, device: str = "cpu") -> Path:
    """Write `n` samples of a run's generator (EMA when kept) to a .png grid or an .npz array."""
    out = Path(out)
    if out.suffix not in (".png", ".npz"):
        raise UserError(f"--out must end in .png (a grid or scatter plot) or .npz (an array), got {out.name!r}.")
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}.")
    torch_device = resolve_device(device)
    loaded = load_generator(existing_run_dir(run_dir), torch_device)
    samples = draw(loaded.family, loaded.generator, n, seed, torch_device,
                   sampling_precision(loaded, torch_device), show_progress=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npz":
        _save_npz(samples, out)
    else:
        source = load_data(loaded.config.data) if loaded.shape.kind == "points" else None
        save_samples_figure(samples, out, source, f"{loaded.family.name}, step {loaded.step}, {n} samples")
    return out


def _save_npz(samples: torch.Tensor, out: Path) -> None:
    if samples.dim() == 2:
        np.savez(out, points=samples.numpy().astype(np.float32))
        return
    np.savez(out, images=to_uint8(samples).permute(0, 2, 3, 1).numpy())
