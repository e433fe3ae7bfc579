"""Images from an .npz archive: uint8 or float, NHWC or NCHW, optional labels."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from mspgsen.errors import UserError

_IMAGE_KEYS = ("images", "x", "arr_0", "data")
_LABEL_KEYS = ("labels", "y", "targets")


def load_npz_images(path: Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise UserError(f"cannot read {path} as an .npz archive: {err}") from None
    with archive:
        key = _image_key(archive, path)
        images = _to_nchw_uint8(archive[key], path, key)
        labels = next((archive[k] for k in _LABEL_KEYS if k in archive.files), None)
    if labels is not None and labels.shape != (len(images),):
        labels = None
    return images, None if labels is None else torch.from_numpy(labels.astype(np.int64))


def _image_key(archive, path: Path) -> str:
    for key in _IMAGE_KEYS:
        if key in archive.files:
            return key
    candidates = [k for k in archive.files if archive[k].ndim in (3, 4)]
    if len(candidates) == 1:
        return candidates[0]
    raise UserError(f"{path} holds no image array: expected a key named {' or '.join(_IMAGE_KEYS)} "
                    f"(found: {', '.join(archive.files) or 'nothing'}).")


def _to_nchw_uint8(array: np.ndarray, path: Path, key: str) -> torch.Tensor:
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise UserError(f"{path}:{key} has shape {array.shape}; images must be [N, H, W], [N, H, W, C] or [N, C, H, W].")
    if array.shape[-1] in (1, 3) and array.shape[1] not in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    if array.shape[1] not in (1, 3):
        raise UserError(f"{path}:{key} has shape {array.shape}: cannot find a channel axis of size 1 or 3.")
    if array.dtype != np.uint8:
        array = _float_to_uint8(array.astype(np.float64))
    return torch.from_numpy(np.ascontiguousarray(array))


def _float_to_uint8(array: np.ndarray) -> np.ndarray:
    if not np.isfinite(array).all():
        raise UserError("the image array holds NaN or infinite values.")
    if array.min() < 0:  # [-1, 1]
        array = (array + 1) * 127.5
    elif array.max() <= 1:  # [0, 1]
        array = array * 255
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)
