"""Malformed, oversized, out-of-state and abandoned input: the proper BAD/NO, and the session
(and the store) carry on."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable

import pytest
from erpmail.sandbox.store import INBOX

from .conftest import Sandbox
from .helpers import RawClient, make_message, tagged_status


@pytest.fixture
async def raw(sandbox: Sandbox) -> AsyncIterator[RawClient]:
    client = await RawClient.connect(sandbox.port)
    greeting = await client.greeting()
    assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ")
    yield client
    await client.close()


async def still_works(client: RawClient) -> bool:
    return await client.command("Z9", "NOOP") == [b"Z9 OK NOOP completed\r\n"]


async def eventually(condition: Callable[[], bool]) -> bool:
    for _ in range(500):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


async def test_an_unknown_command_is_bad(raw: RawClient) -> None:
    assert await raw.command("A1", "FROBNICATE 1 2") == [b"A1 BAD Unknown command FROBNICATE\r\n"]
    assert await still_works(raw)


async def test_a_malformed_command_is_bad_with_its_tag(raw: RawClient) -> None:
    assert tagged_status(await raw.command("A1", 'LOGIN "bob secret')) == b"BAD"
    assert tagged_status(await raw.command("A2", "LOGIN (bob secret")) == b"BAD"
    assert tagged_status(await raw.command("A3", "LOGIN bob")) == b"BAD"
    assert tagged_status(await raw.command("A4", "UID NOOP")) == b"BAD"
    assert await still_works(raw)


async def test_a_line_without_a_tag_gets_an_untagged_bad(raw: RawClient) -> None:
    await raw.send(b"(((\r\n\x00\xff garbage\r\n")
    assert await raw.read_response() == b"* BAD Missing or invalid tag\r\n"
    assert await raw.read_response() == b"* BAD Missing or invalid tag\r\n"
    assert await still_works(raw)


async def test_empty_lines_are_ignored(raw: RawClient) -> None:
    await raw.send(b"\r\n\r\n")
    assert await still_works(raw)


async def test_commands_in_the_wrong_state_are_bad(raw: RawClient) -> None:
    assert await raw.command("A1", "FETCH 1 FLAGS") == [b"A1 BAD Log in first\r\n"]
    assert await raw.command("A2", "SELECT INBOX") == [b"A2 BAD Log in first\r\n"]
    await raw.login()
    assert await raw.command("A3", "FETCH 1 FLAGS") == [b"A3 BAD No mailbox selected\r\n"]
    assert await raw.command("A4", "LOGIN bob secret") == [b"A4 BAD Already logged in\r\n"]
    assert await raw.command("A5", "UID SEARCH ALL") == [b"A5 BAD No mailbox selected\r\n"]
    assert await still_works(raw)


async def test_login_with_literals_asks_for_each_literal(raw: RawClient) -> None:
    await raw.send(b"A1 LOGIN {3}\r\n")
    assert await raw.read_response() == b"+ Ready for literal data\r\n"
    await raw.send(b"bob {6}\r\n")
    assert await raw.read_response() == b"+ Ready for literal data\r\n"
    await raw.send(b"secret\r\n")
    assert await raw.until_tagged("A1") == [b"A1 OK LOGIN completed\r\n"]


async def test_login_with_non_synchronising_literals(raw: RawClient) -> None:
    assert await raw.command("A1", b"LOGIN {3+}\r\nbob {6+}\r\nsecret") == [
        b"A1 OK LOGIN completed\r\n"
    ]


async def test_a_literal_with_the_wrong_size_is_bad_and_the_session_resynchronises(
    raw: RawClient,
) -> None:
    # Announces 10 bytes but means 6: the server takes 10, and the rest no longer parses.
    await raw.send(b"A1 LOGIN bob {10+}\r\nsecret\r\nA2 NOOP\r\n")
    assert tagged_status(await raw.until_tagged("A1")) == b"BAD"
    assert tagged_status(await raw.command("A3", "LOGIN bob {x}")) == b"BAD"
    assert await still_works(raw)


async def test_a_too_big_literal_is_refused_before_it_is_sent(raw: RawClient) -> None:
    await raw.login()
    await raw.send(b"A1 APPEND INBOX {60000000}\r\n")
    assert await raw.read_response() == b"A1 BAD [TOOBIG] Literal too big\r\n"
    assert await still_works(raw)


async def test_an_over_long_command_line_is_bad(raw: RawClient) -> None:
    await raw.send(b"A1 LOGIN " + b"x" * 70_000 + b" secret\r\n")
    assert await raw.read_response() == b"A1 BAD Command line too long\r\n"
    assert await still_works(raw)


async def test_authenticate_with_bad_base64_is_bad_and_login_still_works(raw: RawClient) -> None:
    assert await raw.command("A1", "AUTHENTICATE PLAIN !!!notbase64") == [
        b"A1 BAD Invalid base64 in authentication data\r\n"
    ]
    await raw.send(b"A2 AUTHENTICATE PLAIN\r\n")
    assert await raw.read_response() == b"+ \r\n"
    await raw.send(b"%%%\r\n")
    assert await raw.until_tagged("A2") == [b"A2 BAD Invalid base64 in authentication data\r\n"]
    await raw.login()


async def test_authenticate_continuation_flow_cancel_and_success(raw: RawClient) -> None:
    await raw.send(b"A1 AUTHENTICATE PLAIN\r\n")
    assert await raw.read_response() == b"+ \r\n"
    await raw.send(b"*\r\n")
    assert await raw.until_tagged("A1") == [b"A1 BAD Authentication cancelled\r\n"]
    assert tagged_status(await raw.command("A2", "AUTHENTICATE CRAM-MD5")) == b"NO"
    malformed = base64.b64encode(b"no separators").decode()
    assert tagged_status(await raw.command("A3", f"AUTHENTICATE PLAIN {malformed}")) == b"BAD"
    wrong = base64.b64encode(b"\x00bob\x00wrong").decode()
    assert await raw.command("A4", f"AUTHENTICATE PLAIN {wrong}") == [
        b"A4 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
    ]
    await raw.send(b"A5 AUTHENTICATE PLAIN\r\n")
    assert await raw.read_response() == b"+ \r\n"
    await raw.send(base64.b64encode(b"\x00bob\x00secret") + b"\r\n")
    assert await raw.until_tagged("A5") == [b"A5 OK AUTHENTICATE completed\r\n"]


async def test_bad_arguments_in_the_selected_state(raw: RawClient) -> None:
    await raw.login()
    await raw.command("S1", "SELECT INBOX")
    bad_commands = [
        "FETCH 0 FLAGS",
        "FETCH 1:x FLAGS",
        "FETCH 1 (FLAGS NOSUCHITEM)",
        "FETCH 1 BODY[HEADERX]",
        "FETCH 3 FLAGS",
        "SEARCH NOSUCHKEY",
        "SEARCH SINCE notadate",
        "STORE 1 FLAGS",
        "STORE 1 TOGGLE (\\Seen)",
        "UID COPY 1",
        "STATUS INBOX (MESSAGES BOGUS)",
    ]
    for number, text in enumerate(bad_commands):
        responses = await raw.command(f"B{number}", text)
        assert tagged_status(responses) == b"BAD", (text, responses)
    assert await raw.command("C1", "SEARCH CHARSET KOI8-R ALL") == [
        b"C1 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"
    ]
    assert await raw.command("C2", "SELECT Nowhere") == [b"C2 NO [NONEXISTENT] No such mailbox\r\n"]
    # A failed SELECT leaves no mailbox selected.
    assert await raw.command("C3", "FETCH 1 FLAGS") == [b"C3 BAD No mailbox selected\r\n"]


async def test_idle_ended_by_something_other_than_done_is_bad(raw: RawClient) -> None:
    await raw.login()
    await raw.send(b"I1 IDLE\r\n")
    assert await raw.read_response() == b"+ idling\r\n"
    await raw.send(b"I2 NOOP\r\n")
    assert await raw.until_tagged("I1") == [b"I1 BAD Expected DONE to end IDLE\r\n"]
    assert await still_works(raw)


async def test_a_client_gone_in_the_middle_of_append_leaves_the_store_unchanged(
    sandbox: Sandbox, raw: RawClient
) -> None:
    await raw.login()
    message = make_message("Half")
    await raw.send(b"A1 APPEND INBOX {%d+}\r\n" % len(message) + message[:20])
    await raw.close()
    other = await RawClient.connect(sandbox.port)
    await other.greeting()
    await other.login()
    status = await other.command("A2", "STATUS INBOX (MESSAGES)")
    assert status[0] == b"* STATUS INBOX (MESSAGES 2)\r\n"
    await other.close()
    assert [m.uid for m in sandbox.bob.folders[INBOX].messages] == [1, 2]


async def test_a_client_gone_while_idling_leaves_no_listener_behind(
    sandbox: Sandbox, raw: RawClient
) -> None:
    await raw.login()
    await raw.command("S1", "SELECT INBOX")
    await raw.send(b"I1 IDLE\r\n")
    assert await raw.read_response() == b"+ idling\r\n"
    assert sandbox.store._listeners  # the session listens while idling
    await raw.close()
    assert await eventually(lambda: not sandbox.store._listeners)
    # Deliveries after the client vanished reach the store as usual.
    sandbox.store.deliver("x@example.com", ["bob@example.com"], make_message("After"))
    assert len(sandbox.bob.folders[INBOX].messages) == 3


async def test_a_client_gone_in_the_middle_of_a_big_fetch_does_not_break_the_server(
    sandbox: Sandbox, raw: RawClient
) -> None:
    big = make_message("Big", body="x" * 1000 + "\r\n") * 2000
    for _ in range(5):
        sandbox.store.deliver("x@example.com", ["bob@example.com"], big)
    await raw.login()
    await raw.command("S1", "SELECT INBOX")
    await raw.send(b"F1 FETCH 1:* (BODY[])\r\n")
    await raw.read_response()
    raw.writer.transport.abort()
    other = await RawClient.connect(sandbox.port)
    await other.greeting()
    await other.login()
    assert tagged_status(await other.command("S2", "SELECT INBOX")) == b"OK"
    await other.close()
