"""The account connection test ("Test" / "Check the account"): talk to the account's servers.

Each server is walked through the steps a real session takes (connect, TLS, greeting, log in,
open the mailbox, optionally send a test email) and every step is reported with the server's reply
or the reason it failed. A failure ends that server's walk; the other server is still tried.
Nothing here raises for a network problem and nothing waits longer than the target's timeout per
step, so a dead, silent or misconfigured server always comes back as a failed step.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from enum import StrEnum
from typing import Any, Literal, Protocol, cast

import aiosmtplib
from aioimaplib.aioimaplib import Command, IMAP4ClientProtocol, extract_exists, quoted
from erpmail.server.incoming.pop3_client import Pop3Client
from erpmail.server.incoming.pop3_client import Security as Pop3Security

ServerRole = Literal["outgoing", "incoming"]
OUTGOING: ServerRole = "outgoing"
INCOMING: ServerRole = "incoming"

# Step names (shown to the user next to each result).
CONNECT = "connect"
STARTTLS = "starttls"
EHLO = "ehlo"
AUTH = "auth"
SEND_TEST_EMAIL = "send test email"
LOGIN = "login"
SELECT = "select"
STAT = "stat"

TEST_SUBJECT = "erpmail account test"
TEST_BODY = (
    "This message was sent by erpmail to check the outgoing server settings of this account.\n"
    "It can be deleted.\n"
)
# QUIT / LOGOUT are a courtesy: a server that does not answer them quickly is just disconnected.
CLOSE_GRACE_SECONDS = 2.0
MAX_DETAIL_CHARS = 400
SECRET_MASK = "********"


class Security(StrEnum):
    NONE = "none"
    SSL_TLS = "ssl_tls"
    STARTTLS = "starttls"


@dataclass(frozen=True)
class ServerEndpoint:
    host: str
    port: int
    security: Security
    username: str
    password: str  # may be ""

    def __repr__(self) -> str:
        # Keeps the password out of tracebacks and log lines that print the target.
        return (
            f"ServerEndpoint(host={self.host!r}, port={self.port}, security={self.security!s}, "
            f"username={self.username!r}, password=...)"
        )


@dataclass(frozen=True)
class ProbeTarget:
    outgoing: ServerEndpoint | None  # None: the account does not send
    outgoing_requires_auth: bool
    incoming: ServerEndpoint | None  # None: the account does not receive
    incoming_protocol: Literal["imap", "pop3"] | None
    imap_root_folder: str  # "" means INBOX
    email_address: str
    display_name: str
    # An extra certificate (a private CA or the server's self-signed one) trusted besides the
    # system CAs. Certificates and host names are always verified.
    trusted_certificate_pem: str
    timeout: float = 10.0


@dataclass(frozen=True)
class Step:
    server: ServerRole
    name: str
    ok: bool
    detail: str  # the server's reply, or why the step failed; never a password


async def probe_account(target: ProbeTarget, *, send_test_email: bool = False) -> list[Step]:
    """Tests the account's outgoing and incoming servers (at the same time); outgoing first."""
    secrets = [e.password for e in (target.outgoing, target.incoming) if e and e.password]
    runs: list[Awaitable[list[Step]]] = []
    if target.outgoing is not None:
        smtp = _SmtpProbe(target, target.outgoing, send_test_email)
        runs.append(_walk(OUTGOING, smtp, target.timeout, secrets))
    if target.incoming is not None:
        incoming: _ServerProbe
        if target.incoming_protocol == "imap":
            incoming = _ImapProbe(target, target.incoming)
        elif target.incoming_protocol == "pop3":
            incoming = _Pop3Probe(target, target.incoming)
        else:
            incoming = _Unconfigured("no incoming protocol (IMAP or POP3) is chosen")
        runs.append(_walk(INCOMING, incoming, target.timeout, secrets))
    results = await asyncio.gather(*runs)
    return [step for steps in results for step in steps]


# -- running the steps ------------------------------------------------------------------------

Action = Callable[[], Awaitable[str]]


