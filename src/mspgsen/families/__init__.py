"""Model families, registered by name. Importing this package registers all of them."""
from mspgsen.families.base import FAMILIES, register_family
# Registration order is the order `mspgsen list` shows.
from mspgsen.families import mspgsen, dcgan, wgan, wgan_gp, sagan, sagan_wgangp, vaegan, dyngan  # noqa: F401,E402,I001
from mspgsen.families import mspgsen_repaired, vaegan_repaired  # noqa: F401,E402,I001  (made by `mspgsen repair`)



def study_families() -> list[str]:
    """The families a study of every family trains: all but those `mspgsen repair` makes (they
    train from scratch too, but as the partitioned twins of mspgsen and vaegan)."""
    return [name for name in FAMILIES.names() if not getattr(FAMILIES.get(name), "made_by_repair", False)]


__all__ = ["FAMILIES", "register_family", "study_families"]
