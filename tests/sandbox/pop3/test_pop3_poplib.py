"""Python's poplib, a real client over a real socket, drives every command of the server."""

from __future__ import annotations

import asyncio
import poplib
from collections.abc import Callable
from typing import TypeVar

from erpmail.sandbox.store import INBOX, Mailbox

from tests.sandbox.pop3.support import ADDRESS, FIRST, MESSAGES, PASSWORD, SECOND, crlf

T = TypeVar("T")


async def with_poplib(port: int, conversation: Callable[[poplib.POP3], T]) -> T:
    """Runs a blocking poplib conversation in a thread while the server serves on this loop."""

    def run() -> T:
        client = poplib.POP3("127.0.0.1", port, timeout=10)
        try:
            return conversation(client)
        finally:
            client.close()

    return await asyncio.to_thread(run)


def login(client: poplib.POP3) -> None:
    client.user(ADDRESS)
    client.pass_(PASSWORD)


async def test_greeting_and_capabilities(port: int) -> None:
    def talk(client: poplib.POP3) -> tuple[bytes, dict[str, list[str]]]:
        return client.getwelcome(), client.capa()

    welcome, capabilities = await with_poplib(port, talk)
    assert welcome.startswith(b"+OK")
    assert {"TOP", "UIDL", "USER", "SASL"} <= set(capabilities)
    assert capabilities["SASL"] == ["PLAIN", "XOAUTH2"]


async def test_stat_and_list_report_each_message_size(port: int) -> None:
    def talk(client: poplib.POP3) -> tuple[tuple[int, int], list[bytes], bytes]:
        login(client)
        stat = client.stat()
        listing = client.list()[1]
        one: bytes = client.list(2)  # type: ignore[assignment]  # typeshed: a one-line reply
        client.quit()
        return stat, listing, one

    stat, listing, one = await with_poplib(port, talk)
    sizes = [len(crlf(raw)) for raw in MESSAGES]
    assert stat == (3, sum(sizes))
    assert listing == [f"{n} {size}".encode() for n, size in enumerate(sizes, 1)]
    assert one == f"+OK 2 {sizes[1]}".encode()


async def test_uidl_gives_the_same_ids_in_every_session(port: int, mailbox: Mailbox) -> None:
    def talk(client: poplib.POP3) -> tuple[list[bytes], bytes]:
        login(client)
        listing = client.uidl()[1]
        one = client.uidl(3)
        client.quit()
        return listing, one

    first, one = await with_poplib(port, talk)
    second, _ = await with_poplib(port, talk)
    uidvalidity = mailbox.folder(INBOX).uidvalidity
    assert first == second == [f"{n} {uidvalidity}.{n}".encode() for n in (1, 2, 3)]
    assert one == f"+OK 3 {uidvalidity}.3".encode()


async def test_retr_returns_the_message_with_dots_unstuffed(port: int) -> None:
    def talk(client: poplib.POP3) -> tuple[list[bytes], list[bytes]]:
        login(client)
        first, second = client.retr(1)[1], client.retr(2)[1]
        client.quit()
        return first, second

    first, second = await with_poplib(port, talk)
    assert b"\r\n".join(first) + b"\r\n" == FIRST
    assert b"\r\n".join(second) + b"\r\n" == crlf(SECOND)


async def test_top_returns_the_header_and_n_lines(port: int) -> None:
    def talk(client: poplib.POP3) -> list[bytes]:
        login(client)
        lines = client.top(2, 2)[1]
        client.quit()
        return lines

    assert await with_poplib(port, talk) == [b"Subject: second", b"", b"line one", b"line two"]


async def test_dele_rset_noop_and_quit(port: int, mailbox: Mailbox) -> None:
    def talk(client: poplib.POP3) -> tuple[int, int, bytes]:
        login(client)
        client.dele(1)
        client.dele(2)
        after_dele = client.stat()[0]
        client.rset()
        after_rset = client.stat()[0]
        client.noop()
        client.dele(3)
        return after_dele, after_rset, client.quit()

    after_dele, after_rset, goodbye = await with_poplib(port, talk)
    assert (after_dele, after_rset) == (1, 3)
    assert goodbye.startswith(b"+OK Deleted 1 messages")
    assert [message.raw for message in mailbox.folder(INBOX).messages] == list(MESSAGES[:2])


async def test_errors_surface_as_poplib_error_proto(port: int) -> None:
    def talk(client: poplib.POP3) -> list[str]:
        errors: list[str] = []

        def attempt(command: Callable[[], object]) -> None:
            try:
                command()
            except poplib.error_proto as error:
                errors.append(str(error))

        attempt(client.stat)  # before login
        attempt(lambda: client.pass_("x"))  # PASS without USER
        login(client)
        attempt(lambda: client.retr(9))
        attempt(lambda: client.dele(0))
        client.quit()
        return errors

    errors = await with_poplib(port, talk)
    assert len(errors) == 4
    assert all(error.startswith("b'-ERR") for error in errors)
