"""An IMAP session over aioimaplib's protocol, with STARTTLS and an answer for every wait.

aioimaplib's own client cannot STARTTLS (RFC 3501 6.2.1; many servers on port 143 need it) and
leaves a command waiting forever when the connection drops or the greeting is refused. Driving
its protocol directly fixes both: every wait ends with the reply, an `ImapError` saying why there
is none, or a TimeoutError. The account test, the receiver and the IDLE watcher share this.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, cast

from aioimaplib.aioimaplib import (
    CRLF,
    Command,
    IMAP4ClientProtocol,
    IncompleteRead,
    extract_exists,
    literal_data_re,
    quoted,
)
from erpmail.server.core.tls import client_context

Security = Literal["none", "ssl", "starttls"]

_T = TypeVar("_T")

# RFC 2177: a server may log out a client idle for 30 minutes, so IDLE is renewed well before.
IDLE_RENEWAL = 25 * 60.0
# Untagged announcements (their "* " already removed) that mean new mail; EXPUNGE and FETCH do not.
_NEW_MAIL = re.compile(rb"\d+ (EXISTS|RECENT)\s*$", re.IGNORECASE)


class ImapError(Exception):
    """The session cannot do what was asked; the message says why, fit to show a user."""


class IdleUnsupported(ImapError):
    """The server does not offer IDLE (RFC 2177); only scheduled receipt works for it."""


class ImapCommandRefused(ImapError):
    """The server answered a command with NO or BAD."""

    def __init__(self, result: str, text: str) -> None:
        super().__init__(f"{result} {text}")
        self.result = result
        self.text = text


class ImapProtocol(IMAP4ClientProtocol):  # type: ignore[misc]  # aioimaplib is untyped
    """aioimaplib's protocol, remembering the greeting and turning silence into an answer.

    `trouble` resolves with a reason when the connection drops or the greeting is refused, the
    cases where aioimaplib would leave a waiting command unanswered. Received data is read in a
    loop: aioimaplib recurses once per line, so a large answer (a FETCH of some 450 messages, a
    LIST of some 900 folders) would exceed Python's recursion limit and lose the connection.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.greeting = ""
        self.trouble: asyncio.Future[str] = loop.create_future()
        # STARTTLS: the command's tag, and whether the server spoke in the clear after its OK
        # (an injection attempt: such bytes must never be read as part of the TLS session).
        self.starttls_tag = ""
        self.cleartext_after_starttls = False
        self._starttls_answered = False

    def _handle_responses(
        self,
        data: bytes,
        line_handler: Callable[[bytes, Any], Any],
        current_cmd: Any = None,
    ) -> None:
        """aioimaplib's reader of received data, step for step, as a loop instead of recursion.

        Each pass takes what the command in progress (`current_cmd`) still awaits of a literal,
        then one line; that line's command stays current while it announces a literal or (FETCH)
        awaits more of its answer. Data ending mid-line or mid-literal raises IncompleteRead,
        which aioimaplib's data_received keeps for the next chunk. The data is read at an offset
        rather than cut after each line, which would copy the rest of a large chunk every time.
        """
        view = memoryview(data)
        end = len(data)
        start = 0
        while start < end:
            if current_cmd is not None and current_cmd.wait_literal_data():
                # It takes its literal's bytes and hands back the rest, a view: no copy.
                start = end - len(current_cmd.append_literal_data(view[start:]))
                if current_cmd.wait_literal_data():
                    raise IncompleteRead(current_cmd)
            line_end = data.find(CRLF, start)
            if line_end < 0:
                raise IncompleteRead(current_cmd, data[start:])
            line = data[start:line_end]
            start = line_end + len(CRLF)
            cmd = line_handler(line, current_cmd)
            literal = literal_data_re.match(line)
            if literal:
                if cmd is None:  # a literal nobody awaits is read, then dropped
                    cmd = Command("NIL", "unused")
                cmd.begin_literal_data(int(literal.group("size")))
                current_cmd = cmd
            elif cmd is not None and cmd.wait_data():
                current_cmd = cmd
            else:
                current_cmd = None
        if self.pending_sync_command is not None:
            self.pending_sync_command.flush()
        if current_cmd is not None and current_cmd.wait_data():
            raise IncompleteRead(current_cmd)

    def _handle_line(self, line: bytes, current_cmd: Any) -> Any:
        if self._starttls_answered:
            self.cleartext_after_starttls = True
            return current_cmd
        result = super()._handle_line(line, current_cmd)
        if self.starttls_tag and line.startswith(self.starttls_tag.encode() + b" "):
            self._starttls_answered = True
        return result

    def tls_started(self) -> None:
        self.starttls_tag = ""
        self._starttls_answered = False

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


