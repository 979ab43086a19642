"""Decoding of SASL client responses (PLAIN, LOGIN, XOAUTH2): pure functions, no I/O."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass


class AuthDecodeError(ValueError):
    """The client's response is not valid base64 or not in the mechanism's format."""

    def __init__(self, message: str, *, bad_base64: bool = False) -> None:
        super().__init__(message)
        self.bad_base64 = bad_base64


@dataclass(frozen=True)
class Credentials:
    mechanism: str
    username: str
    secret: str  # a password, or an access token for XOAUTH2

    def __repr__(self) -> str:  # the secret must never reach a log through a repr
        return f"Credentials({self.mechanism!r}, {self.username!r}, secret=<redacted>)"


def decode_base64(blob: bytes | str) -> bytes:
    """RFC 4954 responses are strict base64; '=' alone is an empty response."""
    raw = blob.encode("ascii", "replace") if isinstance(blob, str) else blob
    raw = raw.strip()
    if raw == b"=":
        return b""
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise AuthDecodeError("not valid base64", bad_base64=True) from None


def parse_plain(decoded: bytes) -> Credentials:
    """RFC 4616: [authzid] NUL authcid NUL passwd."""
    parts = decoded.split(b"\x00")
    if len(parts) != 3 or not parts[1]:
        raise AuthDecodeError("PLAIN needs authzid NUL user NUL password")
    return Credentials("PLAIN", _text(parts[1]), _text(parts[2]))


def parse_xoauth2(decoded: bytes) -> Credentials:
    """Google's format: 'user=' USER ^A 'auth=Bearer ' TOKEN ^A ^A."""
    fields: dict[str, str] = {}
    for item in decoded.split(b"\x01"):
        if item:
            key, separator, value = _text(item).partition("=")
            if not separator:
                raise AuthDecodeError("XOAUTH2 fields are key=value")
            fields[key.lower()] = value
    user = fields.get("user", "")
    scheme, _, token = fields.get("auth", "").partition(" ")
    if not user or scheme.lower() != "bearer" or not token:
        raise AuthDecodeError("XOAUTH2 needs user= and auth=Bearer")
    return Credentials("XOAUTH2", user, token.strip())


def xoauth2_error_challenge() -> bytes:
    """The base64 JSON a provider sends as a 334 challenge when a token is refused."""
    error = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
    return base64.b64encode(json.dumps(error).encode())


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")
