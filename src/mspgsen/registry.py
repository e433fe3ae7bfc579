"""Name → object registries with aliases, duplicate checks and helpful lookups."""
from __future__ import annotations

import contextlib
import difflib
from typing import Generic, Iterator, TypeVar

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
