"""Helpers shared by the servicers for the common proto types."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Generic, TypeVar, cast

from erpmail.server.core.errors import InvalidArgument
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

E = TypeVar("E", bound=Enum)
P = TypeVar("P", bound=int)  # a generated enum's ValueType


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def from_timestamp(ts: timestamp_pb2.Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


class EnumMap(Generic[P, E]):
    """Translates a proto enum's numbers to a domain enum and back.

    The zero (UNSPECIFIED) value maps to `default`; a number the proto does not define (proto3
    enums accept any) is refused with the field named.
    """

    def __init__(self, mapping: Mapping[P, E], default: E | None = None) -> None:
        self._to_domain: dict[int, E] = {int(k): v for k, v in mapping.items()}
        self._to_proto = {v: k for k, v in mapping.items()}
        self._default = default

    def to_domain(self, number: int, field: str) -> E:
        if number == 0 and self._default is not None:
            return self._default
        try:
            return self._to_domain[number]
        except KeyError:
            raise InvalidArgument.of(field, f"{number} is not a known value") from None

    def to_proto(self, value: E) -> P:
        return self._to_proto[value]


def check_mask(
    mask: field_mask_pb2.FieldMask, message: Message, field: str, immutable: set[str]
) -> list[str]:
    """The mask's paths, checked against the message type; "*" stands for every field."""
    paths = list(mask.paths)
    if not paths:
        raise InvalidArgument.of(field, 'is required: name the fields to change, or "*"')
    if paths == ["*"]:
        return paths
    descriptor = cast(Descriptor, message.DESCRIPTOR)
    if not mask.IsValidForDescriptor(descriptor):
        raise InvalidArgument.of(field, f"names a field that does not exist: {', '.join(paths)}")
    for path in paths:
        if path in immutable or any(path.startswith(p + ".") for p in immutable):
            raise InvalidArgument.of(field, f"{path} cannot be changed")
    return paths


def apply_mask(paths: list[str], source: Message, target: Message) -> None:
    """Copies the fields named by `paths` from source into target (messages replaced whole)."""
    if paths == ["*"]:
        target.CopyFrom(source)
        return
    mask = field_mask_pb2.FieldMask(paths=paths)
    mask.MergeMessage(source, target, replace_message_field=True, replace_repeated_field=True)


def id_problem(value: str, noun: str) -> str | None:
    """What is wrong with `value` as a resource id erpmail issued (a decimal number), or None."""
    if not value:
        return "is required"
    if not value.isdigit() or not 0 < int(value) < 2**62:
        return f"is not {noun} id"
    return None


def numeric_id(value: str, field: str, noun: str) -> int:
    """A resource id erpmail issued as a decimal number; INVALID_ARGUMENT naming the field else."""
    problem = id_problem(value, noun)
    if problem is not None:
        raise InvalidArgument.of(field, problem)
    return int(value)
