"""The IMAP session state machine: which command may run in which state, and its tagged reply.

Each verb is a `cmd_<verb>` method (in the mixins); it raises CommandFailed or ArgumentError for a
tagged NO/BAD, CloseConnection to end the session, and returns the text of the tagged OK.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from erpmail.sandbox.faults import Stage
from erpmail.sandbox.imap import replies
from erpmail.sandbox.imap.arguments import ArgumentError
from erpmail.sandbox.imap.auth_commands import AuthCommands
from erpmail.sandbox.imap.core import CloseConnection, CommandFailed, State, bad
from erpmail.sandbox.imap.mailbox_commands import MailboxCommands
from erpmail.sandbox.imap.message_commands import MessageCommands
from erpmail.sandbox.imap.reader import Rejected
from erpmail.sandbox.imap.syntax import Command

log = logging.getLogger(__name__)

_ANY = frozenset(State) - {State.LOGOUT}
_NOT_AUTHENTICATED = frozenset({State.NOT_AUTHENTICATED})
_AUTHENTICATED = frozenset({State.AUTHENTICATED, State.SELECTED})
_SELECTED = frozenset({State.SELECTED})

ALLOWED_STATES: dict[str, frozenset[State]] = {
    **dict.fromkeys(("CAPABILITY", "NOOP", "LOGOUT", "ID"), _ANY),
    **dict.fromkeys(("STARTTLS", "LOGIN", "AUTHENTICATE"), _NOT_AUTHENTICATED),
    **dict.fromkeys(
        (
            "SELECT",
            "EXAMINE",
            "CREATE",
            "DELETE",
            "RENAME",
            "SUBSCRIBE",
            "UNSUBSCRIBE",
            "LIST",
            "LSUB",
            "STATUS",
            "APPEND",
            "NAMESPACE",
            "ENABLE",
            "IDLE",
        ),
        _AUTHENTICATED,
    ),
    **dict.fromkeys(
        ("CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE"),
        _SELECTED,
    ),
}
UID_COMMANDS = frozenset({"FETCH", "SEARCH", "STORE", "COPY", "MOVE", "EXPUNGE"})
# While these run by sequence number the client may not be told of expunges (RFC 3501 7.4.1).
_NO_EXPUNGE_REPORTS = frozenset({"FETCH", "STORE", "SEARCH"})

Handler = Callable[[Command], Awaitable[str | None]]


class Session(AuthCommands, MailboxCommands, MessageCommands):
    async def greet(self) -> None:
        try:
            await self.fault_gate(Stage.IMAP_CONNECT, "")
        except CommandFailed as refusal:
            await self.untagged("BYE " + refusal.text)  # the way to refuse a connection
            self.state = State.LOGOUT
            return
        await self.untagged(f"OK [CAPABILITY {self.capabilities()}] {replies.GREETING}")

    async def reject(self, rejected: Rejected) -> None:
        """Answers a command the reader could not accept (malformed, too long, too big)."""
        text = f"[{rejected.code}] {rejected.text}" if rejected.code else rejected.text
        await self.send(f"{rejected.tag} {replies.BAD} {text}\r\n".encode())

    async def execute(self, command: Command) -> None:
        try:
            self.check_still_valid()
            handler = self._handler(command)
            if command.uid:
                # UIDs do not shift, so a UID command may first catch up on expunges and the
                # client gets no data for messages that are already gone.
                await self.report_changes()
            text = await handler(command)
        except CommandFailed as failure:
            await self._finish(command, failure.status, failure.text)
        except ArgumentError as error:
            await self._finish(command, replies.BAD, str(error))
        except (CloseConnection, OSError):
            raise
        except Exception:
            # A bug must not end the session of a client that did nothing wrong.
            log.exception("IMAP command %s failed", command.name)
            await self._finish(command, replies.NO, replies.SERVER_BUG)
        else:
            if text is not None:  # None: the handler has answered already (STARTTLS)
                await self._finish(command, replies.OK, text)

    async def _finish(self, command: Command, status: str, text: str) -> None:
        expunges_allowed = command.uid or command.name not in _NO_EXPUNGE_REPORTS
        await self.report_changes(expunges_allowed)
        await self.tagged(command.tag, status, text)

    def _handler(self, command: Command) -> Handler:
        allowed = ALLOWED_STATES.get(command.name)
        if allowed is None:
            raise bad(replies.UNKNOWN_COMMAND.format(name=command.name[:40]))
        if command.uid and command.name not in UID_COMMANDS:
            raise bad(replies.UID_NOT_ALLOWED.format(name=command.name))
        if self.state not in allowed:
            raise bad(_wrong_state(self.state, allowed))
        handler: Handler = getattr(self, "cmd_" + command.name.lower())
        return handler


def _wrong_state(state: State, allowed: frozenset[State]) -> str:
    if state is State.NOT_AUTHENTICATED:
        return replies.NOT_AUTHENTICATED
    if allowed == _NOT_AUTHENTICATED:
        return replies.ALREADY_AUTHENTICATED
    return replies.NOT_SELECTED
