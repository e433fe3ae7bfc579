"""Name → object registries with aliases, duplicate checks and helpful lookups."""
from __future__ import annotations

import contextlib
import difflib
import importlib
import pkgutil
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, Iterator, TypeVar

from mspgsen.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """A validated registry: names are unique, lookups fail with a suggestion."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, item: T, aliases: tuple[str, ...] = ()) -> T:
        for key in (name, *aliases):
            if key in self._items or key in self._aliases:
                raise ValueError(f"{self.kind} name {key!r} is registered twice")
        self._items[name] = item
        self._aliases.update({alias: name for alias in aliases})
        return item

    @contextlib.contextmanager
    def temporarily(self, name: str, item: T) -> Iterator[T]:
        """`item` registered as `name` inside the block only (a test's plug-in)."""
        self.register(name, item)
        try:
            yield item
        finally:
            del self._items[name]

    def sort(self, key: Callable[[T], Any]) -> None:
        """Order the items by `key` of each (the order `names()` and iteration give)."""
        self._items = dict(sorted(self._items.items(), key=lambda item: key(item[1])))

    def canonical(self, name: str) -> str:
        if name in self._items:
            return name
        if name in self._aliases:
            return self._aliases[name]
        known = sorted([*self._items, *self._aliases])
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UserError(f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}.")

    def get(self, name: str) -> T:
        return self._items[self.canonical(name)]

    def __contains__(self, name: str) -> bool:
        return name in self._items or name in self._aliases

    def names(self) -> list[str]:
        return list(self._items)

    def aliases_of(self, name: str) -> list[str]:
        return [alias for alias, target in self._aliases.items() if target == name]

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter(self._items.items())


def import_package(package: str, path: list[str]) -> None:
    """Import every module of a package, so each registers what it defines: a new family or
    controller is one new file, with no list to extend."""
    for module in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{module.name}")


def import_plugins(group: str) -> None:
    """Import the modules other installed packages declare under the entry-point `group`
    (`mspgsen.families`, `mspgsen.controllers`): a plug-in registers itself on import."""
    for entry in entry_points(group=group):
        importlib.import_module(entry.value.split(":")[0])
