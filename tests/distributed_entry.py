"""What the distributed tests launch under torchrun: the `mspgsen` command, plus a test family
without batch norm (whose batch statistics are per process on CPU, where SyncBatchNorm does not
run), so one process and two can be compared number for number."""
from __future__ import annotations

import sys

from mspgsen.families import FAMILIES, register_family
from mspgsen.families.dcgan import DCGAN
from mspgsen.nn import NetSpec


class PlainGAN(DCGAN):
    name = "test-plain"
    aliases = ()
    summary = "DCGAN's loss and optimiser with MLP/conv nets that have no batch norm (tests only)"
    net_spec = NetSpec(g_norm="none", d_norm="none")


if PlainGAN.name not in FAMILIES.names():
    register_family(PlainGAN)

if __name__ == "__main__":
    from mspgsen.cli import main

    sys.exit(main())
