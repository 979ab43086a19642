"""One SMTP session: aiosmtpd's protocol plus the sandbox's auth, delivery, faults and transcript.

aiosmtpd parses commands and enforces sequence, SIZE and line limits; this subclass adds what a
test mail server needs on top: AUTH checked against the MailStore (PLAIN, LOGIN, XOAUTH2), a
recipient limit, delivery into the store, a fault decision at every stage, and a transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import warnings
import weakref
from typing import Any, AnyStr, TypeVar

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax
from erpmail.sandbox.faults import Action, ActionKind, Event, Stage
from erpmail.sandbox.smtp import replies
from erpmail.sandbox.smtp.aiosmtpd_log import silence_auth_without_tls_warning
from erpmail.sandbox.smtp.authentication import SaslMechanisms
from erpmail.sandbox.smtp.headers import subject_of
from erpmail.sandbox.smtp.reader import WatchedReader
from erpmail.sandbox.smtp.settings import SmtpSettings
from erpmail.sandbox.smtp.transcript import Transcript, new_session_id

# Stages whose DISCARD applies to the rest of the session rather than the current message.
_SESSION_STAGES = {Stage.SMTP_CONNECT, Stage.SMTP_EHLO, Stage.SMTP_AUTH}
_THROTTLE_TICKS_PER_SECOND = 10
# aiosmtpd takes '<not an address' or '<a b@c>' as addresses; a test server should not, or it
# would hide the client bugs it is there to show. Non-ASCII is fine (SMTPUTF8).
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\\\"]+@[^\s@<>()\\\"]+")

# '<local@domain> PARAMS' with a plain dot-atom local part and domain: most real traffic. aiosmtpd
# runs its full RFC 5322 parser (and defines a class) per address; this shortcut gives the same
# answer for these, and anything else still goes to that parser.
_PLAIN_ANGLE_ADDRESS = re.compile(
    r"<((?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+\.)*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
    r"@(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+)>"
)

T = TypeVar("T")

silence_auth_without_tls_warning()


class _Session(Session):
    """aiosmtpd's session without the deprecation warning it logs on every successful AUTH."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class SandboxSMTP(SaslMechanisms):
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.session_id = new_session_id()
        self.transcript: Transcript | None = None
        self.messages_accepted = 0
        self._connection: asyncio.BaseTransport | None = None
        self._dropped = False
        self._in_data = False
        self._seconds_per_byte = 0.0
        self._discard_session = False
        self._discard_message = False
        self._discarded_recipients: set[str] = set()
        with warnings.catch_warnings():
            # aiosmtpd warns about AUTH over plain text (and logs it, see aiosmtpd_log); the
            # sandbox allows it on purpose.
            warnings.simplefilter("ignore")
            super().__init__(
                _Hooks(self),
                data_size_limit=settings.max_message_size,
                enable_SMTPUTF8=True,
                hostname=settings.hostname,
                ident=replies.GREETING_IDENT,
                tls_context=None if settings.implicit_tls else settings.starttls_context,
                timeout=settings.idle_timeout,
                auth_required=settings.auth_required,
                # On the implicit-TLS port the whole connection is encrypted already.
                auth_require_tls=settings.auth_require_tls and not settings.implicit_tls,
                loop=asyncio.get_running_loop(),
            )
        # Swap in a reader that reports what is read (for the transcript) and can be throttled;
        # StreamReaderProtocol hands this reader to the session when the connection is made.
        self._watched_reader = WatchedReader(limit=self.line_length_limit, loop=self.loop)
        self._stream_reader_wr = weakref.ref(self._watched_reader)
        self._strong_reader = self._watched_reader

    # -- connection --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        starttls_done = self.transport is not None
        super().connection_made(transport)
        if starttls_done:
            self._note("TLS established (STARTTLS)")
            return
        self._connection = transport
        self.settings.live_transports.add(transport)
        transcripts = self.settings.transcripts
        if transcripts is not None:
            self.transcript = transcripts.start(self.peer(), self.session_id)
            self._watch()
            if self.settings.implicit_tls:
                self._note("TLS established (implicit)")

    def connection_lost(self, error: Exception | None) -> None:
        if self._connection is not None:
            self.settings.live_transports.discard(self._connection)
        if self.transcript is not None:
            self._note("connection closed")
            self.transcript.end()
        super().connection_lost(error)

    def peer(self) -> str:
        peer: Any = self.session.peer if self.session is not None else None
        if isinstance(peer, tuple) and len(peer) >= 2:
            return f"{peer[0]}:{peer[1]}"
        return str(peer or "")

    def tls(self) -> bool:
        return self.settings.implicit_tls or self._tls_protocol is not None

    async def _handle_client(self) -> None:
        refusal = await self._interfere(Stage.SMTP_CONNECT)
        if refusal is not None:
            if refusal:
                await self.push(refusal)  # in place of the greeting
                self._close()
            return
        await super()._handle_client()

    async def push(self, status: AnyStr) -> None:
        if self._dropped or self.transport is None:
            return
        text = status if isinstance(status, str) else status.decode("utf-8", "replace")
        if self.transcript is not None:
            self.transcript.server(text)
        code = text[:3]
        # Message data is between a 354 and the next reply; the transcript does not keep it.
        if (code == replies.DATA_START_CODE) != self._in_data:
            self._in_data = not self._in_data
            self._watch()
        line = text.encode() + b"\r\n"
        if self._seconds_per_byte:
            await self._write_slowly(line)
        else:
            self._writer.write(line)
            await self._writer.drain()
        if code == replies.CLOSING_CODE:
            self._close()

    def _watch(self) -> None:
        transcript = self.transcript
        on_read = transcript.client if transcript is not None and not self._in_data else None
        self._watched_reader.watch(on_read, self._seconds_per_byte)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        text = arg.lstrip()
        match = _PLAIN_ANGLE_ADDRESS.match(text)
        rest = text[match.end() :].lstrip() if match else ""
        if match is None or rest.startswith("(") or self.local_part_limit:
            return super()._getaddr(arg)  # a comment after the address is the parser's job
        return match.group(1), rest

    def _create_session(self) -> Session:
        return _Session(self.loop)

    def _create_envelope(self) -> Envelope:
        # aiosmtpd makes a new envelope for every transaction (RSET, EHLO, after DATA).
        self._discard_message = False
        self._discarded_recipients = set()
        return super()._create_envelope()

    # -- commands ----------------------------------------------------------------------------

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        if hostname and await self._refused(Stage.SMTP_EHLO):
            return
        await super().smtp_EHLO(hostname)

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        if hostname and await self._refused(Stage.SMTP_EHLO):
            return
        await super().smtp_HELO(hostname)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        envelope = self._envelope()
        if not self._faults_apply_to_data(arg):
            await super().smtp_DATA(arg)  # it sends the right 503/530/501
            return
        action = self._decide(
            Stage.SMTP_DATA, sender=envelope.mail_from or "", recipient=envelope.rcpt_tos[0]
        )
        if action is not None and action.kind is ActionKind.DROP:
            await self._drop_in_the_middle_of_data()
            return
        refusal = await self._act(action, Stage.SMTP_DATA)
        if refusal is not None:
            await self.push(refusal)
            return
        await super().smtp_DATA(arg)

    def _faults_apply_to_data(self, arg: str) -> bool:
        session = self.session
        return bool(
            session is not None
            and session.host_name
            and not (self.settings.auth_required and not session.authenticated)
            and self._envelope().rcpt_tos
            and not arg
            and self._watched(Stage.SMTP_DATA)
        )

    def _watched(self, stage: Stage) -> bool:
        faults = self.settings.faults
        return faults is not None and faults.watches(stage)

    async def _drop_in_the_middle_of_data(self) -> None:
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        with contextlib.suppress(asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            await self._reader.readuntil(b"\r\n")
        self._drop()

    # -- hooks (called by aiosmtpd once a command is parsed) -------------------------------------

    async def handle_mail(
        self, _: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _ADDRESS.fullmatch(address):
            return replies.BAD_SENDER_SYNTAX
        refusal = await self._interfere(Stage.SMTP_MAIL_FROM, sender=address)
        if refusal is not None:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return replies.OK

    async def handle_rcpt(
        self, _: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _ADDRESS.fullmatch(address):
            return replies.BAD_RECIPIENT_SYNTAX
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return replies.TOO_MANY_RECIPIENTS
        action = self._decide(
            Stage.SMTP_RCPT_TO, sender=envelope.mail_from or "", recipient=address
        )
        if action is not None and action.kind is ActionKind.DISCARD:
            self._note(f"fault at {Stage.SMTP_RCPT_TO}: discard mail for {address}")
            self._discarded_recipients.add(address.lower())
        else:
            refusal = await self._act(action, Stage.SMTP_RCPT_TO)
            if refusal is not None:
                return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.OK

    async def handle_data(self, _: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if self.transcript is not None:
            self.transcript.message_data(len(raw))
        delay = 0.0
        if self._watched(Stage.SMTP_END_OF_DATA):
            action = self._decide(
                Stage.SMTP_END_OF_DATA,
                sender=envelope.mail_from or "",
                recipient=envelope.rcpt_tos[0],
                subject=subject_of(raw),
            )
            if action is not None and action.kind is ActionKind.DELAY:
                # Stored first, answered late: the window where a client that gives up
                # does not know the message went through (and a resend duplicates it).
                self._note(
                    f"fault at {Stage.SMTP_END_OF_DATA}: reply after {action.delay_seconds}s"
                )
                delay = action.delay_seconds
            else:
                refusal = await self._act(action, Stage.SMTP_END_OF_DATA)
                if refusal is not None:
                    return refusal
        reply = self._accept(envelope, raw)
        if delay:
            await asyncio.sleep(delay)
        return reply

    def _accept(self, envelope: Envelope, raw: bytes) -> str:
        self.messages_accepted += 1
        recipients = [
            rcpt for rcpt in envelope.rcpt_tos if rcpt.lower() not in self._discarded_recipients
        ]
        if self._discard_session or self._discard_message or not recipients:
            self._note("message discarded (accepted, not stored)")
            return replies.OK_QUEUED
        credentials = self.credentials
        received = self.settings.store.deliver(
            envelope.mail_from or "",
            recipients,
            raw,
            tls=self.tls(),
            auth_mechanism=credentials.mechanism if credentials else "",
            auth_user=credentials.username if credentials else "",
            peer=self.peer(),
        )
        return f"{replies.OK_QUEUED} as {received.id}"

    # -- faults --------------------------------------------------------------------------------

    def _decide(
        self,
        stage: Stage,
        *,
        sender: str = "",
        recipient: str = "",
        account: str | None = None,
        subject: str = "",
    ) -> Action | None:
        faults = self.settings.faults
        if faults is None or not faults.watches(stage):
            return None
        if account is None:
            account = self.credentials.username if self.credentials else ""
        return faults.decide(
            Event(
                stage,
                sender=sender,
                recipient=recipient,
                account=account,
                subject=subject,
                session_id=self.session_id,
                messages_in_session=self.messages_accepted,
            )
        )

    async def _interfere(
        self, stage: Stage, *, sender: str = "", recipient: str = "", account: str | None = None
    ) -> str | None:
        """The stage's fault carried out: None to go on, else the reply to send instead."""
        action = self._decide(stage, sender=sender, recipient=recipient, account=account)
        return await self._act(action, stage)

    async def _refused(self, stage: Stage) -> bool:
        """Applies the stage's fault to a command; True when the command must not go on."""
        refusal = await self._interfere(stage)
        if refusal is None:
            return False
        await self.push(refusal)
        return True

    async def _act(self, action: Action | None, stage: Stage) -> str | None:
        """Carries out an action: None to go on normally, else the reply to send instead
        ('' when the connection was dropped and nothing may be sent)."""
        if action is None:
            return None
        self._note(f"fault at {stage}: {_describe(action)}")
        if action.kind is ActionKind.REPLY:
            return f"{action.code} {action.text}"
        if action.kind is ActionKind.DROP:
            self._drop()
            return ""
        if action.kind is ActionKind.DELAY:
            await asyncio.sleep(action.delay_seconds)
        elif action.kind is ActionKind.THROTTLE:
            self._seconds_per_byte = 1.0 / action.bytes_per_second
            self._watch()
        elif action.kind is ActionKind.DISCARD:
            if stage in _SESSION_STAGES:
                self._discard_session = True
            else:
                self._discard_message = True
        return None

    def _drop(self) -> None:
        self._dropped = True
        self._note("connection dropped")
        # aiosmtpd reads on until connection_lost, a loop iteration after the close: without
        # this it would take what the client had already sent (the rest of a message, pipelined
        # commands) as commands, log each as unrecognised and ask the fault engine again.
        self._watched_reader.discard_unread()
        self._close()
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()  # ends at its next wait, reading nothing more

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _note(self, text: str) -> None:
        if self.transcript is not None:
            self.transcript.note(text)

    async def _write_slowly(self, data: bytes) -> None:
        chunk = max(1, int(1 / self._seconds_per_byte) // _THROTTLE_TICKS_PER_SECOND)
        for start in range(0, len(data), chunk):
            piece = data[start : start + chunk]
            self._writer.write(piece)
            await self._writer.drain()
            await asyncio.sleep(len(piece) * self._seconds_per_byte)

    # Plain methods, not properties: aiosmtpd's constructor reads every attribute (getmembers).
    def _envelope(self) -> Envelope:
        assert self.envelope is not None  # aiosmtpd sets one before any command runs
        return self.envelope


class _Hooks:
    """aiosmtpd's handler interface: its hooks are the session's own methods."""

    def __init__(self, session: SandboxSMTP) -> None:
        self.handle_MAIL = session.handle_mail
        self.handle_RCPT = session.handle_rcpt
        self.handle_DATA = session.handle_data


def _describe(action: Action) -> str:
    if action.kind is ActionKind.REPLY:
        return f"reply {action.code} {action.text}"
    if action.kind is ActionKind.DELAY:
        return f"delay {action.delay_seconds}s"
    if action.kind is ActionKind.THROTTLE:
        return f"throttle to {action.bytes_per_second} bytes/s"
    return action.kind.value
