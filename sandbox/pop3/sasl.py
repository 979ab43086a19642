"""Decoding of the SASL responses POP3's AUTH command carries (RFC 5034): PLAIN and XOAUTH2."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from erpmail.sandbox.pop3 import replies

MECHANISMS = ("PLAIN", "XOAUTH2")
CANCEL = "*"

# What Gmail sends before refusing a bad token; the client answers with an empty line.
XOAUTH2_FAILURE_CHALLENGE = base64.b64encode(
    json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}).encode()
).decode()


class SaslError(Exception):
    """A response that cannot be decoded; `reply` is the -ERR line to send."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class Credentials:
    username: str
    secret: str  # the password (PLAIN) or the access token (XOAUTH2)


def decode_response(text: str) -> bytes:
    """The octets of a base64 client response; '=' stands for an empty one (RFC 5034)."""
    if text == "=":
        return b""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise SaslError(replies.ERR_AUTH_BAD_BASE64) from None


def parse_plain(data: bytes) -> Credentials:
    """RFC 4616: authzid NUL authcid NUL password; the authzid is ignored (no proxy logins)."""
    parts = data.split(b"\0")
    if len(parts) != 3 or not parts[1]:
        raise SaslError(replies.ERR_AUTH_MALFORMED)
    try:
        return Credentials(parts[1].decode("utf-8"), parts[2].decode("utf-8"))
    except UnicodeDecodeError:
        raise SaslError(replies.ERR_AUTH_MALFORMED) from None


def parse_xoauth2(data: bytes) -> Credentials:
    """'user=' USER ^A 'auth=Bearer ' TOKEN ^A ^A, as Google and Microsoft define it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError(replies.ERR_AUTH_MALFORMED) from None
    fields = {}
    for part in text.split("\x01"):
        key, separator, value = part.partition("=")
        if separator:
            fields[key.lower()] = value
    user, auth = fields.get("user", ""), fields.get("auth", "")
    scheme, _, token = auth.partition(" ")
    if not user or scheme.lower() != "bearer" or not token:
        raise SaslError(replies.ERR_AUTH_MALFORMED)
    return Credentials(user, token.strip())
