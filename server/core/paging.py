"""Opaque page tokens (AIP-158): a token encodes where the previous page ended."""

from __future__ import annotations

import base64
import json
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
