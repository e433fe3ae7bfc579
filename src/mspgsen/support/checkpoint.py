"""Checkpoints as one safetensors file, written atomically.

Any nested state (network and optimiser state dicts, RNG states, knobs, controller state) is
split into its tensors, stored as safetensors, and a JSON skeleton in the file's metadata that
says where each tensor goes back. A write goes to a temporary file that is synced and then
renamed over the old one, so a crash at any moment leaves the last good checkpoint intact.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import zlib
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from mspgsen.errors import UserError

FORMAT = "mspgsen-checkpoint-1"
MAX_REASON = 160  # characters of a library's error kept in a message (a damaged header can dump 13 KB)


class DamagedCheckpoint(UserError):
    """A checkpoint that cannot be read back as it was written."""


def save_state(path: Path, state: dict[str, Any], info: dict[str, Any] | None = None,
               keep_previous: Path | None = None) -> None:
    """Write `state` to `path`; with `keep_previous`, the checkpoint it replaces stays there."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(state, "", tensors)
    metadata = {"format": FORMAT, "skeleton": json.dumps(skeleton), "info": json.dumps(info or {}),
                "checksum": str(tensor_checksum(tensors))}
    metadata["metadata_checksum"] = str(metadata_checksum(metadata))
    atomic_write(path, lambda temporary: save_file(tensors, str(temporary), metadata=metadata), keep_previous)


def load_state(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The nested state saved by `save_state`; DamagedCheckpoint when its tensors or its metadata
    (the skeleton that puts each tensor back) no longer match the checksums written with them (a
    flipped byte would otherwise load silently, or fail deep inside torch)."""
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT:
        raise UserError(f"{path} is not an mspgsen checkpoint (format {metadata.get('format')!r}).")
    tensors = verified_tensors(path, metadata)
    tensors = {name: tensor.to(device) for name, tensor in tensors.items()}
    try:
        return _unflatten(json.loads(metadata["skeleton"]), tensors)
    except (KeyError, TypeError, ValueError) as err:  # an older checkpoint, without a metadata checksum
        raise DamagedCheckpoint(f"{path} is damaged: its skeleton does not fit its tensors ({short_reason(err)}).") from None


def verified_tensors(path: Path, metadata: dict[str, str]) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, its metadata and tensors checked against the checksums
    written in it (where it has them); DamagedCheckpoint when they cannot be read or do not match."""
    if "metadata_checksum" in metadata and str(metadata_checksum(metadata)) != metadata["metadata_checksum"]:
        raise DamagedCheckpoint(f"{path} is damaged: its metadata does not match the checksum written with it.")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise DamagedCheckpoint(f"{path} is damaged ({short_reason(err)}).") from None
    if "checksum" in metadata and str(tensor_checksum(tensors)) != metadata["checksum"]:
        raise DamagedCheckpoint(f"{path} is damaged: its tensors do not match the checksum written with them.")
    return tensors


def metadata_checksum(metadata: dict[str, str]) -> int:
    """CRC-32 over every metadata entry but itself, in key order."""
    crc = 0
    for key in sorted(k for k in metadata if k != "metadata_checksum"):
        crc = zlib.crc32(f"{key}={metadata[key]}\0".encode(), crc)
    return crc


def tensor_checksum(tensors: dict[str, torch.Tensor]) -> int:
    """CRC-32 over every tensor's bytes in name order (about 1 GB/s: small beside the write)."""
    crc = 0
    for name in sorted(tensors):
        flat = tensors[name].detach().cpu().contiguous().reshape(-1)
        crc = zlib.crc32(name.encode(), crc)
        if flat.numel():
            crc = zlib.crc32(memoryview(flat.view(torch.uint8).numpy()), crc)
    return crc


def short_reason(err: BaseException) -> str:
    """The first line of a library's error, without any dumped JSON, at most MAX_REASON characters."""
    text = (str(err).splitlines() or [type(err).__name__])[0]
    text = text.split("{", 1)[0].rstrip(" :(") or type(err).__name__
    return text if len(text) <= MAX_REASON else text[:MAX_REASON] + "…"


def read_metadata(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise UserError(f"{path} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return handle.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise DamagedCheckpoint(f"{path} is damaged or not a safetensors file ({short_reason(err)}).") from None


def atomic_write(path: Path, write: Callable[[Path], None], keep_previous: Path | None = None) -> None:
    """Write through `write(temporary)`, fsync, then rename over `path`. A failed write (disk
    full, folder gone read-only) leaves `path` as it was and says so. With `keep_previous`, the
    file being replaced stays there under that name (a hard link: `path` exists at every moment)."""
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # the user's umask, like every other file of the run
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        if keep_previous is not None and path.exists():
            _keep(path, keep_previous)
        os.replace(temporary, path)
        _fsync_dir(path.parent)
    except (OSError, SafetensorError) as err:
        kept = "the previous one is intact" if path.exists() else "there was none before"
        reason = getattr(err, "strerror", None) or str(err)
        raise UserError(f"could not write {path} ({reason}); {kept}. Free some space or make the folder "
                        "writable, then continue with --resume.") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def _keep(path: Path, previous: Path) -> None:
    previous.unlink(missing_ok=True)
    try:
        os.link(path, previous)
    except OSError:  # a file system without hard links
        shutil.copy2(path, previous)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def state_bytes(state: Any) -> int:
    """The bytes of every tensor in a nested state."""
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(state_bytes(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(state_bytes(v) for v in state)
    return 0


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _flatten(value: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous()
        return {"__tensor__": path}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _flatten(v, f"{path}.{k}" if path else k, tensors) for k, v in value.items()}
        return {"__items__": [[k, _flatten(v, f"{path}.{k}", tensors)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_flatten(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_flatten(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} at {path!r} in a checkpoint")


def _unflatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__items__" in value:
            return {k: _unflatten(v, tensors) for k, v in value["__items__"]}
        if "__tuple__" in value:
            return tuple(_unflatten(v, tensors) for v in value["__tuple__"])
        return {k: _unflatten(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_unflatten(v, tensors) for v in value]
    return value