class StepFailed(Exception):
    """A step the server answered, but not with success; the detail says what it said."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _ServerProbe(Protocol):
    def plan(self) -> list[tuple[str, Action]]: ...

    async def close(self) -> None: ...


async def _walk(
    server: ServerRole, probe: _ServerProbe, timeout: float, secrets: list[str]
) -> list[Step]:
    steps: list[Step] = []

    def record(name: str, ok: bool, detail: str) -> None:
        steps.append(Step(server, name, ok, _clean(detail, secrets)))

    plan = probe.plan()
    # Each step is bounded by `timeout`; this outer bound only guards against a step that
    # somehow escapes its own (the probe as a whole must never hang).
    budget = timeout * (len(plan) + 1)
    current = ""
    try:
        async with asyncio.timeout(budget):
            for name, action in plan:
                current = name
                ok, detail = await _attempt(name, action, timeout)
                current = ""
                record(name, ok, detail)
                if not ok:
                    break
    except TimeoutError:
        record(current or "probe", False, f"timed out after {budget:g} s")
    except Exception as exc:  # a bug here must still come back as a result, not a crash
        record(current or "probe", False, f"unexpected error: {_describe(exc)}")
    finally:
        try:
            async with asyncio.timeout(CLOSE_GRACE_SECONDS * 2):
                await probe.close()
        except Exception:
            pass  # the connection is gone either way
    return steps


async def _attempt(name: str, action: Action, timeout: float) -> tuple[bool, str]:
    try:
        async with asyncio.timeout(timeout):
            return True, await action()
    except StepFailed as failure:
        return False, failure.detail
    except TimeoutError:
        waiting = " waiting for the server to answer" if name == CONNECT else ""
        return False, f"timed out after {timeout:g} s{waiting}"
    except Exception as exc:
        return False, _describe(exc)


def _describe(exc: BaseException) -> str:
    """A short, user-facing reason for a failed network operation."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS handshake failed: certificate verify failed: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            reason = str(cause.reason or cause)
            if reason == "WRONG_VERSION_NUMBER":
                return "TLS handshake failed: the server did not answer in TLS (plain-text port?)"
            return f"TLS handshake failed: {reason.replace('_', ' ').lower()}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"host not found ({cause.strerror})"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return "connection reset by the server"
        if isinstance(cause, EOFError | aiosmtplib.SMTPServerDisconnected):
            return "connection closed by the server"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
    return str(exc) or type(exc).__name__


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _clean(detail: str, secrets: list[str]) -> str:
    for secret in secrets:
        detail = detail.replace(secret, SECRET_MASK)
    detail = " ".join(detail.split())
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 3] + "..."
    return detail


def _grace(target: ProbeTarget) -> float:
    return min(CLOSE_GRACE_SECONDS, target.timeout)


def _tls_context(trusted_certificate_pem: str) -> ssl.SSLContext:
    context = ssl.create_default_context()  # system CAs, host name checked
    if trusted_certificate_pem.strip():
        try:
            context.load_verify_locations(cadata=trusted_certificate_pem)
        except (ssl.SSLError, ValueError) as exc:
            reason = f"the trusted certificate is not a valid PEM certificate: {exc}"
            raise StepFailed(reason) from exc
    return context


class _Unconfigured:
    def __init__(self, reason: str) -> None:
        self._reason = reason

    def plan(self) -> list[tuple[str, Action]]:
        return [(CONNECT, self.connect)]

    async def connect(self) -> str:
        raise StepFailed(self._reason)

    async def close(self) -> None:
        pass


# -- outgoing: SMTP ---------------------------------------------------------------------------


def _smtp_reply(response: aiosmtplib.SMTPResponse) -> str:
    return f"{response.code} {'; '.join(response.message.splitlines())}"


class _SmtpProbe:
    def __init__(self, target: ProbeTarget, endpoint: ServerEndpoint, send: bool) -> None:
        self._target = target
        self._endpoint = endpoint
        self._send = send
        self._smtp: aiosmtplib.SMTP | None = None

    def plan(self) -> list[tuple[str, Action]]:
        plan: list[tuple[str, Action]] = [(CONNECT, self.connect)]
        if self._endpoint.security == Security.STARTTLS:
            plan.append((STARTTLS, self.starttls))
        plan.append((EHLO, self.ehlo))
        if self._target.outgoing_requires_auth:
            plan.append((AUTH, self.auth))
        if self._send:
            plan.append((SEND_TEST_EMAIL, self.send_test_email))
        return plan

    @property
    def smtp(self) -> aiosmtplib.SMTP:
        assert self._smtp is not None, "connect first"
        return self._smtp

    async def connect(self) -> str:
        endpoint = self._endpoint
        context = None
        if endpoint.security != Security.NONE:
            context = _tls_context(self._target.trusted_certificate_pem)
        self._smtp = aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            use_tls=endpoint.security == Security.SSL_TLS,
            start_tls=False,  # STARTTLS is its own step, and never attempted unless asked for
            tls_context=context,
            timeout=self._target.timeout,
        )
        return _smtp_reply(await self._smtp.connect())

    async def starttls(self) -> str:
        # aiosmtplib sends the EHLO that must precede STARTTLS itself.
        return _smtp_reply(await self.smtp.starttls())

    async def ehlo(self) -> str:
        return _smtp_reply(await self.smtp.ehlo())

    async def auth(self) -> str:
        if not self.smtp.supports_extension("auth"):
            hint = " before TLS" if self._endpoint.security == Security.NONE else ""
            raise StepFailed(f"the server offers no authentication (AUTH){hint}")
        endpoint = self._endpoint
        return _smtp_reply(await self.smtp.login(endpoint.username, endpoint.password))

    async def send_test_email(self) -> str:
        message = _test_message(self._target)
        address = self._target.email_address
        await self.smtp.mail(address)
        await self.smtp.rcpt(address)
        response = await self.smtp.data(message.as_bytes(policy=SMTP_POLICY))
        return f"{_smtp_reply(response)} ({message['Message-ID']})"

    async def close(self) -> None:
        smtp = self._smtp
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit(timeout=_grace(self._target))
        except Exception:
            pass
        finally:
            smtp.close()


