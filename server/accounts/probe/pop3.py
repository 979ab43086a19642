"""The POP3 incoming server's steps: connect, STLS (if asked for), USER/PASS, STAT."""

from __future__ import annotations

import ssl

from erpmail.server.accounts.probe.steps import (
    CONNECT,
    LOGIN,
    STARTTLS,
    STAT,
    Plan,
    close_grace,
    tls_context,
)
from erpmail.server.accounts.probe.target import ProbeTarget, Security, ServerEndpoint
from erpmail.server.incoming.pop3_client import Pop3Client


class Pop3Probe:
    def __init__(self, target: ProbeTarget, endpoint: ServerEndpoint) -> None:
        self._target = target
        self._endpoint = endpoint
        self._client = Pop3Client(timeout=target.timeout)
        self._context: ssl.SSLContext | None = None

    def plan(self) -> Plan:
        plan: Plan = [(CONNECT, self.connect)]
        if self._endpoint.security == Security.STARTTLS:
            plan.append((STARTTLS, self.starttls))
        plan += [(LOGIN, self.login), (STAT, self.stat)]
        return plan

    async def connect(self) -> str:
        endpoint = self._endpoint
        if endpoint.security != Security.NONE:
            self._context = tls_context(self._target)
        implicit_tls = endpoint.security == Security.SSL_TLS
        greeting = await self._client.connect(
            endpoint.host,
            endpoint.port,
            # With STARTTLS the session starts in the clear; the upgrade is its own step.
            security="ssl" if implicit_tls else "none",
            ssl_context=self._context,
            timeout=self._target.timeout,
        )
        return f"+OK {greeting.text}".rstrip()

    async def starttls(self) -> str:
        await self._client.starttls(self._context)
        return "+OK TLS started"

    async def login(self) -> str:
        endpoint = self._endpoint
        reply = await self._client.login(endpoint.username, endpoint.password)
        return f"+OK {reply.text}".rstrip()

    async def stat(self) -> str:
        count, octets = await self._client.stat()
        return f"+OK {count} {octets}; {count} messages, {octets} octets"

    async def close(self) -> None:
        try:
            if self._client.greeting is not None:
                await self._client.quit(timeout=close_grace(self._target))
        except Exception:
            pass
        finally:
            self._client.close()
