"""Changes made outside a session (delivery, other sessions, store resets) as the session sees
them: UIDVALIDITY, unsolicited EXISTS/EXPUNGE/FETCH, IDLE, and BYE when the ground is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from erpmail.sandbox.store import DELETED, INBOX

from .conftest import Sandbox
from .helpers import RawClient, make_message, tagged_status


@pytest.fixture
async def selected(sandbox: Sandbox) -> AsyncIterator[RawClient]:
    client = await RawClient.connect(sandbox.port)
    await client.greeting()
    await client.login()
    await client.command("S0", "SELECT INBOX")
    yield client
    await client.close()


async def test_uidvalidity_reset_is_visible_on_the_next_select(sandbox: Sandbox) -> None:
    old = sandbox.bob.folders[INBOX].uidvalidity
    sandbox.bob.folders[INBOX].messages.pop(0)  # leaves UID 2 alone, as after an expunge
    new = sandbox.store.reset_uidvalidity(sandbox.bob, INBOX)
    assert new != old
    client = await RawClient.connect(sandbox.port)
    await client.greeting()
    await client.login()
    responses = await client.command("S1", "SELECT INBOX")
    assert f"* OK [UIDVALIDITY {new}] UIDs valid\r\n".encode() in responses
    assert b"* OK [UIDNEXT 2] Predicted next UID\r\n" in responses
    fetched = await client.command("F1", "FETCH 1 (UID)")
    assert fetched[0] == b"* 1 FETCH (UID 1)\r\n"
    await client.close()


async def test_a_session_whose_folder_got_a_new_uidvalidity_is_told_bye(
    sandbox: Sandbox, selected: RawClient
) -> None:
    sandbox.store.reset_uidvalidity(sandbox.bob, INBOX)
    await selected.send(b"N1 NOOP\r\n")
    bye = await selected.read_response()
    assert bye.startswith(b"* BYE ") and b"UIDVALIDITY" in bye
    assert await selected.closed_by_server()
    await selected.close()


async def test_a_removed_mailbox_ends_its_sessions(sandbox: Sandbox, selected: RawClient) -> None:
    sandbox.store.reset()
    await selected.send(b"N1 NOOP\r\n")
    assert await selected.read_response() == b"* BYE Mailbox no longer exists\r\n"
    assert await selected.closed_by_server()
    await selected.close()


async def test_expunges_elsewhere_wait_for_a_command_that_may_report_them(
    sandbox: Sandbox, selected: RawClient
) -> None:
    inbox = sandbox.bob.folders[INBOX]
    inbox.messages[0].flags.add(DELETED)
    inbox.expunge()
    sandbox.store.deliver("x@example.com", ["bob@example.com"], make_message("Third"))
    # During FETCH by sequence number the numbers keep their old meaning: no EXPUNGE yet.
    fetched = await selected.command("F1", "FETCH 1:2 (UID)")
    assert fetched == [
        b"* 1 FETCH (UID 1)\r\n",
        b"* 2 FETCH (UID 2)\r\n",
        b"* 3 EXISTS\r\n",
        b"F1 OK FETCH completed\r\n",
    ]
    assert await selected.command("N1", "NOOP") == [
        b"* 1 EXPUNGE\r\n",
        b"N1 OK NOOP completed\r\n",
    ]
    assert (await selected.command("F2", "FETCH 1:* (UID)"))[:2] == [
        b"* 1 FETCH (UID 2)\r\n",
        b"* 2 FETCH (UID 3)\r\n",
    ]


async def test_a_uid_command_may_report_expunges_at_once(
    sandbox: Sandbox, selected: RawClient
) -> None:
    inbox = sandbox.bob.folders[INBOX]
    inbox.messages[1].flags.add(DELETED)
    inbox.expunge()
    sandbox.store.changed()
    assert await selected.command("F1", "UID FETCH 1:* (FLAGS)") == [
        b"* 2 EXPUNGE\r\n",
        b"* 1 FETCH (UID 1 FLAGS ())\r\n",
        b"F1 OK FETCH completed\r\n",
    ]


async def test_idle_reports_new_mail_and_ends_with_done(
    sandbox: Sandbox, selected: RawClient
) -> None:
    await selected.send(b"I1 IDLE\r\n")
    assert await selected.read_response() == b"+ idling\r\n"
    sandbox.store.deliver("x@example.com", ["bob@example.com"], make_message("Pushed"))
    assert await selected.read_response() == b"* 3 EXISTS\r\n"
    sandbox.store.deliver("x@example.com", ["bob@example.com"], make_message("Again"))
    assert await selected.read_response() == b"* 4 EXISTS\r\n"
    await selected.send(b"DONE\r\n")
    assert await selected.until_tagged("I1") == [b"I1 OK IDLE terminated\r\n"]


async def test_idle_in_the_authenticated_state_is_allowed(sandbox: Sandbox) -> None:
    client = await RawClient.connect(sandbox.port)
    await client.greeting()
    await client.login()
    await client.send(b"I1 IDLE\r\n")
    assert await client.read_response() == b"+ idling\r\n"
    await client.send(b"done\r\n")
    assert await client.until_tagged("I1") == [b"I1 OK IDLE terminated\r\n"]
    await client.close()


async def test_flag_changes_by_another_session_are_reported(
    sandbox: Sandbox, selected: RawClient
) -> None:
    other = await RawClient.connect(sandbox.port)
    await other.greeting()
    await other.login()
    await other.command("S1", "SELECT INBOX")
    await other.command("T1", "STORE 2 +FLAGS.SILENT (\\Flagged)")
    await other.close()
    assert await selected.command("N1", "NOOP") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n",
        b"N1 OK NOOP completed\r\n",
    ]


async def test_own_silent_store_is_not_reported_back(selected: RawClient) -> None:
    assert await selected.command("T1", "STORE 1 +FLAGS.SILENT (\\Seen)") == [
        b"T1 OK STORE completed\r\n"
    ]
    assert await selected.command("N1", "NOOP") == [b"N1 OK NOOP completed\r\n"]


async def test_append_to_the_selected_folder_reports_exists(selected: RawClient) -> None:
    message = make_message("Mine")
    responses = await selected.command(
        "A1", b"APPEND INBOX (\\Seen) {%d+}\r\n" % len(message) + message
    )
    assert responses[0] == b"* 3 EXISTS\r\n"
    assert responses[1].startswith(b"A1 OK [APPENDUID ")


async def test_deleting_the_selected_folder_in_the_same_session_deselects_it(
    selected: RawClient,
) -> None:
    await selected.command("S1", "SELECT Archive")
    assert await selected.command("D1", "DELETE Archive") == [b"D1 OK DELETE completed\r\n"]
    assert tagged_status(await selected.command("F1", "FETCH 1 FLAGS")) == b"BAD"
    assert await selected.command("N1", "NOOP") == [b"N1 OK NOOP completed\r\n"]
