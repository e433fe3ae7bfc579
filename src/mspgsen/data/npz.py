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
    except (OSError, ValueError, zipfile.BadZipFile):  # NumPy speaks of pickles for any file that is not an archive
        raise UserError(f"cannot read {path} as an .npz archive: it is not a zip of NumPy arrays. Save images with "
                        "numpy.savez(path, images=array) (uint8 0-255, or floats in [-1, 1], [0, 1] or [0, 255]).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UserError(f"{path} holds one NumPy array, not an .npz archive; save it with numpy.savez(path, images=array).")
    with archive:
        key = _image_key(archive, path)
        images = _to_nchw_uint8(archive[key], path, key)
        label_key = next((k for k in _LABEL_KEYS if k in archive.files), None)
        labels = archive[label_key] if label_key else None
    if labels is not None and labels.shape != (len(images),):
        labels = None
    if labels is not None and not np.issubdtype(labels.dtype, np.integer):
        raise UserError(f"{path}:{label_key} holds {labels.dtype} values; class labels must be integers 0, 1, 2, ...")
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
        array = _to_uint8(array, f"{path}:{key}")
    return torch.from_numpy(np.ascontiguousarray(array))


def _to_uint8(array: np.ndarray, where: str) -> np.ndarray:
    """Pixels from floats in [-1, 1], [0, 1] or [0, 255], or integers in 0-255; any other dtype or
    range is refused (bools, complex numbers, strings and ids are not pixel values)."""
    kind = array.dtype.kind
    if kind not in "fiu":
        raise UserError(f"{where} holds {array.dtype} values, not pixels: images must be uint8 (0-255) or floats "
                        "in [-1, 1], [0, 1] or [0, 255].")
    if array.size == 0:
        return array.astype(np.uint8)
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise UserError(f"{where} holds NaN or infinite values.")
    low, high = float(array.min()), float(array.max())
    if kind in "iu":
        if low < 0 or high > 255:
            raise UserError(f"{where} holds integers from {low:g} to {high:g}; pixel values are 0-255.")
        return array.astype(np.uint8)
    if low < -1 or high > 255:
        raise UserError(f"{where} holds floats from {low:g} to {high:g}; images must lie in [-1, 1], [0, 1] or [0, 255].")
    if low < 0:  # [-1, 1]
        if high > 1:
            raise UserError(f"{where} holds floats from {low:g} to {high:g}: below 0 reads as [-1, 1], above 1 as "
                            "[0, 255]; rescale them to one of [-1, 1], [0, 1] or [0, 255].")
        array = (array + 1) * 127.5
    elif high <= 1:  # [0, 1]
        array = array * 255
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)
