"""Plain values for the validators: SDK proxies copied into dicts and lists, unknowns as one marker.

The SDK hands policies proxies that raise on a value the engine does not know yet (during preview) and turns that into
an *advisory* "can't run policy during preview" note, which would let a mandatory policy pass silently. Converting up
front lets each policy decide, and the security-relevant ones report an unknown as a violation that says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterable, Iterator, Optional

from pulumi_policy.proxy import UnknownValueError


class _Unknown:
    """A value the engine will only know after the update (a preview placeholder)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def plain(value: Any) -> Any:
    """Copy ``value`` (an SDK proxy, a dict or a list) into plain containers, replacing unknowns with ``UNKNOWN``."""
    if isinstance(value, Mapping):
        result = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = UNKNOWN
        return result
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def dig(value: Any, *path: str) -> Any:
    """``value[p0][p1]...``: None where a key is absent, ``UNKNOWN`` as soon as an unknown is met on the way."""
    for key in path:
        if is_unknown(value):
            return UNKNOWN
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list[Any]:
    """A property that may be one item, a list of items, or absent, as a list (``[UNKNOWN]`` if unknown)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def walk(value: Any, path: str = "", key: str = "",
         prune: Optional[Callable[[Any], bool]] = None) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every value inside ``value``, depth first; a list item has its list's key. Values for
    which ``prune`` is true are yielded but not entered."""
    if isinstance(value, Mapping):
        items: Iterable[tuple[str, str, Any]] = (
            (f"{path}.{k}" if path else str(k), str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", key, v) for i, v in enumerate(value))
    else:
        return
    for child_path, child_key, item in items:
        yield child_path, child_key, item
        if prune is None or not prune(item):
            yield from walk(item, child_path, child_key, prune)


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` with its property path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")
