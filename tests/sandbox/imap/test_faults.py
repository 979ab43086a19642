"""Injected faults at connect, login, select and fetch, seen by real clients."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib

import aioimaplib
import pytest
from erpmail.sandbox.faults import Action, ActionKind, Rule, Stage

from .conftest import Sandbox
from .helpers import TIMEOUT, RawClient, tagged_status

REFUSE = Action(ActionKind.REPLY, text="Service busy, try later")
DROP = Action(ActionKind.DROP)


def imaplib_login(sandbox: Sandbox, password: str = "secret") -> str:
    client = imaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
    try:
        status, _ = client.login("bob", password)
        return status
    except imaplib.IMAP4.error as error:
        return f"error: {error}"
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
        with contextlib.suppress(OSError):  # after a drop, logout left the socket open
            client.shutdown()


async def test_a_reply_at_login_refuses_that_login_only(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_LOGIN, REFUSE, account="bob", times=1))
    assert await asyncio.to_thread(imaplib_login, sandbox) == ("error: b'Service busy, try later'")
    assert await asyncio.to_thread(imaplib_login, sandbox) == "OK"


async def test_a_login_rule_for_another_account_does_not_fire(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_LOGIN, REFUSE, account="carol@example.com"))
    assert await asyncio.to_thread(imaplib_login, sandbox) == "OK"


async def test_a_drop_at_login_closes_the_connection_without_reply(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_LOGIN, DROP, times=1))
    # imaplib reports the closed connection as "socket error: EOF".
    assert "EOF" in await asyncio.to_thread(imaplib_login, sandbox)
    assert await asyncio.to_thread(imaplib_login, sandbox) == "OK"


async def test_faults_at_login_apply_to_authenticate_xoauth2(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_LOGIN, REFUSE, account="bob@example.com", times=1))
    token = sandbox.store.issue_token(sandbox.bob)
    client = aioimaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
    await client.wait_hello_from_server()
    refused = await client.xoauth2("bob@example.com", token)
    assert (refused.result, refused.lines) == ("NO", [b"Service busy, try later"])
    assert (await client.xoauth2("bob@example.com", token)).result == "OK"
    await client.logout()


async def test_a_reply_at_fetch_refuses_the_fetch_with_aioimaplib(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_FETCH, REFUSE, times=1))
    client = aioimaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
    await client.wait_hello_from_server()
    await client.login("bob", "secret")
    await client.select()
    refused = await client.uid("fetch", "1:*", "(BODY.PEEK[])")
    assert (refused.result, refused.lines) == ("NO", [b"Service busy, try later"])
    fetched = await client.uid("fetch", "1:*", "(BODY.PEEK[])")
    assert fetched.result == "OK" and len(fetched.lines) == 7
    await client.logout()


async def test_a_drop_at_fetch_cuts_the_connection_with_imaplib(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_FETCH, DROP, account="bob", times=1))

    def scenario() -> tuple[str, str]:
        client = imaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
        client.login("bob", "secret")
        client.select("INBOX")
        try:
            client.fetch("1", "(BODY.PEEK[])")
            first = "fetched"
        except (imaplib.IMAP4.abort, OSError) as error:
            first = f"dropped: {type(error).__name__}"
        finally:
            client.shutdown()
        retry = imaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
        retry.login("bob", "secret")
        retry.select("INBOX")
        status, _ = retry.fetch("1", "(BODY.PEEK[])")
        retry.logout()
        return first, status

    first, second = await asyncio.to_thread(scenario)
    assert first.startswith("dropped")
    assert second == "OK"


async def test_a_reply_at_select_refuses_it_and_leaves_nothing_selected(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_SELECT, REFUSE, times=1))
    client = await RawClient.connect(sandbox.port)
    await client.greeting()
    await client.login()
    assert await client.command("S1", "SELECT INBOX") == [b"S1 NO Service busy, try later\r\n"]
    assert tagged_status(await client.command("S2", "FETCH 1 FLAGS")) == b"BAD"
    assert tagged_status(await client.command("S3", "EXAMINE INBOX")) == b"OK"
    await client.close()


async def test_a_reply_at_connect_greets_with_bye(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_CONNECT, REFUSE, times=1))
    client = await RawClient.connect(sandbox.port)
    assert await client.greeting() == b"* BYE Service busy, try later\r\n"
    assert await client.closed_by_server()
    await client.close()


async def test_a_drop_at_connect_closes_before_the_greeting(sandbox: Sandbox) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_CONNECT, DROP, times=1))
    client = await RawClient.connect(sandbox.port)
    assert await client.reader.read() == b""
    await client.close()
    later = await RawClient.connect(sandbox.port)
    assert (await later.greeting()).startswith(b"* OK ")
    await later.close()


@pytest.mark.parametrize(
    "action",
    [
        Action(ActionKind.DELAY, delay_seconds=0.05),
        Action(ActionKind.THROTTLE, bytes_per_second=20_000),
        Action(ActionKind.DISCARD),
    ],
)
async def test_delay_throttle_and_discard_still_deliver_the_whole_answer(
    sandbox: Sandbox, action: Action
) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_FETCH, action))
    client = await RawClient.connect(sandbox.port)
    await client.greeting()
    await client.login()
    await client.command("S1", "SELECT INBOX")
    responses = await client.command("F1", "UID FETCH 1:* (BODY.PEEK[])")
    raw = [m.raw for m in sandbox.bob.folders["INBOX"].messages]
    assert len(responses) == 3 and tagged_status(responses) == b"OK"
    assert all(raw[i] in responses[i] for i in range(2))
    await client.close()
