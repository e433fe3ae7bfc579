"""Folders of images (searched recursively; each sub-folder is a class) and tar archives of them.

Images are decoded once, brought to one size, checked, and cached as a uint8 array keyed by
the files' names, sizes and times and by the requested size, so a second run starts at once.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from mspgsen.data.paths import cache_dir
from mspgsen.data.transforms import fit_images
from mspgsen.errors import UserError

SKIPPED_NAMED = 5  # unreadable files named in the skip message; the rest are counted
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
_UNREADABLE = (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError)
_CORRUPT_HINT = ("the file is corrupt or not an image. Delete or replace it, or set data.on_corrupt=skip "
                 "to skip unreadable images with a warning.")


@dataclass
class ImageFile:
    label: str  # the folder it sits in, relative to the root: its class
    where: str  # how messages name it
    content: Path | bytes


@dataclass
class DecodedImages:
    images: torch.Tensor  # uint8 [N, C, H, W]
    labels: torch.Tensor | None
    class_names: list[str]
    skipped: int


@dataclass(frozen=True)
class DecodeOptions:
    size: tuple[int, int] | None
    channels: int | None
    resize: str
    on_corrupt: str


def load_image_folder(folder: Path, options: DecodeOptions) -> DecodedImages:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    signature = [str(folder.resolve())] + [f"{p.relative_to(folder)}|{p.stat().st_size}|{p.stat().st_mtime_ns}"
                                           for p in paths]
    return _load_cached(signature, options, str(folder),
                        lambda: [ImageFile(str(p.parent.relative_to(folder)), str(p), p) for p in paths])


def load_image_archive(archive: Path, prefix: str, options: DecodeOptions) -> DecodedImages:
    """Images under `prefix/` inside a tar archive, read in one pass without unpacking."""
    stat = archive.stat()
    signature = [str(archive.resolve()), prefix, str(stat.st_size), str(stat.st_mtime_ns)]
    return _load_cached(signature, options, f"{archive}:{prefix}", lambda: _archive_files(archive, prefix))


def _archive_files(archive: Path, prefix: str) -> list[ImageFile]:
    files = []
    with tarfile.open(archive) as tar:
        for member in tar:
            path = PurePosixPath(member.name)
            if member.isfile() and path.suffix.lower() in IMAGE_EXTENSIONS and path.is_relative_to(prefix):
                label = str(path.parent.relative_to(prefix))
                files.append(ImageFile(label, f"{archive}:{member.name}", tar.extractfile(member).read()))
    return sorted(files, key=lambda f: f.where)


def _load_cached(signature: list[str], options: DecodeOptions, where: str,
                 list_files: Callable[[], list[ImageFile]]) -> DecodedImages:
    cached = cache_dir("folders") / f"{_cache_key(signature, options)}.npz"
    if cached.is_file():
        return _read_cache(cached)
    files = list_files()
    if not files:
        raise UserError(f"no images found in {where} (searched sub-folders for "
                        f"{', '.join(sorted(IMAGE_EXTENSIONS))}).")
    decoded = _decode_all(files, options)
    _write_cache(cached, decoded)
    return decoded


def _decode_all(files: list[ImageFile], options: DecodeOptions) -> DecodedImages:
    channels = options.channels or _probe_channels(files, options.on_corrupt)
    mode = "L" if channels == 1 else "RGB"
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        arrays = list(pool.map(lambda f: _decode(f.content, mode), files))
    bad = [f.where for f, array in zip(files, arrays) if array is None]
    if bad and options.on_corrupt == "error":
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise UserError(f"cannot read image {bad[0]}{more}: {_CORRUPT_HINT}")
    if bad:
        names = ", ".join(str(where) for where in bad[:SKIPPED_NAMED])
        more = f" and {len(bad) - SKIPPED_NAMED} more" if len(bad) > SKIPPED_NAMED else ""
        print(f"skipped {len(bad)} unreadable image(s) (data.on_corrupt=skip): {names}{more}", flush=True)
    kept = [(f, a) for f, a in zip(files, arrays) if a is not None]
    if not kept:
        raise UserError("no readable images left after skipping the unreadable ones.")
    target = options.size or _common_size(kept)
    images = _stack_to_size([a for _, a in kept], target, options.resize)
    class_names = sorted({f.label for f, _ in kept})
    if len(class_names) < 2:
        return DecodedImages(images, None, [], len(bad))
    index = {name: i for i, name in enumerate(class_names)}
    labels = torch.tensor([index[f.label] for f, _ in kept], dtype=torch.int64)
    return DecodedImages(images, labels, class_names, len(bad))


def _stack_to_size(arrays: list[np.ndarray], size: tuple[int, int], resize: str) -> torch.Tensor:
    if len({a.shape for a in arrays}) == 1:  # the common case: one resize over the whole stack
        return fit_images(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2), size, resize).contiguous()
    return torch.stack([fit_images(torch.from_numpy(a).permute(2, 0, 1)[None], size, resize)[0] for a in arrays])


def _open(content: Path | bytes):
    return Image.open(io.BytesIO(content) if isinstance(content, bytes) else content)


def _decode(content: Path | bytes, mode: str) -> np.ndarray | None:
    try:
        with _open(content) as image:
            array = np.array(image.convert(mode))
    except _UNREADABLE:
        return None
    return array[:, :, None] if array.ndim == 2 else array


def _probe_channels(files: list[ImageFile], on_corrupt: str) -> int:
    for file in files:
        try:
            with _open(file.content) as image:
                return 1 if image.mode in _GRAY_MODES else 3
        except _UNREADABLE:
            if on_corrupt == "error":
                raise UserError(f"cannot read image {file.where}: {_CORRUPT_HINT}") from None
    raise UserError("none of the images can be read.")


def _common_size(kept: list[tuple[ImageFile, np.ndarray]]) -> tuple[int, int]:
    first_file, first = kept[0]
    for file, array in kept:
        if array.shape[:2] != first.shape[:2]:
            raise UserError(f"the images have different sizes ({first.shape[0]}x{first.shape[1]} in "
                            f"{first_file.where}, {array.shape[0]}x{array.shape[1]} in {file.where}); pass "
                            "--image-size to bring them to one size.")
    return first.shape[0], first.shape[1]


def _cache_key(signature: list[str], options: DecodeOptions) -> str:
    digest = hashlib.sha1(f"{options}|v1".encode())
    for line in signature:
        digest.update(line.encode())
    return digest.hexdigest()[:20]


def _write_cache(path: Path, decoded: DecodedImages) -> None:
    temporary = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    labels = decoded.labels.numpy() if decoded.labels is not None else np.zeros(0, np.int64)
    try:
        np.savez(temporary, images=decoded.images.numpy(), labels=labels,
                 class_names=np.array(decoded.class_names, dtype=str), skipped=decoded.skipped)
        os.replace(temporary, path)
    except OSError:  # a cache is a convenience: a read-only cache folder must not stop training
        temporary.unlink(missing_ok=True)


def _read_cache(path: Path) -> DecodedImages:
    with np.load(path) as archive:
        labels = torch.from_numpy(archive["labels"]) if archive["labels"].size else None
        return DecodedImages(torch.from_numpy(archive["images"]), labels,
                             [str(n) for n in archive["class_names"]], int(archive["skipped"]))
