"""Who is calling and which request this is, known to every handler and every log line.

The interceptor in `core.interceptor` sets the RequestContext for each RPC; handlers read it with
`current()`. Access rules (a later concern) hang off the same object, so handlers need no change.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from enum import StrEnum

ANONYMOUS = "anonymous"


class Role(StrEnum):
    """What a caller may do: an admin everything; a service acts for the user it names; a user
    acts as itself and sees only the accounts it is a member of."""

    ADMIN = "admin"
    SERVICE = "service"
    USER = "user"


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    method: str
    # The acting user: recorded as "created by" / "changed by" on what the request writes.
    actor: str = ANONYMOUS
    # Without API keys (a development server) every caller is trusted as an admin.
    role: Role = Role.ADMIN

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "erpmail_request", default=None
)

SYSTEM = RequestContext(request_id="", method="", actor="system")


def current() -> RequestContext:
    """The context of the RPC being served; the system's own context outside any RPC."""
    return _current.get() or SYSTEM


def bind(context: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(context)


def unbind(token: contextvars.Token[RequestContext | None]) -> None:
    try:
        _current.reset(token)
    except ValueError:
        # A streaming handler closed from another task: its context is gone with it anyway.
        _current.set(None)
