"""RFC 1939 UPDATE state over real sockets: deletions land at QUIT, never on a lost connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from erpmail.sandbox.pop3 import replies
from erpmail.sandbox.store import Mailbox, MailStore

from tests.sandbox.pop3.support import (
    ADDRESS,
    MESSAGES,
    PASSWORD,
    THIRD,
    Wire,
    inbox_bodies,
    login_once_released,
)

Connect = Callable[..., Awaitable[Wire]]


async def logged_in(connect: Connect, port: int) -> Wire:
    wire = await connect(port)
    await wire.line()
    await wire.login()
    return wire


async def test_deletions_take_effect_only_at_quit(
    port: int, connect: Connect, mailbox: Mailbox
) -> None:
    wire = await logged_in(connect, port)
    assert (await wire.command(b"DELE 1")).startswith(b"+OK")
    assert (await wire.command(b"DELE 2")).startswith(b"+OK")
    assert inbox_bodies(mailbox) == list(MESSAGES)
    assert await wire.command(b"QUIT") == replies.QUIT_OK.format(deleted=2, left=1).encode()
    assert await wire.closed_by_server()
    assert inbox_bodies(mailbox) == [THIRD]


async def test_a_dropped_connection_deletes_nothing(
    port: int, connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    wire = await logged_in(connect, port)
    await wire.command(b"DELE 1")
    await wire.command(b"DELE 3")
    await wire.close()
    again = await connect(port)
    await again.line()
    await login_once_released(again)
    assert (await again.command(b"STAT")).startswith(b"+OK 3 ")
    assert inbox_bodies(mailbox) == list(MESSAGES)


async def test_rset_then_quit_deletes_nothing(
    port: int, connect: Connect, mailbox: Mailbox
) -> None:
    wire = await logged_in(connect, port)
    await wire.command(b"DELE 1")
    await wire.command(b"RSET")
    assert await wire.command(b"QUIT") == replies.QUIT_OK.format(deleted=0, left=3).encode()
    assert inbox_bodies(mailbox) == list(MESSAGES)


async def test_mail_delivered_during_a_session_survives_its_quit(
    port: int, connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    wire = await logged_in(connect, port)
    late = b"Subject: late\r\n\r\narrived during the session\r\n"
    store.deliver("bob@example.com", [ADDRESS], late)
    assert (await wire.command(b"STAT")).startswith(b"+OK 3 ")
    for number in (1, 2, 3):
        await wire.command(f"DELE {number}".encode())
    await wire.command(b"QUIT")
    assert inbox_bodies(mailbox) == [late]


async def test_a_second_session_waits_for_the_first_to_release_the_maildrop(
    port: int, connect: Connect
) -> None:
    first = await logged_in(connect, port)
    second = await connect(port)
    await second.line()
    await second.command(f"USER {ADDRESS}".encode())
    assert await second.command(f"PASS {PASSWORD}".encode()) == (
        replies.ERR_MAILDROP_LOCKED.encode()
    )
    await first.command(b"QUIT")  # its reply comes after the lock is released
    await second.login()
