"""API keys as the domain sees them, and the secrets that stand for them.

A secret is "erpm_<key_id>_<32 random bytes, urlsafe>". The key_id in it finds the stored key in
one lookup; the random part is what proves possession. Only SHA-256 of the secret is stored:
the secret has 256 bits of entropy, so a fast hash cannot be brute-forced and a slow password hash
(bcrypt, scrypt) would only cost time on every call.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from erpmail.server.core.context import Role
from erpmail.server.core.errors import Violations

PREFIX = "erpm_"
KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
NAME_MAX = 200


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: Role
    user_id: str
    create_time: datetime
    created_by: str
    revoked_time: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_time is not None


@dataclass(frozen=True)
class NewKey:
    """What a caller asks for; checked by `validate`."""

    name: str
    role: Role | None
    user_id: str


def validate(new: NewKey, field: str = "api_key") -> Role:
    """The key's role; INVALID_ARGUMENT naming every bad field otherwise."""
    problems = Violations()
    problems.check(bool(new.name.strip()), f"{field}.name", "is required")
    problems.check(len(new.name) <= NAME_MAX, f"{field}.name", f"is longer than {NAME_MAX}")
    problems.check(new.role is not None, f"{field}.role", "is required")
    if new.role is Role.USER:
        problems.check(bool(new.user_id), f"{field}.user_id", "is required for a user key")
    elif new.user_id:
        problems.add(f"{field}.user_id", "is only for user keys")
    problems.raise_if_any()
    assert new.role is not None
    return new.role


def new_key_id() -> str:
    return secrets.token_hex(8)


def make_secret(key_id: str) -> str:
    return f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def key_id_of(secret: str) -> str | None:
    """The key_id a secret names, or None when it is not shaped like one of ours."""
    if not secret.startswith(PREFIX):
        return None
    key_id, sep, rest = secret.removeprefix(PREFIX).partition("_")
    if not sep or not rest or not KEY_ID_RE.match(key_id):
        return None
    return key_id


def matches(secret: str, stored_hash: bytes) -> bool:
    # Constant time, so that response times tell nothing about how much of a guess was right.
    return hmac.compare_digest(hash_secret(secret), stored_hash)
