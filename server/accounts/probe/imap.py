"""The IMAP incoming server's steps: connect, STARTTLS (if asked for), LOGIN, SELECT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from erpmail.server.accounts.probe.steps import (
    CONNECT,
    LOGIN,
    SELECT,
    STARTTLS,
    Plan,
    StepFailed,
    close_grace,
    tls_context,
)
from erpmail.server.accounts.probe.target import ProbeTarget, Security, ServerEndpoint
from erpmail.server.incoming.imap_connection import ImapConnection, ImapError, connect_imap


@contextmanager
def _reported() -> Iterator[None]:
    """ImapError messages are already in the user's terms: they become the step's detail as is."""
    try:
        yield
    except ImapError as exc:
        raise StepFailed(str(exc)) from exc


class ImapProbe:
    def __init__(self, target: ProbeTarget, endpoint: ServerEndpoint) -> None:
        self._target = target
        self._endpoint = endpoint
        self._connection: ImapConnection | None = None

    def plan(self) -> Plan:
        plan: Plan = [(CONNECT, self.connect)]
        if self._endpoint.security == Security.STARTTLS:
            plan.append((STARTTLS, self.starttls))
        plan += [(LOGIN, self.login), (SELECT, self.select)]
        return plan

    @property
    def connection(self) -> ImapConnection:
        assert self._connection is not None, "connect first"
        return self._connection

    async def connect(self) -> str:
        endpoint = self._endpoint
        # With STARTTLS the session starts in the clear; the upgrade is its own step.
        implicit_tls = endpoint.security == Security.SSL_TLS
        context = tls_context(self._target) if implicit_tls else None
        with _reported():
            self._connection = await connect_imap(
                endpoint.host, endpoint.port, ssl_context=context, timeout=self._target.timeout
            )
        return self._connection.greeting

    async def starttls(self) -> str:
        context = tls_context(self._target)
        with _reported():
            return await self.connection.starttls(context)

    async def login(self) -> str:
        if self.connection.state == "AUTH":
            return "already authenticated by the server (PREAUTH)"
        endpoint = self._endpoint
        with _reported():
            return await self.connection.login(endpoint.username, endpoint.password)

    async def select(self) -> str:
        folder = self._target.imap_root_folder or "INBOX"
        with _reported():
            reply, exists = await self.connection.select(folder)
        count = "unknown number of" if exists is None else str(exists)
        return f"{reply}; {count} messages in {folder}"

    async def close(self) -> None:
        if self._connection is None:
            return
        # LOGOUT is a courtesy; logout() closes the connection whether or not it is answered.
        with suppress(Exception):
            await self._connection.logout(timeout=close_grace(self._target))
