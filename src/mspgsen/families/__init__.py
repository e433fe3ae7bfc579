"""Model families, registered by name. Importing this package imports every module in it (and the
`mspgsen.families` entry points of installed plug-ins), each registering its families; they are
listed by their `rank`."""
from mspgsen.families.base import FAMILIES, register_family
from mspgsen.registry import import_package, import_plugins

import_package(__name__, __path__)
import_plugins("mspgsen.families")
FAMILIES.sort(key=lambda family: family.rank)


def study_families() -> list[str]:
    """The families a study of every family trains: all but those `mspgsen repair` makes (they
    train from scratch too, but as the partitioned twins of mspgsen and vaegan)."""
    return [name for name in FAMILIES.names() if not getattr(FAMILIES.get(name), "made_by_repair", False)]


__all__ = ["FAMILIES", "register_family", "study_families"]
