"""Opaque page tokens (AIP-158): a token encodes where the previous page ended."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from erpmail.server.core.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(requested: int, field: str = "page_size") -> int:
    if requested < 0:
        raise InvalidArgument.of(field, "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_token(token: str, field: str = "page_token") -> dict[str, Any] | None:
    """The position a token encodes, None for the first page; INVALID_ARGUMENT if forged."""
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        raise InvalidArgument.of(field, "is not a token this server issued") from None
    if not isinstance(position, dict):
        raise InvalidArgument.of(field, "is not a token this server issued")
    return position


def after_key(token: str) -> str:
    """Where a list ordered by a text key resumes: the key the previous page ended with."""
    position = decode_token(token) or {}
    return str(position.get("after", ""))


def before_id(token: str) -> int | None:
    """Where a newest-first list resumes: the id the previous page ended with (None: start)."""
    before = (decode_token(token) or {}).get("before")
    return before if isinstance(before, int) else None


def next_page_token(keys: Sequence[str | int], size: int) -> str:
    """The token for the page after one read with size + 1 rows ("" when it was the last).

    Text keys resume "after" (ascending lists), integer ids "before" (newest first).
    """
    if len(keys) <= size:
        return ""
    last = keys[size - 1]
    return encode_token({"before": last} if isinstance(last, int) else {"after": last})
