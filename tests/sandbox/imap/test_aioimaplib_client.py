"""aioimaplib (the client erpmail uses) against the server, command by command."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aioimaplib
import pytest
from erpmail.sandbox.store import INBOX, SEEN

from .conftest import Sandbox
from .helpers import TIMEOUT, make_message


async def connect(sandbox: Sandbox) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
    await client.wait_hello_from_server()
    return client


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[aioimaplib.IMAP4]:
    client = await connect(sandbox)
    response = await client.login("bob", "secret")
    assert response.result == "OK"
    yield client
    if client.get_state() != "LOGOUT":
        await client.logout()


def text_lines(response: aioimaplib.Response) -> list[bytes]:
    return [bytes(line) for line in response.lines]


async def test_hello_capabilities_and_login(sandbox: Sandbox) -> None:
    client = await connect(sandbox)
    assert {"IMAP4rev1", "IDLE", "UIDPLUS", "MOVE", "AUTH=XOAUTH2"} <= client.protocol.capabilities
    assert (await client.login("bob", "wrong")).result == "NO"
    assert (await client.login("bob", "secret")).result == "OK"
    assert (await client.logout()).result == "OK"


async def test_xoauth2_login_with_an_issued_token(sandbox: Sandbox) -> None:
    token = sandbox.store.issue_token(sandbox.bob)
    refused = await connect(sandbox)
    assert (await refused.xoauth2("bob@example.com", "forged")).result == "NO"
    await refused.logout()
    client = await connect(sandbox)
    assert (await client.xoauth2("bob@example.com", token)).result == "OK"
    assert (await client.select()).result == "OK"
    await client.logout()


async def test_id_namespace_enable_noop(client: aioimaplib.IMAP4) -> None:
    identity = await client.id(name="erpmail-tests", version="1")
    assert identity.result == "OK"
    assert text_lines(identity)[0] == (
        b'("name" "erpmail-sandbox" "vendor" "erpmail" "version" "0.1")'
    )
    assert text_lines(await client.namespace())[0] == b'(("" "/")) NIL NIL'
    assert (await client.enable("CONDSTORE")).result == "OK"
    assert (await client.noop()).result == "OK"


async def test_mailbox_management(sandbox: Sandbox, client: aioimaplib.IMAP4) -> None:
    assert (await client.create("Projects")).result == "OK"
    assert (await client.create("Projects")).result == "NO"
    assert (await client.rename("Projects", "Work")).result == "OK"
    assert (await client.unsubscribe("Work")).result == "OK"
    lsub = await client.lsub('""', "*")
    assert text_lines(lsub)[:-1] == [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasNoChildren) "/" Archive',
    ]
    assert (await client.subscribe("Work")).result == "OK"
    listing = await client.list('""', "*")
    assert text_lines(listing)[:-1] == [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasNoChildren) "/" Archive',
        b'(\\HasNoChildren) "/" Work',
    ]
    assert (await client.delete("Work")).result == "OK"
    assert sorted(sandbox.bob.folders) == ["Archive", "INBOX"]
    status = await client.status("INBOX", "(MESSAGES UNSEEN)")
    assert text_lines(status)[0] == b"INBOX (MESSAGES 2 UNSEEN 2)"


async def test_select_and_examine(sandbox: Sandbox, client: aioimaplib.IMAP4) -> None:
    selected = await client.select("INBOX")
    validity = sandbox.bob.folders[INBOX].uidvalidity
    lines = text_lines(selected)
    assert b"2 EXISTS" in lines and b"0 RECENT" in lines
    assert f"OK [UIDVALIDITY {validity}] UIDs valid".encode() in lines
    assert b"OK [UIDNEXT 3] Predicted next UID" in lines
    assert lines[-1] == b"[READ-WRITE] SELECT completed"
    examined = await client.examine("INBOX")
    assert text_lines(examined)[-1] == b"[READ-ONLY] EXAMINE completed"
    assert b"OK [PERMANENTFLAGS ()] Flags permitted" in text_lines(examined)


async def test_append_with_flags_and_date(sandbox: Sandbox, client: aioimaplib.IMAP4) -> None:
    response = await client.append(
        make_message("Appended"), mailbox="Archive", flags="\\Flagged", date=1_700_000_000
    )
    archive = sandbox.bob.folders["Archive"]
    assert text_lines(response)[-1] == (
        f"[APPENDUID {archive.uidvalidity} 1] APPEND completed".encode()
    )
    assert archive.messages[0].flags == {"\\Flagged"}
    assert archive.messages[0].internal_date.timestamp() == 1_700_000_000


async def test_search_and_uid_search(sandbox: Sandbox, client: aioimaplib.IMAP4) -> None:
    sandbox.bob.folders[INBOX].messages[1].flags.add(SEEN)
    await client.select()
    assert text_lines(await client.search("UNSEEN"))[0] == b"1"
    assert text_lines(await client.search("ALL", charset=None))[0] == b"1 2"
    found = await client.uid_search("HEADER", "Message-ID", '"<invoice-42@example.org>"')
    assert text_lines(found)[0] == b"2"
    assert text_lines(await client.uid_search("UID", "2:*", "SEEN"))[0] == b"2"
    assert text_lines(await client.uid_search("SINCE", "1-Jan-2030"))[0] == b""


async def test_fetch_and_uid_fetch(sandbox: Sandbox, client: aioimaplib.IMAP4) -> None:
    await client.select()
    inbox = sandbox.bob.folders[INBOX]
    fetched = await client.fetch("1:2", "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
    lines = text_lines(fetched)
    assert lines[0] == b"1 FETCH (UID 1 FLAGS () RFC822.SIZE %d BODY[] {%d}" % (
        inbox.messages[0].size,
        inbox.messages[0].size,
    )
    assert lines[1] == inbox.messages[0].raw
    assert lines[3].startswith(b"2 FETCH (UID 2 ")
    by_uid = await client.uid("fetch", "2", "(ENVELOPE BODY[HEADER.FIELDS (SUBJECT)]<0.9>)")
    lines = text_lines(by_uid)
    assert lines[0].startswith(b'2 FETCH (UID 2 ENVELOPE ("Tue, 05 Mar 2024 09:30:00 +0100"')
    assert lines[0].endswith(b"BODY[HEADER.FIELDS (SUBJECT)]<0> {9}")
    assert lines[1] == b"Subject: "
    assert lines[2] == b" FLAGS (\\Seen))"
    assert [m.flags for m in inbox.messages] == [set(), {SEEN}]


async def test_store_and_uid_store(sandbox: Sandbox, client: aioimaplib.IMAP4) -> None:
    await client.select()
    stored = await client.store("1:2", "+FLAGS", "(\\Answered)")
    assert text_lines(stored)[:2] == [
        b"1 FETCH (FLAGS (\\Answered))",
        b"2 FETCH (FLAGS (\\Answered))",
    ]
    silent = await client.uid("store", "2", "-FLAGS.SILENT", "(\\Answered)")
    assert text_lines(silent) == [b"STORE completed"]
    assert [m.flags for m in sandbox.bob.folders[INBOX].messages] == [{"\\Answered"}, set()]


async def test_copy_move_and_expunge(sandbox: Sandbox, client: aioimaplib.IMAP4) -> None:
    sandbox.store.deliver("x@example.com", ["bob@example.com"], make_message("Three"))
    await client.select()
    archive = sandbox.bob.folders["Archive"]
    copied = await client.copy("1", "Archive")
    assert text_lines(copied)[-1] == f"[COPYUID {archive.uidvalidity} 1 1] COPY completed".encode()
    uid_copied = await client.uid("copy", "2:3", "Archive")
    assert text_lines(uid_copied)[-1].startswith(
        f"[COPYUID {archive.uidvalidity} 2:3 2:3]".encode()
    )
    moved = await client.uid("move", "2", "Archive")
    assert text_lines(moved) == [
        f"OK [COPYUID {archive.uidvalidity} 2 4] Moved".encode(),
        b"2 EXPUNGE",
        b"MOVE completed",
    ]
    assert (await client.move("1", "Archive")).result == "OK"
    await client.store("1", "+FLAGS.SILENT", "(\\Deleted)")
    expunged = await client.expunge()
    assert text_lines(expunged) == [b"1 EXPUNGE", b"EXPUNGE completed"]
    assert sandbox.bob.folders[INBOX].messages == []
    assert len(archive.messages) == 5


async def test_uid_expunge_removes_only_the_named_uids(
    sandbox: Sandbox, client: aioimaplib.IMAP4
) -> None:
    await client.select()
    await client.store("1:2", "+FLAGS.SILENT", "(\\Deleted)")
    expunged = await client.uid("expunge", "2")
    assert text_lines(expunged) == [b"2 EXPUNGE", b"EXPUNGE completed"]
    assert [m.uid for m in sandbox.bob.folders[INBOX].messages] == [1]


async def test_check_and_close(sandbox: Sandbox, client: aioimaplib.IMAP4) -> None:
    await client.select()
    assert (await client.check()).result == "OK"
    await client.store("2", "+FLAGS.SILENT", "(\\Deleted)")
    closed = await client.close()
    assert text_lines(closed) == [b"CLOSE completed"]  # CLOSE reports no EXPUNGE
    assert [m.uid for m in sandbox.bob.folders[INBOX].messages] == [1]


async def test_idle_pushes_exists_for_mail_delivered_by_the_store(
    sandbox: Sandbox, client: aioimaplib.IMAP4
) -> None:
    await client.select()
    idle = await client.idle_start(timeout=TIMEOUT)
    sandbox.store.deliver("x@example.com", ["bob@example.com"], make_message("Pushed"))
    pushed = await client.wait_server_push(timeout=TIMEOUT)
    assert pushed == [b"3 EXISTS"]
    client.idle_done()
    done = await asyncio.wait_for(idle, TIMEOUT)
    assert done.result == "OK"
    fetched = await client.fetch("3", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert text_lines(fetched)[1] == b"Subject: Pushed\r\n\r\n"


async def test_idle_pushes_expunges_and_flag_changes_made_elsewhere(
    sandbox: Sandbox, client: aioimaplib.IMAP4
) -> None:
    await client.select()
    idle = await client.idle_start(timeout=TIMEOUT)
    inbox = sandbox.bob.folders[INBOX]
    inbox.messages[1].flags.add(SEEN)
    sandbox.store.changed()
    assert await client.wait_server_push(timeout=TIMEOUT) == [b"2 FETCH (UID 2 FLAGS (\\Seen))"]
    inbox.messages[0].flags.add("\\Deleted")
    inbox.expunge()
    sandbox.store.changed()
    assert await client.wait_server_push(timeout=TIMEOUT) == [b"1 EXPUNGE"]
    client.idle_done()
    assert (await asyncio.wait_for(idle, TIMEOUT)).result == "OK"
