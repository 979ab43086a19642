"""Starting an SMTP listener of the sandbox."""

from __future__ import annotations

import asyncio
import ssl
import weakref

from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.smtp.replies import DEFAULT_HOSTNAME
from erpmail.sandbox.smtp.session import SandboxSMTP
from erpmail.sandbox.smtp.settings import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_MAX_RECIPIENTS,
    SmtpSettings,
)
from erpmail.sandbox.smtp.transcript import TranscriptLog
from erpmail.sandbox.store import MailStore


async def start_smtp_server(
    store: MailStore,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultEngine | None = None,
    ssl_context: ssl.SSLContext | None = None,
    starttls_context: ssl.SSLContext | None = None,
    auth_required: bool = False,
    auth_require_tls: bool = False,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    max_recipients: int = DEFAULT_MAX_RECIPIENTS,
    transcripts: TranscriptLog | None = None,
    hostname: str = DEFAULT_HOSTNAME,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> asyncio.Server:
    """Listens for SMTP on host:port (0 picks a free port) and returns the serving server.

    `ssl_context` makes this an implicit-TLS listener (port 465 style); `starttls_context`
    offers STARTTLS on a plain one (ignored on an implicit-TLS listener).
    """
    settings = SmtpSettings(
        store=store,
        faults=faults,
        transcripts=transcripts,
        starttls_context=starttls_context,
        implicit_tls=ssl_context is not None,
        auth_required=auth_required,
        auth_require_tls=auth_require_tls,
        max_message_size=max_message_size,
        max_recipients=max_recipients,
        hostname=hostname,
        idle_timeout=idle_timeout,
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SandboxSMTP(settings), host, port, ssl=ssl_context)
    _settings_by_server[server] = settings
    return server


async def stop_smtp_server(server: asyncio.Server) -> None:
    """Stops listening and cuts the sessions still open (Server.close leaves them on 3.11)."""
    server.close()
    settings = _settings_by_server.pop(server, None)
    if settings is not None:
        for transport in list(settings.live_transports):
            if isinstance(transport, asyncio.Transport):
                transport.abort()  # no flushing: a throttled session would take its time
            else:
                transport.close()
        # Each abort reports connection_lost on a later loop iteration; let them all run.
        for _ in range(_ROUNDS_TO_SETTLE):
            if not settings.live_transports:
                break
            await asyncio.sleep(0)
    await server.wait_closed()


_settings_by_server: weakref.WeakKeyDictionary[asyncio.Server, SmtpSettings] = (
    weakref.WeakKeyDictionary()
)
_ROUNDS_TO_SETTLE = 10
