"""The POP3 protocol (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH) as a state machine.

`Pop3Session` does no I/O: the edge feeds it the bytes it reads (`receive`) and carries out the
outputs it returns in order (send bytes, pause, throttle, start TLS, close). Commands are the
`cmd_<verb>` methods; each may run only in the states listed in `ALLOWED`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

from erpmail.sandbox.faults import GENERIC_REPLY_TEXT, Action, ActionKind, Event, FaultEngine, Stage
from erpmail.sandbox.pop3 import replies, sasl
from erpmail.sandbox.pop3.framing import LineReader, LineTooLong
from erpmail.sandbox.pop3.maildrop import (
    Entry,
    Maildrop,
    multiline,
    multiline_message,
    top_lines,
)
from erpmail.sandbox.pop3.outputs import Close, Output, Pause, Send, StartTls, Throttle
from erpmail.sandbox.store import INBOX, Mailbox, MailStore, StoreError

log = logging.getLogger(__name__)

# RFC 2449 allows 255 octets per command; SASL responses carrying OAuth tokens run to kilobytes.
MAX_LINE = 8192


class State(Enum):
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    CLOSED = "closed"


_BEFORE_LOGIN = frozenset({State.AUTHORIZATION})
_AFTER_LOGIN = frozenset({State.TRANSACTION})
_ANY_TIME = _BEFORE_LOGIN | _AFTER_LOGIN
# The commands there are (each handled by cmd_<verb>) and the states they may run in.
ALLOWED: dict[str, frozenset[State]] = {
    **dict.fromkeys(("user", "pass", "auth", "stls"), _BEFORE_LOGIN),
    **dict.fromkeys(("stat", "list", "uidl", "retr", "top", "dele", "rset", "noop"), _AFTER_LOGIN),
    **dict.fromkeys(("capa", "quit"), _ANY_TIME),
}

# A pending SASL exchange that already failed: the client's next line only gets the final -ERR.
_SASL_FAILED = "failed"


class Pop3Session:
    def __init__(
        self,
        store: MailStore,
        *,
        session_id: str = "",
        faults: FaultEngine | None = None,
        in_use: set[str] | None = None,
        tls_active: bool = False,
        starttls_available: bool = False,
    ) -> None:
        self.store = store
        self.session_id = session_id
        self.faults = faults
        # Addresses of maildrops locked by a session (shared by all sessions of one server).
        self.in_use = in_use if in_use is not None else set()
        self.tls_active = tls_active
        self.starttls_available = starttls_available
        self.state = State.AUTHORIZATION
        self.username = ""
        self.maildrop: Maildrop | None = None
        self._pending_user: str | None = None
        self._sasl_mechanism: str | None = None
        self._retrievals = 0
        self._lines = LineReader(MAX_LINE)
        self._awaiting_tls = False
        self._out: list[Output] = []

    # -- the edge's interface ----------------------------------------------------------------

    def start(self) -> list[Output]:
        """The greeting (or the connect-stage fault)."""
        if not self._apply_fault(self._fault(Stage.POP3_CONNECT, account="")):
            self._reply(replies.GREETING)
        elif self.state is not State.CLOSED:
            self._close()  # a refused connection is closed after its -ERR
        return self._flush()

    def receive(self, data: bytes) -> list[Output]:
        """Handles every complete line in `data` (and what was buffered before it)."""
        if not self._reading():
            return []
        self._lines.feed(data)
        while self._reading():
            try:
                line = self._lines.next_line()
            except LineTooLong:
                self._line_too_long()
                continue
            if line is None:
                break
            self._handle_line(line)
        return self._flush()

    def _reading(self) -> bool:
        """Whether input is still taken (not after QUIT, nor while the TLS handshake is due)."""
        return self.state is not State.CLOSED and not self._awaiting_tls

    def tls_started(self) -> None:
        self._awaiting_tls = False
        self.tls_active = True

    def connection_lost(self) -> None:
        """The connection is gone: no UPDATE state, just release the maildrop."""
        self._close_quietly()

    # -- lines -------------------------------------------------------------------------------

    def _line_too_long(self) -> None:
        self._sasl_mechanism = None
        self._reply(replies.ERR_LINE_TOO_LONG)

    def _handle_line(self, line: bytes) -> None:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            self._sasl_mechanism = None
            self._reply(replies.ERR_BAD_ENCODING)
            return
        if self._sasl_mechanism is not None:
            self._sasl_response(text)
            return
        verb, _, argument = text.partition(" ")
        verb = verb.lower()
        states = ALLOWED.get(verb)
        if states is None:
            self._reply(replies.ERR_UNKNOWN_COMMAND)
        elif self.state not in states:
            self._reply(
                replies.ERR_NOT_AUTHENTICATED
                if self.state is State.AUTHORIZATION
                else replies.ERR_ALREADY_AUTHENTICATED
            )
        else:
            command: Callable[[str], None] = getattr(self, f"cmd_{verb}")
            command(argument)

    # -- AUTHORIZATION state -----------------------------------------------------------------

    def cmd_user(self, argument: str) -> None:
        name = argument.strip()
        if not name:
            self._reply(replies.ERR_MISSING_ARGUMENT)
            return
        # The same answer for every name, so USER does not reveal which accounts exist.
        self._pending_user = name
        self._reply(replies.USER_ACCEPTED)

    def cmd_pass(self, argument: str) -> None:
        # The whole rest of the line: RFC 1939 lets passwords contain spaces.
        username, self._pending_user = self._pending_user, None
        if username is None:
            self._reply(replies.ERR_USER_FIRST)
            return
        if not self._login_allowed(username):
            return
        mailbox = self.store.authenticate(username, argument)
        if mailbox is None:
            log.info("pop3 %s: login failed for %s", self.session_id, username)
            self._reply(replies.ERR_LOGIN_FAILED)
            return
        self._open_maildrop(mailbox, username)

    def cmd_auth(self, argument: str) -> None:
        words = argument.split()
        if not words:
            self._reply(replies.AUTH_MECHANISMS)
            self._send(multiline([mechanism.encode() for mechanism in sasl.MECHANISMS]))
            return
        mechanism = words[0].upper()
        if mechanism not in sasl.MECHANISMS:
            self._reply(replies.ERR_AUTH_UNSUPPORTED)
            return
        if len(words) > 2:
            self._reply(replies.ERR_TOO_MANY_ARGUMENTS)
            return
        self._sasl_mechanism = mechanism
        if len(words) == 2:
            self._sasl_response(words[1])
        else:
            self._reply(replies.SASL_CONTINUE)

    def _sasl_response(self, text: str) -> None:
        mechanism, self._sasl_mechanism = self._sasl_mechanism, None
        text = text.strip()
        if mechanism == _SASL_FAILED:
            self._reply(replies.ERR_LOGIN_FAILED)
            return
        if text == sasl.CANCEL:
            self._reply(replies.ERR_AUTH_CANCELLED)
            return
        try:
            data = sasl.decode_response(text)
            if mechanism == "PLAIN":
                credentials = sasl.parse_plain(data)
            else:
                credentials = sasl.parse_xoauth2(data)
        except sasl.SaslError as error:
            self._reply(error.reply)
            return
        username = credentials.username
        if not self._login_allowed(username):
            return
        if mechanism == "PLAIN":
            mailbox = self.store.authenticate(username, credentials.secret)
        else:
            mailbox = self.store.authenticate_token(username, credentials.secret)
        if mailbox is not None:
            self._open_maildrop(mailbox, username)
            return
        log.info("pop3 %s: %s login failed for %s", self.session_id, mechanism, username)
        if mechanism == "XOAUTH2":
            self._sasl_mechanism = _SASL_FAILED
            self._reply(replies.SASL_CONTINUE + sasl.XOAUTH2_FAILURE_CHALLENGE)
        else:
            self._reply(replies.ERR_LOGIN_FAILED)

    def cmd_stls(self, argument: str) -> None:
        if self.tls_active:
            self._reply(replies.ERR_TLS_ACTIVE)
        elif not self.starttls_available:
            self._reply(replies.ERR_TLS_UNAVAILABLE)
        else:
            self._reply(replies.STLS_OK)
            self._out.append(StartTls())
            # Anything sent after STLS in the clear must not count as sent under TLS.
            self._lines.clear()
            self._pending_user = None
            self._awaiting_tls = True

    def _login_allowed(self, username: str) -> bool:
        return not self._apply_fault(self._fault(Stage.POP3_LOGIN, account=username))

    def _open_maildrop(self, mailbox: Mailbox, username: str) -> None:
        key = mailbox.address.lower()
        if key in self.in_use:
            self._reply(replies.ERR_MAILDROP_LOCKED)
            return
        try:
            maildrop = Maildrop(mailbox)
        except StoreError:
            self._reply(replies.ERR_MAILDROP_GONE)
            return
        self.in_use.add(key)
        self.maildrop = maildrop
        self.username = username
        self.state = State.TRANSACTION
        log.info("pop3 %s: %s logged in", self.session_id, username)
        self._reply(replies.LOGGED_IN.format(count=maildrop.count, size=maildrop.size))

    # -- TRANSACTION state -------------------------------------------------------------------

    def cmd_stat(self, argument: str) -> None:
        if self._arguments(argument, 0) is None:
            return
        maildrop = self._maildrop()
        self._reply(replies.STAT_OK.format(count=maildrop.count, size=maildrop.size))

    def cmd_list(self, argument: str) -> None:
        maildrop = self._maildrop()
        header = replies.LIST_ALL.format(count=maildrop.count, size=maildrop.size)
        self._listing(argument, replies.LIST_ONE, header, lambda entry: str(entry.size))

    def cmd_uidl(self, argument: str) -> None:
        self._listing(argument, replies.UIDL_ONE, replies.UIDL_ALL, lambda entry: entry.unique_id)

    def _listing(self, argument: str, one: str, header: str, value: Callable[[Entry], str]) -> None:
        """LIST and UIDL: one message's line, or a multi-line listing of every live message."""
        words = self._arguments(argument, 0, 1)
        if words is None:
            return
        maildrop = self._maildrop()
        if words:
            entry = self._entry(words[0])
            if entry is not None:
                self._reply(one.format(number=entry.number, value=value(entry)))
            return
        self._reply(header)
        lines = [f"{entry.number} {value(entry)}".encode() for entry in maildrop.live()]
        self._send(multiline(lines))

    def cmd_retr(self, argument: str) -> None:
        words = self._arguments(argument, 1)
        entry = self._entry(words[0]) if words else None
        if entry is None:
            return
        action = self._fault(Stage.POP3_RETR, account=self.username)
        if self._apply_fault(action):
            return
        self._retrievals += 1
        self._reply(replies.RETR_OK.format(size=entry.size))
        self._send(multiline_message(entry.message.raw))

    def cmd_top(self, argument: str) -> None:
        words = self._arguments(argument, 2)
        entry = self._entry(words[0]) if words else None
        if words is None or entry is None:
            return
        if not _is_number(words[1]):
            self._reply(replies.ERR_BAD_LINE_COUNT.format(argument=words[1][:40]))
            return
        self._reply(replies.TOP_OK)
        self._send(multiline(top_lines(entry.message.raw, int(words[1]))))

    def cmd_dele(self, argument: str) -> None:
        words = self._arguments(argument, 1)
        entry = self._entry(words[0]) if words else None
        if entry is None:
            return
        entry.deleted = True
        self._reply(replies.DELE_OK.format(number=entry.number))

    def cmd_rset(self, argument: str) -> None:
        if self._arguments(argument, 0) is None:
            return
        maildrop = self._maildrop()
        maildrop.reset()
        self._reply(replies.RSET_OK.format(count=maildrop.count, size=maildrop.size))

    def cmd_noop(self, argument: str) -> None:
        if self._arguments(argument, 0) is not None:
            self._reply(replies.NOOP_OK)

    # -- both states -------------------------------------------------------------------------

    def cmd_capa(self, argument: str) -> None:
        capabilities = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.state is State.AUTHORIZATION:
            capabilities += ["USER", "SASL " + " ".join(sasl.MECHANISMS)]
            if self.starttls_available and not self.tls_active:
                capabilities.append("STLS")
        capabilities += ["EXPIRE NEVER", "IMPLEMENTATION erpmail-sandbox"]
        self._reply(replies.CAPA_FOLLOWS)
        self._send(multiline([capability.encode() for capability in capabilities]))

    def cmd_quit(self, argument: str) -> None:
        if self.maildrop is None:
            self._reply(replies.BYE)
            self._close()
            return
        try:
            removed = self.maildrop.commit(self.store)
        except StoreError:
            self._reply(replies.ERR_SOME_NOT_REMOVED)
        else:
            left = len(self.maildrop.mailbox.folder(INBOX).messages)
            self._reply(replies.QUIT_OK.format(deleted=removed, left=left))
        self._close()

    # -- helpers -----------------------------------------------------------------------------

    def _maildrop(self) -> Maildrop:
        assert self.maildrop is not None, "TRANSACTION state always has a maildrop"
        return self.maildrop

    def _arguments(self, argument: str, least: int, most: int | None = None) -> list[str] | None:
        """The command's words if there are `least` to `most` of them, else None (after -ERR)."""
        words = argument.split()
        if len(words) < least:
            self._reply(replies.ERR_MISSING_ARGUMENT)
            return None
        if len(words) > (least if most is None else most):
            self._reply(replies.ERR_TOO_MANY_ARGUMENTS)
            return None
        return words

    def _entry(self, word: str) -> Entry | None:
        """The live message numbered `word`, or None after the matching -ERR."""
        if not _is_number(word):
            self._reply(replies.ERR_BAD_NUMBER.format(argument=word[:40]))
            return None
        entry = self._maildrop().find(int(word))
        if entry is None:
            self._reply(replies.ERR_NO_SUCH_MESSAGE)
            return None
        if entry.deleted:
            self._reply(replies.ERR_MESSAGE_DELETED.format(number=entry.number))
            return None
        return entry

    def _fault(self, stage: Stage, *, account: str) -> Action | None:
        if self.faults is None:
            return None
        event = Event(
            stage=stage,
            account=account,
            session_id=self.session_id,
            messages_in_session=self._retrievals,
        )
        return self.faults.decide(event)

    def _apply_fault(self, action: Action | None) -> bool:
        """Carries out a fault; True when it replaces the command (a reply or a drop)."""
        if action is None or action.kind is ActionKind.DISCARD:
            return False
        if action.kind is ActionKind.DELAY:
            self._out.append(Pause(action.delay_seconds))
            return False
        if action.kind is ActionKind.THROTTLE:
            self._out.append(Throttle(action.bytes_per_second))
            return False
        if action.kind is ActionKind.REPLY:
            self._reply(replies.ERR_FAULT.format(text=action.text or GENERIC_REPLY_TEXT))
            return True
        log.info("pop3 %s: fault drops the connection", self.session_id)
        self._close()
        return True

    def _reply(self, line: str) -> None:
        self._send(line.encode() + b"\r\n")

    def _send(self, data: bytes) -> None:
        self._out.append(Send(data))

    def _close(self) -> None:
        self._out.append(Close())
        self._close_quietly()

    def _close_quietly(self) -> None:
        if self.maildrop is not None:
            self.in_use.discard(self.maildrop.mailbox.address.lower())
            self.maildrop = None
        self.state = State.CLOSED
        self._lines.clear()

    def _flush(self) -> list[Output]:
        """The pending outputs, with runs of Send joined so a pipelined batch goes out at once."""
        merged: list[Output] = []
        run: list[bytes] = []
        for output in self._out:
            if isinstance(output, Send):
                run.append(output.data)
                continue
            if run:
                merged.append(Send(b"".join(run)))
                run = []
            merged.append(output)
        if run:
            merged.append(Send(b"".join(run)))
        self._out.clear()
        return merged


def _is_number(word: str) -> bool:
    return word.isascii() and word.isdigit() and len(word) <= 9
