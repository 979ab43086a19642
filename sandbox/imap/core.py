"""What every IMAP command handler shares: session state, replies, faults, change reporting.

The session never touches a socket; it talks to a `Connection` (the asyncio edge in `server`).
"""

from __future__ import annotations

import asyncio
import ssl
from enum import Enum
from typing import Protocol

from erpmail.sandbox.faults import ActionKind, Event, FaultEngine, Stage
from erpmail.sandbox.imap import replies
from erpmail.sandbox.imap.reader import LineTooLong
from erpmail.sandbox.imap.selected import SelectedFolder
from erpmail.sandbox.imap.syntax import Command
from erpmail.sandbox.store import Mailbox, MailStore

DEFAULT_FAULT_TEXT = "Fault injected by the sandbox"


class State(Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


class Connection(Protocol):
    @property
    def tls_active(self) -> bool: ...

    async def send(self, data: bytes) -> None: ...

    async def read_line(self) -> bytes | LineTooLong | None:
        """The next raw line from the client; None once it has gone."""
        ...

    async def start_tls(self, context: ssl.SSLContext) -> None: ...

    def throttle(self, bytes_per_second: int) -> None: ...


class CommandFailed(Exception):
    """Ends a command with a tagged NO or BAD."""

    def __init__(self, status: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def no(text: str) -> CommandFailed:
    return CommandFailed(replies.NO, text)


def bad(text: str) -> CommandFailed:
    return CommandFailed(replies.BAD, text)


class CloseConnection(Exception):
    """Ends the session: with an untagged BYE when `bye` is given, else silently (a drop)."""

    def __init__(self, bye: str | None = None) -> None:
        super().__init__(bye or "connection dropped")
        self.bye = bye


class SessionCore:
    def __init__(
        self,
        store: MailStore,
        connection: Connection,
        *,
        session_id: str,
        faults: FaultEngine | None = None,
        starttls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.store = store
        self.connection = connection
        self.session_id = session_id
        self.faults = faults
        self.starttls_context = starttls_context
        self.state = State.NOT_AUTHENTICATED
        self.mailbox: Mailbox | None = None
        self.login_name = ""  # as the client gave it; faults match on it
        self.selected: SelectedFolder | None = None

    @property
    def finished(self) -> bool:
        return self.state is State.LOGOUT

    # -- replies -------------------------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        await self.connection.send(data)

    async def untagged(self, text: str) -> None:
        await self.send(f"* {text}\r\n".encode())

    async def tagged(self, tag: str, status: str, text: str) -> None:
        await self.send(f"{tag} {status} {text}\r\n".encode())

    def capabilities(self) -> str:
        names = list(replies.CAPABILITIES)
        offer_tls = self.starttls_context is not None and not self.connection.tls_active
        if offer_tls and self.state is State.NOT_AUTHENTICATED:
            names.append(replies.STARTTLS_CAPABILITY)
        return " ".join(names)

    # -- state -------------------------------------------------------------------------------

    def require_mailbox(self) -> Mailbox:
        assert self.mailbox is not None, "handler ran before login"
        return self.mailbox

    def require_selected(self) -> SelectedFolder:
        assert self.selected is not None, "handler ran without a selected folder"
        return self.selected

    def deselect(self) -> None:
        self.selected = None
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    def check_still_valid(self) -> None:
        """Ends the session when its mailbox or selected folder went away under it."""
        mailbox = self.mailbox
        if mailbox is not None and self.store.mailbox_for_address(mailbox.address) is not mailbox:
            raise CloseConnection(replies.BYE_MAILBOX_GONE)
        if self.selected is not None and self.selected.is_gone():
            raise CloseConnection(replies.BYE_FOLDER_CHANGED)

    async def report_changes(self, expunges_allowed: bool = True) -> None:
        if self.selected is None:
            return
        self.check_still_valid()
        for response in self.selected.updates(expunges_allowed):
            await self.send(response)

    # -- faults ------------------------------------------------------------------------------

    async def fault_gate(self, stage: Stage, account: str) -> None:
        """Applies an injected fault for this stage: refuse, drop, delay or throttle."""
        if self.faults is None:
            return
        action = self.faults.decide(Event(stage=stage, account=account, session_id=self.session_id))
        if action is None:
            return
        if action.kind is ActionKind.REPLY:
            raise no(action.text or DEFAULT_FAULT_TEXT)
        if action.kind is ActionKind.DROP:
            raise CloseConnection(None)
        if action.kind is ActionKind.DELAY:
            await asyncio.sleep(action.delay_seconds)
        elif action.kind is ActionKind.THROTTLE:
            self.connection.throttle(action.bytes_per_second)

    # -- helpers for handlers ----------------------------------------------------------------

    async def read_continuation(self) -> bytes:
        """The client's next raw line (AUTHENTICATE response, IDLE's DONE)."""
        line = await self.connection.read_line()
        if line is None:
            raise CloseConnection(None)
        if isinstance(line, LineTooLong):
            raise bad(replies.LINE_TOO_LONG)
        return line


def completed(command: Command) -> str:
    return replies.COMPLETED.format(name=command.name)
