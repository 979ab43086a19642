"""Turns a call's `authorization: Bearer <secret>` into the role and acting user it may use.

Every call looks its key up in the database (one primary-key read): nothing is cached, so a
revocation refuses the very next call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from erpmail.server.auth.models import ApiKey, key_id_of, matches
from erpmail.server.auth.ratelimit import RateLimiter
from erpmail.server.auth.store import ApiKeyStore
from erpmail.server.core.context import Role
from erpmail.server.core.errors import PermissionDenied
from erpmail.server.core.interceptor import ACTOR_KEY, Caller
from erpmail.server.core.status import Refused, rate_limited, unauthenticated

log = logging.getLogger("erpmail.auth")

AUTHORIZATION_KEY = "authorization"
BEARER = "bearer "


class Authenticator:
    def __init__(self, store: ApiKeyStore, limiter: RateLimiter) -> None:
        self._store = store
        self._limiter = limiter

    async def __call__(self, metadata: Mapping[str, str]) -> Caller:
        key = await self._key(metadata.get(AUTHORIZATION_KEY, ""))
        retry_after = self._limiter.take(key.key_id)
        if retry_after > 0:
            raise Refused(rate_limited(retry_after))
        return Caller(key.role, acting_user(key, metadata.get(ACTOR_KEY, "")), key.key_id)

    async def _key(self, authorization: str) -> ApiKey:
        secret = authorization[len(BEARER) :].strip() if _is_bearer(authorization) else ""
        key_id = key_id_of(secret)
        found = await self._store.for_authentication(key_id) if key_id else None
        if found is None or found[0].revoked or not matches(secret, found[1]):
            # key_id is not secret (it is hex checked by key_id_of): it says which key failed.
            log.info("call refused: no valid API key", extra={"key_id": key_id or ""})
            raise Refused(unauthenticated())
        return found[0]


def _is_bearer(authorization: str) -> bool:
    return authorization[: len(BEARER)].lower() == BEARER


def acting_user(key: ApiKey, named: str) -> str:
    """The acting user of a call made with `key` naming `named` in x-erpmail-actor ("" if none).

    A user key acts as its own user only; admin and service keys act for whom they name (an ERP
    back end names the user it serves), else under the key's own name.
    """
    if key.role is Role.USER:
        if named and named != key.user_id:
            raise PermissionDenied(
                "ACTOR_NOT_ALLOWED",
                "actor",
                [named],
                "a user key acts only as its own user",
            )
        return key.user_id
    return named or key.name