def _test_message(target: ProbeTarget) -> EmailMessage:
    address = target.email_address
    domain = address.rpartition("@")[2] or "erpmail.invalid"
    message = EmailMessage()
    message["From"] = Address(display_name=target.display_name, addr_spec=address)
    message["To"] = Address(addr_spec=address)
    message["Subject"] = TEST_SUBJECT
    message["Date"] = formatdate(localtime=True)
    # Short enough that the header is never folded (some servers mangle folded Message-IDs).
    message["Message-ID"] = f"<{uuid.uuid4().hex}.erpmail-test@{domain}>"
    message.set_content(TEST_BODY)
    return message


# -- incoming: IMAP ---------------------------------------------------------------------------


class _ImapProtocol(IMAP4ClientProtocol):  # type: ignore[misc]  # aioimaplib is untyped
    """aioimaplib's protocol, remembering the greeting and turning silence into an answer.

    aioimaplib leaves a command waiting forever when the connection drops or the greeting is
    refused; `trouble` resolves in those cases so a waiting step can end with the reason.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.greeting = ""
        self.trouble: asyncio.Future[str] = loop.create_future()

    async def welcome(self, command: bytes) -> None:
        self.greeting = command.decode(errors="replace")
        if not self.greeting.startswith("* "):  # aioimaplib would take "+OK" (POP3) for OK
            self._report(f"not an IMAP server: {self.greeting}")
            return
        try:
            await super().welcome(command)
        except Exception as exc:
            self._report(f"the server refused the session: {self.greeting or exc}")

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._report("connection closed by the server")

    def _report(self, reason: str) -> None:
        if not self.trouble.done():
            self.trouble.set_result(reason)


def _imap_reply(response: object) -> tuple[str, str]:
    """(result, text of the tagged reply) of an aioimaplib Response."""
    result = str(getattr(response, "result", ""))
    lines = cast(list[bytes], getattr(response, "lines", []))
    text = lines[-1].decode(errors="replace") if lines else ""
    return result, text


def _imap_mailbox_name(name: str) -> str:
    """A folder name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return cast(str, quoted("".join(out)))


