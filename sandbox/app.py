"""The running sandbox: SMTP, IMAP and POP3 (each plain and over TLS) and the gRPC control service,
all on one mail store, one fault engine and one self-signed certificate.

    sandbox = Sandbox(SandboxConfig.ephemeral())
    await sandbox.start()
    ... sandbox.ports["smtp"], sandbox.store, sandbox.faults ...
    await sandbox.stop()

Ports follow GreenMail's layout (3025 SMTP, 3143 IMAP, ...) so tools written for it find the
sandbox where they expect; 0 picks a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from erpmail.sandbox.control import SandboxServicer
from erpmail.sandbox.faults import FaultEngine, Rule
from erpmail.sandbox.imap.server import start_imap_server, stop_imap_server
from erpmail.sandbox.pop3.server import start_pop3_server, stop_pop3_server
from erpmail.sandbox.smtp.server import start_smtp_server, stop_smtp_server
from erpmail.sandbox.smtp.settings import DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_RECIPIENTS
from erpmail.sandbox.smtp.transcript import TranscriptLog
from erpmail.sandbox.store import MailStore, ReceivedMessage, StoreError
from erpmail.sandbox.tls import Certificate, make_self_signed
from erpmail.server.core.interceptor import RequestInterceptor
from erpmail.v1 import sandbox_pb2, sandbox_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORTS = {
    "smtp": 3025,
    "smtps": 3465,
    "pop3": 3110,
    "pop3s": 3995,
    "imap": 3143,
    "imaps": 3993,
    "control": 3050,
}
# Listener names in the order they start (and the order `ports` reports them).
LISTENERS = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "control")
DEFAULT_WAIT_SECONDS = 10.0
# Seconds RPCs in flight and closing listeners get when the sandbox stops.
STOP_GRACE_SECONDS = 2.0

# Starts a mail listener on a port (0: any free one); stops it, ending its open sessions.
_Starter = Callable[[int], Awaitable[asyncio.Server]]
_Stopper = Callable[[asyncio.Server], Awaitable[None]]


@dataclass(frozen=True)
class MailboxSpec:
    """A mailbox to create at start (kept as it is when a persisted store already has it)."""

    address: str
    password: str
    username: str = ""


@dataclass
class SandboxConfig:
    host: str = DEFAULT_HOST
    smtp_port: int = DEFAULT_PORTS["smtp"]
    smtps_port: int = DEFAULT_PORTS["smtps"]
    pop3_port: int = DEFAULT_PORTS["pop3"]
    pop3s_port: int = DEFAULT_PORTS["pop3s"]
    imap_port: int = DEFAULT_PORTS["imap"]
    imaps_port: int = DEFAULT_PORTS["imaps"]
    control_port: int = DEFAULT_PORTS["control"]
    # None keeps the store in memory only.
    store_dir: Path | None = None
    # SMTP refuses MAIL FROM until the client has authenticated.
    auth_required: bool = False
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    fault_rules: Sequence[Rule] = ()
    mailboxes: Sequence[MailboxSpec] = ()
    # Where to write the certificate (PEM) for clients to trust; nowhere when None.
    cert_out: Path | None = None

    @classmethod
    def ephemeral(cls, **overrides: Any) -> SandboxConfig:
        """Every listener on a free port, the store in memory: what tests want."""
        ports: dict[str, Any] = {f"{name}_port": 0 for name in LISTENERS}
        return cls(**{**ports, **overrides})

    def port(self, listener: str) -> int:
        port: int = getattr(self, f"{listener}_port")
        return port


class SandboxStartError(RuntimeError):
    """A listener could not start (most often: its port is taken)."""


class Sandbox:
    """One running sandbox. Also an async context manager (start on enter, stop on exit)."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.store = MailStore(self.config.store_dir)
        self.faults = FaultEngine(self.config.fault_rules)
        self.transcripts = TranscriptLog()
        self.certificate: Certificate = make_self_signed(_certificate_names(self.config.host))
        self.ports: dict[str, int] = {}
        # Each mail listener with the function that stops it and ends its open sessions.
        self._servers: list[tuple[asyncio.Server, _Stopper]] = []
        self._control: _ControlServer | None = None

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def control_address(self) -> str:
        """HOST:PORT of the gRPC control service, as grpc.aio.insecure_channel takes it."""
        return f"{_url_host(self.host)}:{self.ports['control']}"

    async def start(self) -> None:
        """Starts every listener; on any failure stops those already started and raises
        SandboxStartError."""
        if self.config.cert_out is not None:
            try:
                self.certificate.write(self.config.cert_out)
            except OSError as error:
                raise SandboxStartError(
                    f"cannot write the certificate to {self.config.cert_out}: {error.strerror}"
                ) from error
        self._create_mailboxes()
        try:
            await self._start_mail_servers()
            self._control = _ControlServer(self)
            self.ports["control"] = await self._control.start(self.config.port("control"))
        except BaseException:
            await self.stop()
            raise
        log.info("sandbox started", extra={"host": self.host, "ports": self.ports})

    async def stop(self) -> None:
        """Stops the control service (letting calls in flight finish briefly), then the mail
        listeners and their open sessions. Safe to call twice."""
        if self._control is not None:
            await self._control.stop()
            self._control = None
        servers, self._servers = self._servers, []
        await asyncio.gather(*(_stop_within_grace(stop, server) for server, stop in servers))

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def reset(self) -> None:
        """Forgets every mailbox, message, token, fault rule and transcript."""
        self.store.reset()
        self.faults.clear()
        self.transcripts.clear()

    # -- received mail -----------------------------------------------------------------------

    def received_messages(self, recipient: str = "", after_id: int = 0) -> list[ReceivedMessage]:
        """Messages accepted over SMTP, oldest first: those to `recipient` (case-insensitive)
        when given, with an id above `after_id`."""
        wanted = recipient.strip().lower()
        return [
            message
            for message in self.store.received
            if message.id > after_id
            and (not wanted or any(rcpt.lower() == wanted for rcpt in message.rcpt_tos))
        ]

    async def collect_messages(
        self,
        count: int = 1,
        *,
        recipient: str = "",
        after_id: int = 0,
        timeout: float = DEFAULT_WAIT_SECONDS,
    ) -> list[ReceivedMessage]:
        """The matching messages once at least `count` have arrived, or whatever has arrived
        when `timeout` seconds pass (possibly fewer). Woken by the store, never polling."""
        await self.store.wait_for(
            lambda: len(self.received_messages(recipient, after_id)) >= count, timeout
        )
        return self.received_messages(recipient, after_id)

    async def wait_for_messages(
        self,
        count: int = 1,
        *,
        recipient: str = "",
        after_id: int = 0,
        timeout: float = DEFAULT_WAIT_SECONDS,
    ) -> list[ReceivedMessage]:
        """Like collect_messages, but raises TimeoutError if fewer than `count` arrived."""
        messages = await self.collect_messages(
            count, recipient=recipient, after_id=after_id, timeout=timeout
        )
        if len(messages) < count:
            to = f" to {recipient}" if recipient else ""
            raise TimeoutError(
                f"{len(messages)} of {count} messages{to} arrived within {timeout} s"
            )
        return messages

    # -- starting ----------------------------------------------------------------------------

    def _create_mailboxes(self) -> None:
        for spec in self.config.mailboxes:
            if self.store.mailbox_for_address(spec.address) is not None:
                continue  # kept from a previous run of a persisted store
            try:
                self.store.create_mailbox(spec.address, spec.password, spec.username)
            except StoreError as error:
                raise SandboxStartError(f"mailbox {spec.address}: {error}") from None

    async def _start_mail_servers(self) -> None:
        config = self.config
        implicit = self.certificate.server_context()
        upgrade = self.certificate.server_context()

        def smtp(tls: bool) -> _Starter:
            return lambda port: start_smtp_server(
                self.store,
                host=config.host,
                port=port,
                faults=self.faults,
                ssl_context=implicit if tls else None,
                starttls_context=None if tls else upgrade,
                auth_required=config.auth_required,
                max_message_size=config.max_message_size,
                max_recipients=config.max_recipients,
                transcripts=self.transcripts,
            )

        def mailbox_server(start: Callable[..., Awaitable[asyncio.Server]], tls: bool) -> _Starter:
            return lambda port: start(
                self.store,
                host=config.host,
                port=port,
                faults=self.faults,
                ssl_context=implicit if tls else None,
                starttls_context=None if tls else upgrade,
            )

        starters: dict[str, tuple[_Starter, _Stopper]] = {
            "smtp": (smtp(tls=False), stop_smtp_server),
            "smtps": (smtp(tls=True), stop_smtp_server),
            "imap": (mailbox_server(start_imap_server, tls=False), stop_imap_server),
            "imaps": (mailbox_server(start_imap_server, tls=True), stop_imap_server),
            "pop3": (mailbox_server(start_pop3_server, tls=False), stop_pop3_server),
            "pop3s": (mailbox_server(start_pop3_server, tls=True), stop_pop3_server),
        }
        for name, (start, stop) in starters.items():
            port = config.port(name)
            try:
                server = await start(port)
            except OSError as error:
                raise SandboxStartError(
                    f"{name}: cannot listen on {config.host}:{port}: {error.strerror or error}"
                ) from error
            self._servers.append((server, stop))
            self.ports[name] = server.sockets[0].getsockname()[1]


