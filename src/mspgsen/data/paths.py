"""Where data sets and caches live."""
from __future__ import annotations

import os
from pathlib import Path


def data_root(configured: str | None) -> Path:
    return Path(configured or os.environ.get("MSPGSEN_DATA") or "data").expanduser()


def cache_dir(*parts: str) -> Path:
    base = Path(os.environ.get("MSPGSEN_CACHE") or Path.home() / ".cache" / "mspgsen").expanduser()
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
