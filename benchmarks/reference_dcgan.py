"""The reference to race: pytorch/examples' DCGAN training script, as a user runs it (fp32, eager).

Written by us from that script's description, not copied: a ConvTranspose generator with
BatchNorm + ReLU and a Tanh output, a discriminator of strided convolutions with
LeakyReLU(0.2), BatchNorm (not on the first layer) and a Sigmoid, no biases, N(0, 0.02)
weights; BCE loss; Adam(2e-4, β=(0.5, 0.999)) for both; per step one D update on a real batch
then on `fake.detach()`, then one G update on the same fake batch with real labels.

The example's networks are for 64×64; at other powers of two (32×32 here) the same pattern
has one stage fewer or more, starting from a 4×4 map, with channels capped at 8× the base
width: exactly the layout of `mspgsen`'s dcgan with `model.bias=false` (the benchmark checks
that the parameter counts agree).

    python benchmarks/reference_dcgan.py --data-root ../shared/data --image-size 32 --steps 30

reads MNIST's IDX files like the example's `--dataset mnist` (per-image PIL → Resize →
ToTensor → Normalize in a DataLoader), trains `--steps` iterations, and prints the time.
"""
from __future__ import annotations

import argparse
import gzip
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

MAX_WIDTH_MULTIPLIER = 8


def stage_count(size: int) -> int:
    """Doubling stages from a 4×4 map to `size` (a power of two ≥ 8)."""
    stages = int(math.log2(size)) - 2
    if size < 8 or 2 ** (stages + 2) != size:
        raise ValueError(f"the reference DCGAN needs a power-of-two image size of at least 8, got {size}")
    return stages


def generator(nz: int, ngf: int, nc: int, size: int) -> nn.Sequential:
    stages = stage_count(size)
    widths = [ngf * min(2 ** (stages - 1 - i), MAX_WIDTH_MULTIPLIER) for i in range(stages)]
    layers: list[nn.Module] = [nn.ConvTranspose2d(nz, widths[0], 4, 1, 0, bias=False), nn.BatchNorm2d(widths[0]),
                               nn.ReLU(True)]
    for w_in, w_out in zip(widths, widths[1:]):
        layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(widths[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(ndf: int, nc: int, size: int) -> nn.Sequential:
    stages = stage_count(size)
    widths = [ndf * min(2 ** i, MAX_WIDTH_MULTIPLIER) for i in range(stages)]
    layers: list[nn.Module] = [nn.Conv2d(nc, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for w_in, w_out in zip(widths, widths[1:]):
        layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2, inplace=True)]
    layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*layers)


def weights_init(module: nn.Module) -> None:
    name = type(module).__name__
    if "Conv" in name:
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ReferenceDCGAN:
    """The networks, optimisers and the one training step of the example."""

    def __init__(self, size: int, nc: int, nz: int = 100, ngf: int = 64, ndf: int = 64, device: str = "cpu"):
        self.nz, self.device = nz, torch.device(device)
        self.G = generator(nz, ngf, nc, size).to(self.device)
        self.D = discriminator(ndf, nc, size).to(self.device)
        self.G.apply(weights_init)
        self.D.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def parameter_counts(self) -> tuple[int, int]:
        return (sum(p.numel() for p in self.G.parameters()), sum(p.numel() for p in self.D.parameters()))

    def step(self, real: torch.Tensor) -> tuple[float, float]:
        batch = real.size(0)
        real_label = torch.full((batch,), 1.0, device=self.device)
        # (1) D: maximise log D(x) + log(1 - D(G(z)))
        self.D.zero_grad()
        loss_real = self.criterion(self.D(real).view(-1), real_label)
        loss_real.backward()
        noise = torch.randn(batch, self.nz, 1, 1, device=self.device)
        fake = self.G(noise)
        loss_fake = self.criterion(self.D(fake.detach()).view(-1), torch.zeros_like(real_label))
        loss_fake.backward()
        self.opt_d.step()
        # (2) G: maximise log D(G(z)) on the same fake batch
        self.G.zero_grad()
        loss_g = self.criterion(self.D(fake).view(-1), real_label)
        loss_g.backward()
        self.opt_g.step()
        return (loss_real + loss_fake).item(), loss_g.item()


class MNISTImages(torch.utils.data.Dataset):
    """MNIST's training digits from the IDX file, each transformed on access like torchvision's MNIST."""

    def __init__(self, root: Path, transform):
        path = next(p for p in (root / "mnist/MNIST/raw/train-images-idx3-ubyte.gz",
                                root / "MNIST/raw/train-images-idx3-ubyte.gz") if p.is_file())
        with gzip.open(path, "rb") as handle:
            self.images = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index], mode="L")), 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (the example's default is 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outf", default="reference-out", help="where the sample grids and weights go")
    args = parser.parse_args()
    import torchvision.transforms as transforms
    import torchvision.utils as vutils

    Path(args.outf).mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    torch.manual_seed(args.seed)
    transform = transforms.Compose([transforms.Resize(args.image_size), transforms.ToTensor(),
                                    transforms.Normalize((0.5,), (0.5,))])
    loader = torch.utils.data.DataLoader(MNISTImages(Path(args.data_root), transform), batch_size=args.batch_size,
                                         shuffle=True, num_workers=args.workers, drop_last=True)
    model = ReferenceDCGAN(args.image_size, nc=1)
    fixed_noise = torch.randn(args.batch_size, model.nz, 1, 1)
    done = 0
    while done < args.steps:
        for real, _ in loader:
            loss_d, loss_g = model.step(real)
            if done % 100 == 0:  # the example's sample grids, every 100 iterations from the first
                vutils.save_image(real, f"{args.outf}/real_samples.png", normalize=True)
                with torch.no_grad():
                    fake = model.G(fixed_noise)
                vutils.save_image(fake, f"{args.outf}/fake_samples_step_{done:03d}.png", normalize=True)
            done += 1
            if done % 10 == 0 or done == args.steps:
                print(f"[{done}/{args.steps}] Loss_D: {loss_d:.4f} Loss_G: {loss_g:.4f}", flush=True)
            if done == args.steps:
                break
    torch.save(model.G.state_dict(), f"{args.outf}/netG.pth")  # the example saves both nets per epoch
    torch.save(model.D.state_dict(), f"{args.outf}/netD.pth")
    print(f"reference DCGAN: {args.steps} steps in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
