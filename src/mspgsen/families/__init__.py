"""Model families, registered by name. Importing this package registers all of them."""
from mspgsen.families.base import FAMILIES, register_family
# Registration order is the order `mspgsen list` shows.
from mspgsen.families import mspgsen, dcgan, wgan, wgan_gp, sagan, sagan_wgangp, vaegan, dyngan, mspgsen_repaired, vaegan_repaired  # noqa: F401,E402,I001

__all__ = ["FAMILIES", "register_family"]
