import pytest

from mspgsen.errors import UserError
from mspgsen.families import FAMILIES, study_families
from mspgsen.registry import Registry


def test_every_family_is_registered_in_order():
    studied = ["mspgsen", "dcgan", "wgan", "wgan-gp", "sagan", "sagan-wgangp", "vaegan", "dyngan"]
    assert FAMILIES.names() == [*studied, "mspgsen-repaired", "vaegan-repaired"]  # the last two: made by repair
    assert study_families() == studied
    assert FAMILIES.get("gan") is FAMILIES.get("dcgan")
    assert FAMILIES.get("mspg-sen") is FAMILIES.get("mspgsen")


def test_duplicate_names_are_refused():
    registry = Registry("thing")
    registry.register("a", 1, aliases=("b",))
    with pytest.raises(ValueError):
        registry.register("b", 2)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UserError, match=r"unknown model 'dcgna'. Did you mean 'dcgan'\?"):
        FAMILIES.get("dcgna")
