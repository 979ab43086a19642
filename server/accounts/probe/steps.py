"""Walking one server through its steps, and turning every outcome into a `Step` a user can read.

A protocol module (smtp, imap, pop3) only says which steps there are and what each one does;
this module bounds each step by the target's timeout, stops at the first failure, always closes the
connection, words errors for people, and masks the account's passwords in whatever a server said.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

import aiosmtplib
from erpmail.server.accounts.probe.target import ProbeTarget
from erpmail.server.core.tls import TrustedCertificateError, client_context

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

# QUIT / LOGOUT are a courtesy: a server that does not answer them quickly is just disconnected.
CLOSE_GRACE_SECONDS = 2.0
MAX_DETAIL_CHARS = 400
SECRET_MASK = "********"


@dataclass(frozen=True)
class Step:
    server: ServerRole
    name: str
    ok: bool
    detail: str  # the server's reply, or why the step failed; never a password


Action = Callable[[], Awaitable[str]]
Plan = list[tuple[str, Action]]


class StepFailed(Exception):
    """A step the server answered, but not with success; the detail says what it said."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ServerProbe(Protocol):
    def plan(self) -> Plan: ...

    async def close(self) -> None: ...


async def walk(
    server: ServerRole, probe: ServerProbe, timeout: float, secrets: list[str]
) -> list[Step]:
    """Runs the probe's plan up to its first failed step, then closes the probe, come what may."""
    steps: list[Step] = []

    def record(name: str, ok: bool, detail: str) -> None:
        steps.append(Step(server, name, ok, clean(detail, secrets)))

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
        record(current or "probe", False, f"unexpected error: {describe(exc)}")
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
        return False, describe(exc)


def describe(exc: BaseException) -> str:
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


def clean(detail: str, secrets: list[str]) -> str:
    """The detail on one line, cut to a readable length, with every secret masked."""
    for secret in secrets:
        detail = detail.replace(secret, SECRET_MASK)
    detail = " ".join(detail.split())
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 3] + "..."
    return detail


def close_grace(target: ProbeTarget) -> float:
    """How long a courtesy QUIT / LOGOUT may take."""
    return min(CLOSE_GRACE_SECONDS, target.timeout)


def tls_context(target: ProbeTarget) -> ssl.SSLContext:
    """The target's TLS context; an unusable trusted certificate fails the step that needs it."""
    try:
        return client_context(target.trusted_certificate_pem)
    except TrustedCertificateError as exc:
        raise StepFailed(str(exc)) from exc


class Unconfigured:
    """A server that cannot be tried at all: its one step fails with the reason."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def plan(self) -> Plan:
        return [(CONNECT, self.connect)]

    async def connect(self) -> str:
        raise StepFailed(self._reason)

    async def close(self) -> None:
        pass
