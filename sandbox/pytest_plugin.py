"""pytest plugin: the `erpmail_sandbox` fixture, a real SMTP/IMAP/POP3 sandbox for each test.

Installed with erpmail (entry point `erpmail_sandbox`). The sandbox listens on free ports of
127.0.0.1, keeps its mail in memory and runs on the test's event loop, so talk to it with async
clients (aiosmtplib, aioimaplib) or from a thread (`asyncio.to_thread`), never with a blocking
client called directly from the async test.

    import aiosmtplib

    async def test_invoice_mail_reaches_the_customer(erpmail_sandbox):
        erpmail_sandbox.create_mailbox("buyer@shop.test", "secret")
        message = b"Subject: Invoice 42\r\n\r\nPlease find it attached."
        await aiosmtplib.send(message, sender="erp@example.com", recipients=["buyer@shop.test"],
                              hostname="127.0.0.1", port=erpmail_sandbox.smtp_port,
                              tls_context=erpmail_sandbox.client_ssl_context())  # trust its cert
        [received] = await erpmail_sandbox.wait_for_messages(1, timeout=5)
        assert received.rcpt_tos == ["buyer@shop.test"] and received.tls

To change the sandbox (auth required, fault rules, ...), override `erpmail_sandbox_config` with a
fixture returning `SandboxConfig.ephemeral(auth_required=True)`. `erpmail_sandbox.stub` is a
ready SandboxService gRPC stub (grpc.aio) for everything else.

This module imports nothing heavy until a test asks for the fixture, so it costs nothing in test
runs that do not use it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    import ssl

    import grpc
    from erpmail.sandbox.app import Sandbox, SandboxConfig
    from erpmail.sandbox.faults import FaultEngine
    from erpmail.sandbox.store import Mailbox, MailStore, ReceivedMessage
    from erpmail.v1.sandbox_pb2_grpc import SandboxServiceAsyncStub

F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(function: F) -> F:
    """pytest-asyncio's fixture decorator when installed (so strict mode runs the fixture too),
    else pytest's own (for anyio's plugin, or a project's own runner)."""
    decorate: Any
    try:
        from pytest_asyncio import fixture as decorate
    except ImportError:  # pragma: no cover
        decorate = pytest.fixture
    return cast(F, decorate(function))


class SandboxFixture:
    """A started sandbox with shortcuts for tests; `.sandbox` is the Sandbox itself."""

    def __init__(self, sandbox: Sandbox, channel: grpc.aio.Channel) -> None:
        from erpmail.v1 import sandbox_pb2_grpc

        self.sandbox = sandbox
        self.channel = channel
        self.stub: SandboxServiceAsyncStub = sandbox_pb2_grpc.SandboxServiceStub(channel)

    @property
    def host(self) -> str:
        return self.sandbox.host

    @property
    def store(self) -> MailStore:
        return self.sandbox.store

    @property
    def faults(self) -> FaultEngine:
        return self.sandbox.faults

    @property
    def smtp_port(self) -> int:
        return self.sandbox.ports["smtp"]

    @property
    def smtps_port(self) -> int:
        return self.sandbox.ports["smtps"]

    @property
    def imap_port(self) -> int:
        return self.sandbox.ports["imap"]

    @property
    def imaps_port(self) -> int:
        return self.sandbox.ports["imaps"]

    @property
    def pop3_port(self) -> int:
        return self.sandbox.ports["pop3"]

    @property
    def pop3s_port(self) -> int:
        return self.sandbox.ports["pop3s"]

    @property
    def control_address(self) -> str:
        return self.sandbox.control_address

    @property
    def certificate_pem(self) -> bytes:
        return self.sandbox.certificate.cert_pem

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the sandbox's self-signed certificate."""
        return self.sandbox.certificate.client_context()

    def create_mailbox(self, address: str, password: str, username: str = "") -> Mailbox:
        return self.store.create_mailbox(address, password, username)

    def add_fault(self, spec: str) -> str:
        """Adds a rule in --fault form ("smtp.rcpt_to recipient=x@y reply=550"); its id."""
        from erpmail.sandbox.faults import parse_rule_spec

        return self.faults.add(parse_rule_spec(spec))

    @property
    def received(self) -> list[ReceivedMessage]:
        """Every message accepted over SMTP so far, oldest first."""
        return self.sandbox.received_messages()

    async def wait_for_messages(
        self, count: int = 1, *, recipient: str = "", timeout: float = 10.0
    ) -> list[ReceivedMessage]:
        """The messages (to `recipient`, when given) once `count` have arrived over SMTP;
        TimeoutError if they do not within `timeout` seconds."""
        return await self.sandbox.wait_for_messages(count, recipient=recipient, timeout=timeout)


@pytest.fixture
def erpmail_sandbox_config() -> SandboxConfig:
    """How `erpmail_sandbox` is configured; override it to change that."""
    from erpmail.sandbox.app import SandboxConfig

    return SandboxConfig.ephemeral()


@_async_fixture
async def erpmail_sandbox(erpmail_sandbox_config: SandboxConfig) -> AsyncIterator[SandboxFixture]:
    """A running sandbox on free ports, stopped after the test."""
    import grpc
    from erpmail.sandbox.app import Sandbox

    sandbox = Sandbox(erpmail_sandbox_config)
    await sandbox.start()
    channel = grpc.aio.insecure_channel(sandbox.control_address)
    try:
        yield SandboxFixture(sandbox, channel)
    finally:
        await channel.close()
        await sandbox.stop()


__all__ = ["SandboxFixture", "erpmail_sandbox", "erpmail_sandbox_config"]
