"""Sending email over SMTP: one session (connect, TLS, EHLO, AUTH) carrying many transactions.

`SmtpSession.open` gets a connection ready or raises SessionFailure naming the step that failed;
`send` runs one transaction (MAIL FROM, RCPT TO for each recipient, DATA) and returns what came
of it, every recipient's reply included; `close` says QUIT. aiosmtplib speaks the protocol, one
command at a time so that each reply is kept; `outcomes` says what the replies mean.

Every network step waits at most `timeout` seconds; the reply to the message's final dot waits at
most `data_timeout` (servers that scan content may take longer than for a command).

The duplicate window: once the message and its final dot have been handed to the connection,
a lost connection or a missing reply leaves the outcome unknown (the server may have taken it).
Such a result is transient with `outcome_unknown=True`: sending again may deliver twice, which
is why an email keeps its Message-ID on every try.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import ssl
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiosmtplib
from erpmail.server.accounts.probe.target import Security, ServerEndpoint
from erpmail.server.core.tls import client_context
from erpmail.server.outgoing.models import AttemptOutcome, SendStep
from erpmail.server.outgoing.outcomes import (
    RecipientResult,
    Reply,
    SendResult,
    SessionFailure,
    Severity,
    delivered_outcome,
    failure_outcome,
    is_account_problem,
    parse_reply,
    refused_outcome,
    refusing_reply,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "Envelope",
    "RecipientResult",
    "Reply",
    "SendResult",
    "SessionFailure",
    "SessionUnusable",
    "SmtpSession",
    "data_block",
    "envelope_address",
    "plan_envelope",
]

DEFAULT_TIMEOUT = 30.0
QUIT_TIMEOUT = 5.0  # QUIT is a courtesy: close() does not wait longer (nor beyond `timeout`)
START_MAIL_INPUT = 354
EHLO_UNKNOWN = frozenset({500, 502})  # a server without ESMTP: say HELO instead
# Replies to AUTH that are about the mechanism, not the credentials: the next one may work.
MECHANISM_REFUSED = frozenset({504, 534})
# aiosmtplib's mechanisms, best first. CRAM-MD5 last: servers offering it must keep the password.
MECHANISMS = ("plain", "login", "cram-md5")

NO_SMTPUTF8 = "the address is not ASCII and the server does not offer SMTPUTF8"
NOT_ASKED = "not asked: the transaction ended before this recipient"
# What aiosmtplib and the socket layer raise for a failed exchange (ssl.SSLError is an OSError).
_EXCHANGE_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)
_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)
_END_OF_DATA = b".\r\n"
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
# Given to aiosmtplib so it does not look up the FQDN (DNS, unbounded); replaced once connected.
_NAME_UNTIL_CONNECTED = "localhost"


class SessionUnusable(RuntimeError):
    """send() on a session that cannot carry another message; check `usable` first."""


class SmtpSession:
    """An open, authenticated SMTP connection. Not for concurrent use: one send at a time."""

    def __init__(self, smtp: aiosmtplib.SMTP, *, timeout: float, data_timeout: float) -> None:
        self._smtp = smtp  # connected by open(); use open() rather than this
        self._timeout = timeout
        self._data_timeout = data_timeout

    @classmethod
    async def open(
        cls,
        endpoint: ServerEndpoint,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        data_timeout: float | None = None,
        local_hostname: str | None = None,
    ) -> SmtpSession:
        """Connects (implicit TLS or STARTTLS as the endpoint says), EHLO, and AUTH when the
        endpoint has a username. `tls_context` defaults to the system CAs. Raises SessionFailure.

        `local_hostname` is the EHLO name; by default the connection's own address as a literal
        ("[192.0.2.1]"), which RFC 5321 allows and which needs no DNS lookup.
        """
        uses_tls = endpoint.security is not Security.NONE
        if uses_tls and tls_context is None:
            tls_context = client_context()
        smtp = aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            use_tls=endpoint.security is Security.SSL_TLS,
            start_tls=False,  # done below as its own step, and only when configured
            tls_context=tls_context if uses_tls else None,
            timeout=timeout,
            local_hostname=local_hostname or _NAME_UNTIL_CONNECTED,
        )
        session = cls(
            smtp, timeout=timeout, data_timeout=timeout if data_timeout is None else data_timeout
        )
        try:
            await session._connect(name_by_address=local_hostname is None)
            await session._greet()
            if endpoint.security is Security.STARTTLS:
                await session._starttls()
                await session._greet()  # RFC 3207: forget what was learnt before TLS
            if endpoint.username:
                await session._authenticate(endpoint.username, endpoint.password)
        except BaseException:
            smtp.close()
            raise
        return session

    @property
    def usable(self) -> bool:
        """Whether the connection can carry another message (not after 421, a drop, a timeout)."""
        return self._smtp.is_connected

    async def send(self, mail_from: str, recipients: Sequence[str], message: bytes) -> SendResult:
        """One transaction: MAIL FROM, RCPT TO for each recipient (a refused one does not stop
        the others), DATA if any was accepted. Failures are results, not exceptions; after one,
        RSET readies a still usable connection for the next message."""
        if not recipients:
            raise ValueError("recipients: at least one is needed")
        if not self.usable:
            raise SessionUnusable("the SMTP session is closed; open a new one")
        envelope = plan_envelope(mail_from, recipients, message, self._smtp.esmtp_extensions)
        results: list[RecipientResult] = []
        try:
            await self._mail_from(envelope)
            await self._rcpt_to(recipients, envelope, results)
            if not any(result.accepted for result in results):
                raise _Stop(
                    SendStep.RCPT_TO,
                    refusing_reply(results),
                    "no recipient was accepted",
                    outcome=refused_outcome(results),
                )
            reply = await self._data(message)
        except _Stop as stop:
            await self._reset()
            untried = [
                RecipientResult(a, False, None, NOT_ASKED) for a in recipients[len(results) :]
            ]
            return stop.result(results + untried)
        return SendResult(SendStep.DONE, delivered_outcome(results), reply, results)

    async def close(self) -> None:
        """QUIT (waiting briefly) and close. Never raises."""
        smtp = self._smtp
        try:
            if smtp.is_connected:
                with contextlib.suppress(Exception):
                    await smtp.quit(timeout=min(self._timeout, QUIT_TIMEOUT))
        finally:
            smtp.close()

    async def __aenter__(self) -> SmtpSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- opening -----------------------------------------------------------------------------

    async def _connect(self, *, name_by_address: bool) -> None:
        with self._failing_as(SendStep.CONNECT):
            await self._smtp.connect()
            if name_by_address:
                self._smtp.local_hostname = address_literal(
                    self._smtp.get_transport_info("sockname")
                )

    async def _greet(self) -> None:
        with self._failing_as(SendStep.EHLO):
            try:
                await self._smtp.ehlo()
            except aiosmtplib.SMTPHeloError as error:
                if error.code not in EHLO_UNKNOWN or not self._smtp.is_connected:
                    raise
                await self._smtp.helo()

    async def _starttls(self) -> None:
        if not self._smtp.supports_extension("starttls"):
            # The server's own answer (its EHLO): trying again will not change it.
            raise SessionFailure(
                SendStep.TLS, "the server does not offer STARTTLS", transient=False
            )
        with self._failing_as(SendStep.TLS):
            await self._smtp.starttls()

    async def _authenticate(self, username: str, password: str) -> None:
        smtp = self._smtp
        if not smtp.supports_extension("auth"):
            encrypted = smtp.get_transport_info("sslcontext") is not None
            hint = "" if encrypted else " (many servers offer it only over TLS)"
            raise SessionFailure(
                SendStep.AUTH, f"the server offers no authentication (AUTH){hint}", transient=False
            )
        offered = [name for name in MECHANISMS if name in smtp.server_auth_methods]
        if not offered:
            names = ", ".join(smtp.server_auth_methods).upper() or "none"
            raise SessionFailure(
                SendStep.AUTH,
                f"no authentication mechanism in common (the server offers {names})",
                transient=False,
            )
        with self._failing_as(SendStep.AUTH):
            for mechanism in offered:
                try:
                    await self._login(mechanism, username, password)
                    return
                except aiosmtplib.SMTPAuthenticationError as error:
                    # One try per login: a wrong password tried with every mechanism would
                    # only bring a lockout closer.
                    if error.code not in MECHANISM_REFUSED or mechanism == offered[-1]:
                        raise

    async def _login(self, mechanism: str, username: str, password: str) -> None:
        smtp, timeout = self._smtp, self._timeout
        if mechanism == "plain":
            await smtp.auth_plain(username, password, timeout=timeout)
        elif mechanism == "login":
            await smtp.auth_login(username, password, timeout=timeout)
        else:
            await smtp.auth_crammd5(username, password, timeout=timeout)

    @contextlib.contextmanager
    def _failing_as(self, step: SendStep) -> Iterator[None]:
        """Turns what aiosmtplib and the socket raise into a SessionFailure at `step` (or TLS)."""
        try:
            yield
        except _EXCHANGE_ERRORS as error:
            reply, detail = describe(error, self._timeout)
            if reply is None and tls_error(error) is not None:
                step = SendStep.TLS
            raise SessionFailure(step, detail, reply) from error

    # -- one transaction ---------------------------------------------------------------------

    async def _mail_from(self, envelope: Envelope) -> None:
        if envelope.sender is None:
            raise _Stop(SendStep.MAIL_FROM, None, f"sender: {NO_SMTPUTF8}", permanent=True)
        try:
            await self._smtp.mail(
                envelope.sender,
                options=envelope.options,
                encoding=envelope.encoding,
                timeout=self._timeout,
            )
        except _EXCHANGE_ERRORS as error:
            raise self._stop(SendStep.MAIL_FROM, error) from error
        except ValueError as error:  # aiosmtplib refuses addresses that would break the line
            raise _Stop(SendStep.MAIL_FROM, None, f"sender: {error}", permanent=True) from error

    async def _rcpt_to(
        self, recipients: Sequence[str], envelope: Envelope, results: list[RecipientResult]
    ) -> None:
        """Asks for each recipient in turn, appending to `results`; raises _Stop when the
        connection cannot go on (421, lost, timed out)."""
        for address, written in zip(recipients, envelope.recipients, strict=True):
            if written is None:
                results.append(RecipientResult(address, False, None, NO_SMTPUTF8, True))
                continue
            try:
                response = await self._smtp.rcpt(
                    written, encoding=envelope.encoding, timeout=self._timeout
                )
            except _EXCHANGE_ERRORS as error:
                stop = self._stop(SendStep.RCPT_TO, error)
                detail = "" if stop.reply is not None else stop.detail
                results.append(RecipientResult(address, False, stop.reply, detail))
                if not self.usable:
                    raise stop from error
                continue
            except ValueError as error:
                results.append(RecipientResult(address, False, None, str(error), True))
                continue
            results.append(RecipientResult(address, True, parse_reply(*response)))

    async def _data(self, message: bytes) -> Reply:
        smtp = self._smtp
        try:
            response = await smtp.execute_command(b"DATA", timeout=self._timeout)
        except _EXCHANGE_ERRORS as error:
            raise self._stop(SendStep.DATA, error) from error
        if response.code != START_MAIL_INPUT:
            raise self._refused(SendStep.DATA, parse_reply(*response))
        # aiosmtplib's data() sends the message and waits for the reply in one call; doing the
        # two apart tells a loss before the final dot (not sent) from one after it (unknown).
        protocol = smtp.protocol
        try:
            if protocol is None:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            protocol.write(data_block(message))
        except _EXCHANGE_ERRORS as error:
            raise self._stop(SendStep.DATA, error) from error
        try:
            response = await protocol.read_response(timeout=self._data_timeout)
        except _EXCHANGE_ERRORS as error:
            raise self._stop(SendStep.DATA, error, after_final_dot=True) from error
        reply = parse_reply(*response)
        if reply.severity is not Severity.SUCCESS:
            raise self._refused(SendStep.DATA, reply)
        return reply

    def _refused(self, step: SendStep, reply: Reply) -> _Stop:
        if reply.closes_session or reply.code < 400:  # 421, or out of step with the server
            self._smtp.close()
        return _Stop(step, reply, f"the server replied {reply}")

    def _stop(
        self, step: SendStep, error: BaseException, *, after_final_dot: bool = False
    ) -> _Stop:
        reply, detail = describe(error, self._data_timeout if after_final_dot else self._timeout)
        if reply is None or reply.closes_session:
            # Lost, timed out or garbled: whatever comes next on this connection cannot be
            # trusted to answer the next command (aiosmtplib closes on most of these itself).
            self._smtp.close()
        return _Stop(step, reply, detail, outcome_unknown=after_final_dot and reply is None)

    async def _reset(self) -> None:
        if not self.usable:
            return
        try:
            await self._smtp.rset(timeout=self._timeout)
        except _EXCHANGE_ERRORS:
            self._smtp.close()  # the server's state is unknown: no further message on it


class _Stop(Exception):
    """Ends a transaction early; becomes the SendResult."""

    def __init__(
        self,
        step: SendStep,
        reply: Reply | None,
        detail: str,
        *,
        outcome: AttemptOutcome | None = None,
        permanent: bool = False,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(detail)
        self.step = step
        self.reply = reply
        self.detail = detail
        if outcome is None:
            outcome = AttemptOutcome.PERMANENT_FAILURE if permanent else failure_outcome(reply)
        self.outcome = outcome
        self.outcome_unknown = outcome_unknown

    def result(self, recipients: list[RecipientResult]) -> SendResult:
        return SendResult(
            step=self.step,
            outcome=self.outcome,
            reply=self.reply,
            recipients=recipients,
            outcome_unknown=self.outcome_unknown,
            detail=self.detail,
            account_problem=is_account_problem(self.step, self.reply),
        )


# -- pure helpers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """How one transaction's envelope is written for a given server."""

    sender: str | None  # None: cannot be written to this server
    recipients: list[str | None]  # in the order given; None as for the sender
    options: list[str]  # MAIL FROM parameters
    encoding: str  # of the addresses on the command lines


