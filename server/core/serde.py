"""Dataclasses to JSON and back, for settings kept as one JSON column."""

from __future__ import annotations

import functools
import json
import types
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


def dumps(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True)


def loads(cls: type[T], text: str) -> T:
    built: T = _build(cls, json.loads(text))
    return built


# Values JSON takes as they are: the common case, answered before any other test (storing a
# received email serialises its content, so this is on the receive path).
_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The dataclass's field names, or None for any other type."""
    return tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None


def _plain(value: Any) -> Any:
    kind: type = type(value)
    if kind in _SCALARS:
        return value
    names = _field_names(kind)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, list):
        return [_plain(x) for x in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    # Resolving annotations is the slow part of loading; a class's never change.
    return get_type_hints(cls)


def _build(hint: Any, data: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if data is None:
            return None
        (inner,) = [a for a in get_args(hint) if a is not type(None)]
        return _build(inner, data)
    if origin is list:
        (inner,) = get_args(hint)
        return [_build(inner, x) for x in data]
    if isinstance(hint, type) and is_dataclass(hint):
        hints = _hints(hint)
        # Fields absent from old rows take their defaults: settings can grow without migrations.
        known = {f.name for f in fields(hint) if f.name in data}
        return hint(**{name: _build(hints[name], data[name]) for name in known})
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(data)
    if hint is datetime:
        return datetime.fromisoformat(data)
    return data