def quoted_mailbox(name: str) -> str:
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


class ImapConnection:
    """One IMAP session; each call is bounded by `timeout` seconds."""

    def __init__(
        self, protocol: ImapProtocol, transport: asyncio.BaseTransport, host: str, timeout: float
    ) -> None:
        self.protocol = protocol
        self.host = host
        self.timeout = timeout
        self._transport: asyncio.BaseTransport | None = transport

    @property
    def greeting(self) -> str:
        return self.protocol.greeting

    @property
    def state(self) -> str:
        """aioimaplib's session state: "NONAUTH", "AUTH" (logged in, or PREAUTH), "SELECTED"..."""
        return cast(str, self.protocol.state)

    async def answer(self, operation: Awaitable[_T], *, timeout: float | None = None) -> _T:
        """The operation's result, unless the connection fails first (then ImapError)."""
        task = asyncio.ensure_future(operation)
        waiters: set[asyncio.Future[Any]] = {task, self.protocol.trouble}
        try:
            async with asyncio.timeout(self.timeout if timeout is None else timeout):
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
        if task.done() and not task.cancelled():
            return task.result()
        raise ImapError(self.protocol.trouble.result())

    async def starttls(self, ssl_context: ssl.SSLContext) -> str:
        """Upgrades the plain session to TLS; returns the server's "OK ..." to STARTTLS."""
        protocol = self.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("the server does not offer STARTTLS")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeout):
            command = Command("STARTTLS", protocol.new_tag(), loop=loop)
            protocol.starttls_tag = command.tag
            reply = _ok(await self.answer(protocol.execute(command)))
            if protocol.cleartext_after_starttls or protocol.incomplete_line:
                self.close()
                raise ImapError("the server sent data in the clear after agreeing to STARTTLS")
            protocol.tls_started()
            assert self._transport is not None, "the connection is closed"
            self._transport = await loop.start_tls(
                cast(asyncio.WriteTransport, self._transport),
                protocol,
                ssl_context,
                server_hostname=self.host,
                ssl_handshake_timeout=self.timeout,
            )
            protocol.transport = self._transport
            # RFC 3501 6.2.1: what the server said before TLS is forgotten; ask again.
            await self.answer(protocol.capability())
        return reply

    async def login(self, user: str, password: str) -> str:
        """LOGIN; returns the server's "OK ...", raises ImapCommandRefused on NO/BAD."""
        # aioimaplib sends the user name as given; quoting keeps spaces and specials intact.
        return _ok(await self.answer(self.protocol.login(quoted(user), password)))

    async def select(self, folder: str) -> tuple[str, int | None]:
        """SELECT; the server's "OK ..." and the folder's message count (None if not told)."""
        response = await self.answer(self.protocol.select(quoted_mailbox(folder)))
        return _ok(response), extract_exists(response)

    async def idle(self, timeout: float = IDLE_RENEWAL) -> bool:
        """IDLE in the selected folder: True once the server announces new mail (EXISTS or
        RECENT), False when `timeout` seconds pass without.

        Either way IDLE is ended (DONE, then the tagged OK) and the folder stays selected for the
        next command. The continuation and the answer to DONE are bounded by the session's
        timeout; a refused IDLE raises ImapCommandRefused, a dropped connection ImapError.
        """
        protocol = self.protocol
        if "IDLE" not in protocol.capabilities:
            raise IdleUnsupported("the server does not offer IDLE")
        if protocol.state != "SELECTED":
            raise ImapError("IDLE needs a selected folder")
        # Announcements queued during an earlier IDLE were acted on when it ended.
        while not protocol.idle_queue.empty():
            protocol.idle_queue.get_nowait()
        command: asyncio.Task[Any] = asyncio.ensure_future(protocol.idle())
        continuation = asyncio.ensure_future(protocol.wait_for_idle_response())
        done_sent = False
        try:
            await self._idle_started(command, continuation)
            announced = await self._new_mail_announced(command, timeout)
            if not command.done():  # unless the server ended IDLE on its own
                done_sent = True
                protocol.idle_done()
            _ok(await self.answer(command))
            return announced
        except asyncio.CancelledError:
            # Ending IDLE lets a LOGOUT that follows be answered instead of waiting for nothing.
            accepted = continuation.done() and not continuation.cancelled()
            if accepted and not done_sent and not command.done() and not protocol.trouble.done():
                protocol.idle_done()
            raise
        finally:
            continuation.cancel()
            if not command.done():
                command.cancel()

    async def _idle_started(
        self, command: asyncio.Task[Any], continuation: asyncio.Future[Any]
    ) -> None:
        """Waits for the server's continuation to IDLE; its tagged answer instead is a refusal."""
        await self.answer(
            asyncio.wait({command, continuation}, return_when=asyncio.FIRST_COMPLETED)
        )
        if not continuation.done():
            _ok(command.result())
            raise ImapError("the server ended IDLE without accepting it")

    async def _new_mail_announced(self, command: asyncio.Task[Any], timeout: float) -> bool:
        protocol = self.protocol
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            lines: asyncio.Task[list[bytes]] = asyncio.ensure_future(protocol.idle_queue.get())
            try:
                await asyncio.wait(
                    {lines, command, protocol.trouble},
                    timeout=remaining,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                if not lines.done():
                    lines.cancel()  # Queue.get gives up without losing an item
            if lines.done() and not lines.cancelled():
                if any(_NEW_MAIL.match(bytes(line)) for line in lines.result()):
                    return True
                continue
            if protocol.trouble.done():
                raise ImapError(protocol.trouble.result())
            if command.done():
                return False
        return False

    async def logout(self, *, timeout: float | None = None) -> None:
        """Says LOGOUT if the session is still up (a courtesy), then closes the connection."""
        protocol = self.protocol
        try:
            if protocol.state in ("NONAUTH", "AUTH", "SELECTED") and not protocol.trouble.done():
                await self.answer(protocol.logout(), timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Drops the connection at once, without LOGOUT."""
        for task in list(self.protocol.tasks):
            task.cancel()
        if self._transport is not None:
            self._transport.close()


def _ok(response: object) -> str:
    """The tagged reply of an aioimaplib Response as "OK <text>"; NO / BAD raise."""
    result = str(getattr(response, "result", ""))
    lines = cast(list[bytes], getattr(response, "lines", []))
    text = lines[-1].decode(errors="replace") if lines else ""
    if result != "OK":
        raise ImapCommandRefused(result, text)
    return f"{result} {text}"


async def connect_imap(
    host: str, port: int, *, ssl_context: ssl.SSLContext | None, timeout: float
) -> ImapConnection:
    """Connects (in TLS from the first byte when `ssl_context` is given) and reads the greeting.

    Leaves STARTTLS to the caller, who may want to report it on its own; see `open_imap`.
    """
    loop = asyncio.get_running_loop()
    protocol = ImapProtocol(loop)
    async with asyncio.timeout(timeout):
        transport, _ = await loop.create_connection(
            lambda: protocol,
            host,
            port,
            ssl=ssl_context,
            ssl_handshake_timeout=None if ssl_context is None else timeout,
        )
    connection = ImapConnection(protocol, transport, host, timeout)
    try:
        await connection.answer(protocol.wait("AUTH|NONAUTH"))
    except BaseException:
        connection.close()
        raise
    return connection


async def open_imap(
    host: str,
    port: int,
    *,
    security: Security,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float,
) -> ImapConnection:
    """A session ready to log in: connected, greeted, and in TLS unless `security` is "none".

    Without `ssl_context`, the system CAs are trusted (see erpmail.server.core.tls).
    """
    if security not in ("none", "ssl", "starttls"):
        raise ValueError(f"security: expected none, ssl or starttls, got {security!r}")
    context = None if security == "none" else ssl_context or client_context()
    connection = await connect_imap(
        host, port, ssl_context=context if security == "ssl" else None, timeout=timeout
    )
    if security == "starttls":
        assert context is not None
        try:
            await connection.starttls(context)
        except BaseException:
            connection.close()
            raise
    return connection
