"""Turning proto values into short words for people, and people's words back into protos."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from datetime import UTC
from email.utils import formataddr, parseaddr
from typing import Any

from erpmail.v1 import emails_pb2
from google.protobuf.timestamp_pb2 import Timestamp


def _prefix(enum: Any) -> str:
    """EMAIL_STATUS_ for EmailStatus: erpmail's enums prefix their values with their name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.DESCRIPTOR.name).upper() + "_"


def word(enum: Any, value: int) -> str:
    """EMAIL_STATUS_PENDING -> "pending", ACCOUNT_USAGE_SEND_ONLY -> "send-only"."""
    try:
        name: str = enum.Name(value)
    except ValueError:
        return str(value)
    return name.removeprefix(_prefix(enum)).lower().replace("_", "-")


def words(enum: Any) -> list[str]:
    """Every value but UNSPECIFIED, as `word` writes it: the choices of an option."""
    return [word(enum, v) for v in enum.values() if v != 0]


def value_of(enum: Any, text: str) -> int:
    """The enum value a word names; argparse's `choices` has refused other words already."""
    number: int = enum.Value(_prefix(enum) + text.upper().replace("-", "_"))
    return number


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def host_port(text: str) -> tuple[str, int]:
    """argparse type: "host:port", "[::1]:25" or "host" (port 0: the protocol's standard port)."""
    match = re.fullmatch(
        r"\[(?P<v6>[^\]]+)\](?::(?P<p6>\d+))?|(?P<host>[^:\[\]]+)(?::(?P<p>\d+))?", text
    )
    if not match:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    host = match["v6"] or match["host"]
    port = int(match["p6"] or match["p"] or 0)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"port {port} is over 65535")
    return host, port


def server(host: str, port: int) -> str:
    if not host:
        return ""
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown


def address(text: str) -> emails_pb2.Address:
    """ "Ann <ann@example.com>" or a bare address."""
    name, addr = parseaddr(text)
    return emails_pb2.Address(address=addr or text.strip(), name=name)


def addresses(values: Iterable[str] | None) -> list[emails_pb2.Address]:
    """Repeated options, each of which may hold several addresses separated by commas."""
    return [address(part) for value in values or () for part in comma_list(value)]


def shown(values: Iterable[emails_pb2.Address]) -> str:
    return ", ".join(formataddr((a.name, a.address)) if a.name else a.address for a in values)


def when(stamp: Timestamp) -> str:
    """Local time to the second; empty when the timestamp is not set."""
    if not stamp.seconds and not stamp.nanos:
        return ""
    return stamp.ToDatetime(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