def plan_envelope(
    mail_from: str, recipients: Sequence[str], message: bytes, extensions: Container[str]
) -> Envelope:
    """SMTPUTF8 when an address or the header needs it and the server offers it (else a domain
    is written in IDNA, and a non-ASCII local part cannot be written at all); BODY=8BITMIME for
    8-bit content when offered (when not, the content goes as it is: most servers take it);
    SIZE when offered, so that a server refuses an over-large message before its data."""
    addresses = [mail_from, *recipients]
    smtputf8 = "smtputf8" in extensions and (
        not all(address.isascii() for address in addresses) or not header_block(message).isascii()
    )
    options: list[str] = []
    if "size" in extensions:
        options.append(f"SIZE={len(message)}")
    if "8bitmime" in extensions and not message.isascii():
        options.append("BODY=8BITMIME")
    if smtputf8:
        options.append("SMTPUTF8")
    return Envelope(
        sender=envelope_address(mail_from, smtputf8),
        recipients=[envelope_address(address, smtputf8) for address in recipients],
        options=options,
        encoding="utf-8" if smtputf8 else "ascii",
    )


def envelope_address(address: str, smtputf8: bool) -> str | None:
    """The address as written in MAIL FROM/RCPT TO, or None if this server cannot take it."""
    if smtputf8 or address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local.isascii():
        return None
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return None


