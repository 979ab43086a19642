"""SASL AUTH (RFC 5034) over a real socket: PLAIN and XOAUTH2, with or without initial response."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

from erpmail.sandbox.pop3 import replies
from erpmail.sandbox.store import Mailbox, MailStore

from tests.sandbox.pop3.support import ADDRESS, PASSWORD, Wire

Connect = Callable[..., Awaitable[Wire]]


def b64(text: str) -> bytes:
    return base64.b64encode(text.encode())


async def greeted(connect: Connect, port: int) -> Wire:
    wire = await connect(port)
    await wire.line()
    return wire


async def test_auth_plain_in_one_line(port: int, connect: Connect) -> None:
    wire = await greeted(connect, port)
    answer = await wire.command(b"AUTH PLAIN " + b64(f"\0{ADDRESS}\0{PASSWORD}"))
    assert answer.startswith(b"+OK Logged in")
    assert (await wire.command(b"STAT")).startswith(b"+OK 3 ")


async def test_auth_plain_after_the_empty_challenge(port: int, connect: Connect) -> None:
    wire = await greeted(connect, port)
    assert await wire.command(b"AUTH PLAIN") == b"+ "
    assert (await wire.command(b64(f"{ADDRESS}\0{ADDRESS}\0{PASSWORD}"))).startswith(b"+OK")


async def test_auth_xoauth2_with_a_token_the_store_issued(
    port: int, connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    token = store.issue_token(mailbox)
    wire = await greeted(connect, port)
    answer = await wire.command(
        b"AUTH XOAUTH2 " + b64(f"user={ADDRESS}\x01auth=Bearer {token}\x01\x01")
    )
    assert answer.startswith(b"+OK Logged in")


async def test_auth_xoauth2_refusal_follows_the_challenge_exchange(
    port: int, connect: Connect
) -> None:
    wire = await greeted(connect, port)
    assert await wire.command(b"AUTH XOAUTH2") == b"+ "
    challenge = await wire.command(b64(f"user={ADDRESS}\x01auth=Bearer expired\x01\x01"))
    assert challenge.startswith(b"+ ")
    assert await wire.command(b"") == replies.ERR_LOGIN_FAILED.encode()
    await wire.login()


async def test_a_cancelled_exchange_leaves_the_session_usable(port: int, connect: Connect) -> None:
    wire = await greeted(connect, port)
    await wire.command(b"AUTH PLAIN")
    assert await wire.command(b"*") == replies.ERR_AUTH_CANCELLED.encode()
    await wire.login()
