"""Who is calling and which request this is, known to every handler and every log line.

The interceptor in `core.interceptor` sets the RequestContext for each RPC; handlers read it with
`current()`. Access rules (a later concern) hang off the same object, so handlers need no change.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    method: str
    # The acting user: recorded as "created by" / "changed by" on what the request writes.
    actor: str = ANONYMOUS


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