def header_block(message: bytes) -> bytes:
    """The message's header section: up to its first empty line (all of it if none)."""
    blank = _BLANK_LINE.search(message)
    return message if blank is None else message[: blank.start()]


def data_block(message: bytes) -> bytes:
    """The message as DATA sends it: CRLF line ends, a leading dot doubled, the final dot."""
    text = _LINE_ENDINGS.sub(b"\r\n", message)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    return _LEADING_DOT.sub(b"..", text) + _END_OF_DATA


def address_literal(sockname: Any) -> str:
    """The EHLO name for a connection from `sockname`: "[192.0.2.1]" or "[IPv6:2001:db8::1]"."""
    host = sockname[0] if isinstance(sockname, tuple) and sockname else ""
    try:
        ip = ipaddress.ip_address(str(host).partition("%")[0])
    except ValueError:
        return _NAME_UNTIL_CONNECTED
    return f"[IPv6:{ip}]" if ip.version == 6 else f"[{ip}]"


def describe(error: BaseException, timeout: float) -> tuple[Reply | None, str]:
    """The server's reply carried by an aiosmtplib error (if any), and what happened in words."""
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 100:
        reply = parse_reply(error.code, error.message)
        return reply, f"the server replied {reply}"
    tls = tls_error(error)
    if tls is not None:
        reason = getattr(tls, "verify_message", "") or tls.reason or str(tls)
        return None, f"the TLS handshake failed: {reason}"
    if isinstance(error, TimeoutError):
        return None, f"no answer within {timeout:g} s"
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return None, f"the server's reply is not valid SMTP: {error.message}"
    if isinstance(error, aiosmtplib.SMTPConnectError):
        return None, error.message
    if isinstance(error, aiosmtplib.SMTPServerDisconnected | ConnectionError):
        return None, "the connection was lost"
    return None, str(error) or type(error).__name__


def tls_error(error: BaseException) -> ssl.SSLError | None:
    """The TLS error behind `error`, if any (aiosmtplib wraps the implicit-TLS handshake's)."""
    seen: BaseException | None = error
    for _ in range(8):  # exception chains are short; a bound keeps a cycle harmless
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