async def _stop_within_grace(stop: _Stopper, server: asyncio.Server) -> None:
    # Python 3.12+ also waits for connections to go; a stuck one must not hold up the rest.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop(server), STOP_GRACE_SECONDS)


class _ControlServer:
    """The gRPC control service with health and reflection, on the sandbox's host."""

    SERVICE = sandbox_pb2.DESCRIPTOR.services_by_name["SandboxService"].full_name

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()

    async def start(self, port: int) -> int:
        server = grpc.aio.server(interceptors=[RequestInterceptor()])
        sandbox_pb2_grpc.add_SandboxServiceServicer_to_server(
            SandboxServicer(self._sandbox), server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (self.SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        address = f"{_url_host(self._sandbox.host)}:{port}"
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError as error:
            raise SandboxStartError(f"control: cannot listen on {address}: {error}") from error
        await server.start()
        self._server = server
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        return bound

    async def stop(self) -> None:
        if self._server is None:
            return
        # Health first, so that load balancers and waiting tests stop sending calls.
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self._server.stop(STOP_GRACE_SECONDS)
        self._server = None

    async def _set_health(
        self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType
    ) -> None:
        for name in ("", self.SERVICE):
            await self._health.set(name, status)


def _certificate_names(host: str) -> tuple[str, ...]:
    """localhost, plus the host the sandbox listens on when it is a name (IPs 127.0.0.1 and ::1
    are always in the certificate)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host and host != "localhost":
            return ("localhost", host)
    return ("localhost",)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
