"""What a run folder holds, read for a report: every file may be missing or damaged, and each one
that is becomes a `problems` entry for its section, never an exception."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PREVIEW_NAME = re.compile(r"step-(\d+)\.png$")


@dataclass
class RunRecord:
    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # the machine lines written atop config.yaml
    stats: list[dict[str, Any]] = field(default_factory=list)  # stats.jsonl: one row per logging tick
    actions: list[dict[str, Any]] = field(default_factory=list)  # controller.jsonl
    history: list[dict[str, Any]] = field(default_factory=list)  # metrics.jsonl: periodic evaluations
    final: dict[str, Any] = field(default_factory=dict)  # metrics.json, its sections merged
    previews: list[tuple[int, Path]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # section → what was missing or damaged

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def family(self) -> str:
        return str(self.config.get("model", {}).get("name", "?"))

    @property
    def data(self) -> dict[str, Any]:
        return self.config.get("data", {}) or {}

    @property
    def seed(self) -> Any:
        return self.config.get("train", {}).get("seed")

    def steps_trained(self) -> int | None:
        steps = [row["step"] for row in self.stats if "step" in row]
        return max(steps) if steps else self.final.get("step")

    def setting(self) -> str:
        """The run's configuration but for its seed and folder: runs that share it are seeds of one setting."""
        config = json.loads(json.dumps(self.config))
        config.get("train", {}).pop("seed", None)
        config.get("train", {}).pop("out", None)
        return json.dumps(config, sort_keys=True)


def read_run(path: str | Path) -> RunRecord:
    record = RunRecord(Path(path))
    if not record.path.is_dir():
        record.problems["summary"] = f"{record.path} is not a run folder"
        return record
    record.config, record.notes = _config(record, record.path / "config.yaml")
    record.stats = _jsonl(record, record.path / "stats.jsonl", "losses")
    record.actions = _jsonl(record, record.path / "controller.jsonl", "knobs", required=False)
    record.history = _jsonl(record, record.path / "metrics.jsonl", "metrics", required=False)
    record.final = _final(record, record.path / "metrics.json")
    samples = record.path / "samples"
    found = [(int(m.group(1)), p) for p in sorted(samples.glob("step-*.png")) if (m := PREVIEW_NAME.search(p.name))]
    record.previews = found
    if not found and not (record.path / "samples.png").is_file():
        record.problems["samples"] = "no sample grids in samples/ (missing)"
    return record


def _config(record: RunRecord, path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        text = path.read_text()
        config = yaml.safe_load(text)
        if not isinstance(config, dict):
            raise ValueError("not a mapping")
    except (OSError, ValueError, yaml.YAMLError) as err:
        record.problems["summary"] = f"config.yaml is {'missing' if not path.exists() else 'damaged'} ({_short(err)})"
        return {}, []
    notes = [line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")]
    return config, notes


def _jsonl(record: RunRecord, path: Path, section: str, required: bool = True) -> list[dict[str, Any]]:
    if not path.is_file():
        if required:
            record.problems[section] = f"{path.name} is missing"
        return []
    rows, damaged = [], 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            damaged += 1
            continue
        if isinstance(row, dict):
            rows.append(row)
    if damaged:
        record.problems[section] = f"{path.name} is damaged: {damaged} unreadable line(s) skipped"
    return rows


def _final(record: RunRecord, path: Path) -> dict[str, Any]:
    try:
        sections = json.loads(path.read_text())
    except FileNotFoundError:
        record.problems["metrics"] = "metrics.json is missing (the run has not finished, or never measured)"
        return {}
    except (OSError, ValueError) as err:
        record.problems["metrics"] = f"metrics.json is damaged ({_short(err)})"
        return {}
    merged: dict[str, Any] = {}
    for value in sections.values() if isinstance(sections, dict) else []:
        if isinstance(value, dict):
            merged.update(value)
    return merged


def _short(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0][:120]
