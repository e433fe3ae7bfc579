"""`python -m mspgsen` (also what `torchrun -m mspgsen` runs)."""
import sys

from mspgsen.cli import main

sys.exit(main())
