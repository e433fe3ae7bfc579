"""What every run of an experiment (`mspgsen ablate`, `mspgsen sweep`) shares. Its fields are the
experiments' options, in the API and on the command line alike (help and option name said once here)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


def option(default, help: str, flag: str | None = None, **more):
    return field(default=default, metadata={"help": help, "flag": flag, **more})


@dataclass
class Protocol:
    """The model and data, how long and on what each run trains, how it is measured, where runs go."""

    model: str
    data: str
    seeds: int = option(1, "seeds per variant")
    steps: int | None = option(None, "generator updates per run (default: the model's)")
    batch_size: int | None = option(None, "samples per batch (default: the model's)")
    out: str | Path = option("runs/experiment", "folder for the runs, the table (.md) and its plot (.png)")
    workers: int = option(1, "runs trained in parallel (CPU), one thread each")
    overrides: list[str] = field(default_factory=list, metadata={
        "help": "config for every run, KEY=VALUE (repeatable)", "flag": "--set"})
    data_root: str | None = option(None, "folder holding named data sets")
    device: str = option("cpu", "auto | cpu | cuda | cuda:N")
    metrics: str | None = option(None, "image data: metrics to compare, comma-separated (as for evaluate)")
    features: str = option("inception", "image data: inception or classifier features",
                           choices=("inception", "classifier"))
    num_samples: int | None = option(None, "image data: samples per evaluation", flag="--n")
