"""The floor of classifier-feature FID: the real test set measured as if it were samples.

A generator's FID[classifier:DATA] means little without the figure two real sets of the same
data give each other; this prints it, the way `mspgsen evaluate` measures a run (the run's
reference is the training set, its features the classifier's penultimate layer), and, for a
sense of the scale, the figures of the same test images slightly degraded: blurred (Gaussian,
σ = 1 pixel) and with pixel noise (σ = 0.1 of the [-1, 1] range).

    python benchmarks/fid_floor.py --data mnist --data-root ../shared/data
    python benchmarks/fid_floor.py --data cifar10 --data-root ../shared/data
"""
from __future__ import annotations

import argparse

import torch
from torchvision.transforms.functional import gaussian_blur

from mspgsen.config import DataConfig
from mspgsen.data import load_data
from mspgsen.evaluation import ImageEvaluator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a data set with a classifier: mnist, fashion-mnist, cifar10")
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--n", type=int, default=10_000, help="test images measured (a run's final FID uses 10,000)")
    args = parser.parse_args()
    data = DataConfig(name=args.data, root=args.data_root)
    test = load_data(DataConfig(name=args.data, root=args.data_root, split="test"))
    evaluator = ImageEvaluator(["fid"], "classifier", data, "train", test.shape.size, test.shape.channels, "cpu")
    images = test.images[:args.n]
    (name, fid), = evaluator(images).items()
    print(f"{name} of {len(images)} real test images against the real training set: {fid:.3f}")
    generator = torch.Generator().manual_seed(0)
    degraded = {
        "blurred (Gaussian, sigma 1 px)": gaussian_blur(images.float(), kernel_size=5, sigma=1.0),
        "with pixel noise (sigma 0.1 of [-1, 1])": images.float() + 12.75 * torch.randn(images.shape, generator=generator),
    }
    for what, pixels in degraded.items():
        (_, fid), = evaluator(pixels.round().clamp(0, 255).to(torch.uint8)).items()
        print(f"  the same images {what}: {fid:.3f}")


if __name__ == "__main__":
    main()