class _ImapProbe:
    def __init__(self, target: ProbeTarget, endpoint: ServerEndpoint) -> None:
        self._target = target
        self._endpoint = endpoint
        self._protocol: _ImapProtocol | None = None
        self._transport: asyncio.BaseTransport | None = None

    def plan(self) -> list[tuple[str, Action]]:
        plan: list[tuple[str, Action]] = [(CONNECT, self.connect)]
        if self._endpoint.security == Security.STARTTLS:
            plan.append((STARTTLS, self.starttls))
        plan += [(LOGIN, self.login), (SELECT, self.select)]
        return plan

    @property
    def protocol(self) -> _ImapProtocol:
        assert self._protocol is not None, "connect first"
        return self._protocol

    async def _answer(self, operation: Awaitable[object]) -> object:
        """The operation's result, unless the connection fails first (then StepFailed)."""
        task = asyncio.ensure_future(operation)
        waiters: set[asyncio.Future[Any]] = {task, self.protocol.trouble}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
        if task.done() and not task.cancelled():
            return task.result()
        raise StepFailed(self.protocol.trouble.result())

    async def connect(self) -> str:
        endpoint = self._endpoint
        loop = asyncio.get_running_loop()
        self._protocol = _ImapProtocol(loop)
        protocol = self._protocol
        if endpoint.security == Security.SSL_TLS:
            context = _tls_context(self._target.trusted_certificate_pem)
            self._transport, _ = await loop.create_connection(
                lambda: protocol,
                endpoint.host,
                endpoint.port,
                ssl=context,
                ssl_handshake_timeout=self._target.timeout,
            )
        else:
            self._transport, _ = await loop.create_connection(
                lambda: protocol, endpoint.host, endpoint.port
            )
        await self._answer(protocol.wait("AUTH|NONAUTH"))
        return protocol.greeting

    async def starttls(self) -> str:
        protocol = self.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise StepFailed("the server does not offer STARTTLS")
        context = _tls_context(self._target.trusted_certificate_pem)
        loop = asyncio.get_running_loop()
        command = Command("STARTTLS", protocol.new_tag(), loop=loop)
        result, text = _imap_reply(await self._answer(protocol.execute(command)))
        if result != "OK":
            raise StepFailed(f"{result} {text}")
        assert self._transport is not None
        self._transport = await loop.start_tls(
            cast(asyncio.WriteTransport, self._transport),
            protocol,
            context,
            server_hostname=self._endpoint.host,
            ssl_handshake_timeout=self._target.timeout,
        )
        protocol.transport = self._transport
        # RFC 3501 6.2.1: what the server said before TLS is forgotten; ask again.
        await self._answer(protocol.capability())
        return f"{result} {text}"

    async def login(self) -> str:
        protocol = self.protocol
        if protocol.state == "AUTH":
            return "already authenticated by the server (PREAUTH)"
        endpoint = self._endpoint
        # aioimaplib sends the user name as given; quoting keeps spaces and specials intact.
        response = await self._answer(protocol.login(quoted(endpoint.username), endpoint.password))
        result, text = _imap_reply(response)
        if result != "OK":
            raise StepFailed(f"{result} {text}")
        return f"{result} {text}"

    async def select(self) -> str:
        folder = self._target.imap_root_folder or "INBOX"
        response = await self._answer(self.protocol.select(_imap_mailbox_name(folder)))
        result, text = _imap_reply(response)
        if result != "OK":
            raise StepFailed(f"{result} {text}")
        exists = extract_exists(response)
        count = "unknown number of" if exists is None else str(exists)
        return f"{result} {text}; {count} messages in {folder}"

    async def close(self) -> None:
        protocol = self._protocol
        if protocol is None:
            return
        try:
            if protocol.state in ("NONAUTH", "AUTH", "SELECTED") and not protocol.trouble.done():
                async with asyncio.timeout(_grace(self._target)):
                    await self._answer(protocol.logout())
        except Exception:
            pass
        finally:
            for task in list(protocol.tasks):
                task.cancel()
            if self._transport is not None:
                self._transport.close()


# -- incoming: POP3 ---------------------------------------------------------------------------


class _Pop3Probe:
    def __init__(self, target: ProbeTarget, endpoint: ServerEndpoint) -> None:
        self._target = target
        self._endpoint = endpoint
        self._client = Pop3Client(timeout=target.timeout)
        self._stls_failure: Exception | None = None

    def plan(self) -> list[tuple[str, Action]]:
        plan: list[tuple[str, Action]] = [(CONNECT, self.connect)]
        if self._endpoint.security == Security.STARTTLS:
            plan.append((STARTTLS, self.starttls))
        plan += [(LOGIN, self.login), (STAT, self.stat)]
        return plan

    async def connect(self) -> str:
        endpoint = self._endpoint
        context = None
        if endpoint.security != Security.NONE:
            context = _tls_context(self._target.trusted_certificate_pem)
        try:
            greeting = await self._client.connect(
                endpoint.host,
                endpoint.port,
                security=_POP3_SECURITY[endpoint.security],
                ssl_context=context,
                timeout=self._target.timeout,
            )
        except Exception as exc:
            # Pop3Client does STLS inside connect; once the greeting was read, a failure is
            # the STLS step's, and is reported there.
            if self._client.greeting is None or endpoint.security != Security.STARTTLS:
                raise
            self._stls_failure = exc
            greeting = self._client.greeting
        return f"+OK {greeting.text}".rstrip()

    async def starttls(self) -> str:
        if self._stls_failure is not None:
            raise self._stls_failure
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
                await self._client.quit(timeout=_grace(self._target))
        except Exception:
            pass
        finally:
            self._client.close()


_POP3_SECURITY: dict[Security, Pop3Security] = {
    Security.NONE: "none",
    Security.SSL_TLS: "ssl",
    Security.STARTTLS: "starttls",
}


__all__ = [
    "ProbeTarget",
    "Security",
    "ServerEndpoint",
    "Step",
    "probe_account",
]
