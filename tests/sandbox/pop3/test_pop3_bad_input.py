"""Bad input over a real socket: every mistake gets -ERR, the session goes on, the store holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from erpmail.sandbox.pop3 import replies
from erpmail.sandbox.pop3.session import MAX_LINE
from erpmail.sandbox.store import Mailbox

from tests.sandbox.pop3.support import MESSAGES, ServerFactory, Wire, inbox_bodies

Connect = Callable[..., Awaitable[Wire]]


async def test_a_session_survives_a_run_of_mistakes(port: int, connect: Connect) -> None:
    wire = await connect(port)
    await wire.line()
    mistakes = [
        (b"HELO there", replies.ERR_UNKNOWN_COMMAND),
        (b"STAT", replies.ERR_NOT_AUTHENTICATED),
        (b"PASS secret", replies.ERR_USER_FIRST),
        (b"AUTH PLAIN !!!", replies.ERR_AUTH_BAD_BASE64),
        (b"AUTH GSSAPI", replies.ERR_AUTH_UNSUPPORTED),
        (b"\xc3\x28", replies.ERR_BAD_ENCODING),
        (b"X" * (MAX_LINE + 1), replies.ERR_LINE_TOO_LONG),
    ]
    for line, expected in mistakes:
        assert await wire.command(line) == expected.encode(), line
    await wire.login()
    mistakes = [
        (b"RETR", replies.ERR_MISSING_ARGUMENT),
        (b"RETR one", replies.ERR_BAD_NUMBER.format(argument="one")),
        (b"RETR 42", replies.ERR_NO_SUCH_MESSAGE),
        (b"TOP 1 -1", replies.ERR_BAD_LINE_COUNT.format(argument="-1")),
        (b"USER again", replies.ERR_ALREADY_AUTHENTICATED),
    ]
    for line, expected in mistakes:
        assert await wire.command(line) == expected.encode(), line
    await wire.command(b"DELE 1")
    assert await wire.command(b"DELE 1") == replies.ERR_MESSAGE_DELETED.format(number=1).encode()
    assert (await wire.command(b"STAT")).startswith(b"+OK 2 ")


async def test_a_huge_line_without_an_end_is_cut_off_and_the_session_goes_on(
    port: int, connect: Connect
) -> None:
    wire = await connect(port)
    await wire.line()
    await wire.send(b"A" * 1_000_000)
    assert await wire.line() == replies.ERR_LINE_TOO_LONG.encode()
    assert await wire.command(b"\r\nCAPA") == replies.CAPA_FOLLOWS.encode()


async def test_disconnecting_mid_command_leaves_the_store_as_it_was(
    port: int, connect: Connect, mailbox: Mailbox
) -> None:
    wire = await connect(port)
    await wire.line()
    await wire.login()
    await wire.command(b"DELE 2")
    await wire.send(b"QU")  # QUIT never completed: no UPDATE state
    await wire.close()
    again = await connect(port)
    await again.line()
    assert await again.command(b"NOOP") == replies.ERR_NOT_AUTHENTICATED.encode()
    assert inbox_bodies(mailbox) == list(MESSAGES)


async def test_an_idle_session_is_logged_out_without_applying_deletions(
    start_server: ServerFactory, connect: Connect, mailbox: Mailbox
) -> None:
    port = await start_server(idle_timeout=1.0)
    wire = await connect(port)
    await wire.line()
    await wire.login()
    await wire.command(b"DELE 1")
    assert await wire.line() == replies.AUTOLOGOUT.encode()
    assert await wire.closed_by_server()
    assert inbox_bodies(mailbox) == list(MESSAGES)
