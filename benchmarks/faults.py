"""Fault-injection counts for docs/reliability.md: kill -9 training runs at random moments
(some inside a checkpoint write), resume each time, and count what survived.

For each family it trains one run on the 2-D ring through --kills kills (every fourth one while
a checkpoint is being written) and resumes after each; then it checks that the checkpoint on
disk always loaded, the steps lost per kill, and that the finished run equals a straight run
bit for bit. A NaN injected into G's gradients and a corrupt image in a folder are counted too.

    python benchmarks/faults.py --families dcgan,wgan-gp,mspgsen --kills 8
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from mspgsen import api
from mspgsen.data import load_data
from mspgsen.config import DataConfig
from mspgsen.errors import UserError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import faults  # noqa: E402  (test support, shared with tests/test_faults.py)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="dcgan,wgan-gp,mspgsen")
    parser.add_argument("--kills", type=int, default=8, help="kills per family")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def train_args(family: str, out: Path, args) -> list[str]:
    sets = ["train.progress=false", "train.log_every=10", "train.sample_every=100000",
            f"train.checkpoint_every={args.checkpoint_every}", "train.eval_samples=500"]
    return ["--model", family, "--data", "ring8", "--device", "cpu", "--batch-size", "64", "--steps", str(args.steps),
            "--out", str(out), *[a for s in sets for a in ("--set", s)]]


def kill_and_resume(family: str, folder: Path, args, env) -> dict:
    rng = random.Random(args.seed)
    run_dir = folder / f"{family}-killed"
    base = train_args(family, run_dir, args)
    kills = []
    for number in range(args.kills):
        resume = ["--resume"] if (run_dir / "config.yaml").exists() else []
        if number % 4 == 1:
            kill = faults.kill_when([*base, *resume], run_dir, "during checkpoint write",
                                    faults.during_checkpoint_write, env, slow_checkpoint=2.0)
        else:
            reached = faults.last_logged_step(run_dir)
            target = rng.randrange(reached + 10, max(reached + 11, args.steps - 20))
            kill = faults.kill_when([*base, *resume], run_dir, f"after step {target}", faults.after_step(target), env)
        if kill is None:
            break
        kills.append(kill)
    finished = faults.run_to_end([*base, "--resume"], env)
    straight_dir = folder / f"{family}-straight"
    faults.run_to_end(train_args(family, straight_dir, args), env)
    a, b = load_file(str(run_dir / "checkpoint.safetensors")), load_file(str(straight_dir / "checkpoint.safetensors"))
    return {"family": family, "kills": len(kills), "in_write": sum(k.moment.startswith("during") for k in kills),
            "loadable": sum(k.loadable for k in kills), "max_lost": max((k.lost for k in kills), default=0),
            "finished": finished.returncode == 0 and faults.checkpoint_on_disk(run_dir) == (args.steps, True),
            "identical": a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)}


def nan_rollback(folder: Path) -> dict:
    """A NaN in G's gradients at one step of a dcgan run: rollbacks, and whether the run finished."""
    config = api.configure(model="dcgan", data="ring8", steps=100, device="cpu", out=str(folder / "nan"),
                           overrides=["train.progress=false", "train.log_every=10"])
    with faults.nan_gradients({37}) as fired:
        result = api.train(config)
    rows = (folder / "nan" / "controller.jsonl").read_text().splitlines()
    return {"injected": len(fired), "rollbacks": sum("divergence-guard" in r for r in rows), "finished": result.completed}


def corrupt_image(folder: Path) -> dict:
    """A folder of 20 images with a truncated one in the middle: skipped-and-counted or a clear error."""
    images = folder / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(images / f"{i:02d}.png")
    (images / "10.png").write_bytes((images / "10.png").read_bytes()[:40])
    try:
        load_data(DataConfig(name=str(images)))
        error = "none"
    except UserError as err:
        error = "clear" if "10.png" in str(err) else "unclear"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        source = load_data(DataConfig(name=str(images), on_corrupt="skip"))
    return {"error_by_default": error, "kept": len(source), "skipped": source.skipped}


def main() -> None:
    args = parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [kill_and_resume(family, folder, args, env) for family in args.families.split(",")]
        nan, corrupt = nan_rollback(folder), corrupt_image(folder)
    print(f"\nkill -9 then --resume: {args.steps} steps, checkpoint every {args.checkpoint_every}, seed {args.seed}\n")
    print("| family | kills | of them in a checkpoint write | checkpoint loadable after | most steps lost "
          "| finished | equal to a straight run |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['family']} | {r['kills']} | {r['in_write']} | {r['loadable']}/{r['kills']} | {r['max_lost']} | "
              f"{'yes' if r['finished'] else 'NO'} | {'bit for bit' if r['identical'] else 'NO'} |")
    print(f"\nNaN in G's gradients once (dcgan, 100 steps): injected {nan['injected']}, rollbacks {nan['rollbacks']}, "
          f"finished {'yes' if nan['finished'] else 'NO'}")
    print(f"corrupt image in a folder of 20: default {corrupt['error_by_default']} error; with data.on_corrupt=skip "
          f"{corrupt['kept']} kept, {corrupt['skipped']} skipped and counted")


if __name__ == "__main__":
    main()
