import pytest

from mspgsen.errors import UserError
from mspgsen.families import FAMILIES, study_families
from mspgsen.registry import Registry


def test_the_families_are_found_by_scanning_their_package_and_listed_by_rank():
    import inspect
    import pkgutil

    import mspgsen.families as package
    from mspgsen.contracts import Family

    defined = {cls.name for info in pkgutil.iter_modules(package.__path__)
               for _, cls in inspect.getmembers(__import__(f"mspgsen.families.{info.name}", fromlist=["x"]),
                                                inspect.isclass)
               if issubclass(cls, Family) and "name" in vars(cls)}
    assert defined == set(FAMILIES.names())
    ranks = [FAMILIES.get(name).rank for name in FAMILIES.names()]
    assert ranks == sorted(ranks) and FAMILIES.names()[0] == "mspgsen"  # the project's centre first
    assert all(name in study_families() for name in FAMILIES.names() if not name.endswith("-repaired"))
    assert FAMILIES.get("gan") is FAMILIES.get("dcgan")


def test_a_family_from_another_package_is_one_file_and_an_entry_point(tmp_path, monkeypatch):
    from mspgsen import api
    from mspgsen.registry import import_plugins

    from conftest import tiny_config

    (tmp_path / "tinyfamily.py").write_text(
        "from mspgsen.families.base import register_family\n"
        "from mspgsen.families.dcgan import DCGAN\n\n\n"
        "@register_family\n"
        "class TinyDCGAN(DCGAN):\n"
        "    name = 'tiny-dcgan'\n"
        "    aliases = ()\n"
        "    summary = 'dcgan under another name, from a plug-in'\n")
    info = tmp_path / "tinyfamily-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinyfamily\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[mspgsen.families]\ntiny = tinyfamily\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(FAMILIES, "_items", dict(FAMILIES._items))  # registered for this test only
    import_plugins("mspgsen.families")
    result = api.train(tiny_config(tmp_path, "tiny-dcgan", steps=2))
    assert result.completed and "name: tiny-dcgan" in (result.run_dir / "config.yaml").read_text()


def test_duplicate_names_are_refused():
    registry = Registry("thing")
    registry.register("a", 1, aliases=("b",))
    with pytest.raises(ValueError):
        registry.register("b", 2)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UserError, match=r"unknown model 'dcgna'. Did you mean 'dcgan'\?"):
        FAMILIES.get("dcgna")
