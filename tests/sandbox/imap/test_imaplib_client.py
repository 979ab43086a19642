"""Python's imaplib against the server, command by command (the client runs in a thread)."""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, TypeVar

from erpmail.sandbox.store import INBOX, SEEN

from .conftest import Sandbox
from .helpers import TIMEOUT, make_message, on_loop

T = TypeVar("T")


@contextmanager
def connected(sandbox: Sandbox, login: bool = True) -> Iterator[imaplib.IMAP4]:
    client = imaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
    try:
        if login:
            client.login("bob", "secret")
        yield client
    finally:
        with suppress(imaplib.IMAP4.abort, OSError):
            client.logout()


async def in_thread(action: Callable[[], T]) -> T:
    return await asyncio.to_thread(action)


async def test_greeting_capabilities_list_imap4rev1_and_extensions_but_not_logindisabled(
    sandbox: Sandbox,
) -> None:
    def scenario() -> tuple[tuple[str, ...], str]:
        with connected(sandbox, login=False) as client:
            return client.capabilities, client.welcome.decode()

    capabilities, welcome = await in_thread(scenario)
    assert welcome.startswith("* OK [CAPABILITY IMAP4rev1 ")
    for name in ("IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "AUTH=PLAIN", "AUTH=XOAUTH2", "ID"):
        assert name in capabilities
    assert "LOGINDISABLED" not in capabilities
    assert "STARTTLS" not in capabilities  # not offered without a starttls_context


async def test_login_with_a_quoted_password_holding_spaces_and_quotes(sandbox: Sandbox) -> None:
    sandbox.store.create_mailbox("erin@example.com", 'pa ss"w\\rd')

    def scenario() -> str:
        client = imaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
        status, _ = client.login("erin@example.com", 'pa ss"w\\rd')
        client.logout()
        return status

    assert await in_thread(scenario) == "OK"


async def test_login_with_a_literal_password(sandbox: Sandbox) -> None:
    def scenario() -> str:
        with connected(sandbox, login=False) as client:
            # imaplib sends it as {6} after the server's "+" (its stub wrongly says str).
            client.literal = b"secret"  # type: ignore[assignment]
            status, _ = client._simple_command("LOGIN", "bob")
            return str(status)

    assert await in_thread(scenario) == "OK"


async def test_a_wrong_password_is_refused_and_a_retry_in_the_same_session_works(
    sandbox: Sandbox,
) -> None:
    def scenario() -> tuple[str, str]:
        with connected(sandbox, login=False) as client:
            try:
                client.login("bob", "wrong")
                first = "OK"
            except imaplib.IMAP4.error as error:
                first = str(error)
            second, _ = client.login("bob", "secret")
            return first, second

    first, second = await in_thread(scenario)
    assert "AUTHENTICATIONFAILED" in first
    assert second == "OK"


async def test_authenticate_plain(sandbox: Sandbox) -> None:
    def scenario() -> str:
        with connected(sandbox, login=False) as client:
            status, _ = client.authenticate("PLAIN", lambda _: b"\x00bob\x00secret")
            return status

    assert await in_thread(scenario) == "OK"


async def test_authenticate_xoauth2_with_a_token_the_store_issued(sandbox: Sandbox) -> None:
    token = sandbox.store.issue_token(sandbox.bob)

    def scenario(token: str) -> str:
        with connected(sandbox, login=False) as client:
            sasl = f"user=bob@example.com\x01auth=Bearer {token}\x01\x01".encode()
            status, _ = client.authenticate("XOAUTH2", lambda _: sasl)
            return status

    assert await in_thread(lambda: scenario(token)) == "OK"
    try:
        await in_thread(lambda: scenario("not-a-token"))
        refused = False
    except imaplib.IMAP4.error:
        refused = True
    assert refused


async def test_list_lsub_namespace_id_and_enable(sandbox: Sandbox) -> None:
    sandbox.store.create_folder(sandbox.bob, "Archive/2023")

    def scenario() -> dict[str, object]:
        with connected(sandbox) as client:
            return {
                "list": client.list()[1],
                "top": client.list('""', "%")[1],
                "delimiter": client.list('""', '""')[1],
                "lsub": client.lsub()[1],
                "namespace": client.namespace()[1],
                "id": client.xatom("ID", "NIL"),
                "id_data": client.response("ID")[1],
                "enable": client.enable("CONDSTORE")[0],
            }

    result = await in_thread(scenario)
    assert result["list"] == [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasChildren) "/" Archive',
        b'(\\HasNoChildren) "/" Archive/2023',
    ]
    assert result["top"] == [b'(\\HasNoChildren) "/" INBOX', b'(\\HasChildren) "/" Archive']
    assert result["delimiter"] == [b'(\\Noselect) "/" ""']
    assert len(result["lsub"]) == 3  # type: ignore[arg-type]
    assert result["namespace"] == [b'(("" "/")) NIL NIL']
    assert result["id_data"] == [b'("name" "erpmail-sandbox" "vendor" "erpmail" "version" "0.1")']
    assert result["enable"] == "OK"


async def test_create_rename_delete_subscribe_and_unsubscribe(sandbox: Sandbox) -> None:
    def scenario() -> list[str]:
        with connected(sandbox) as client:
            results = [
                client.create("Projects")[0],
                client.create("Projects/Alpha")[0],
                client.create("Projects")[0],
                client.rename("Projects", "Work")[0],
                client.unsubscribe("Work/Alpha")[0],
                client.subscribe("Work/Alpha")[0],
                client.unsubscribe("Work")[0],
                client.delete("Archive")[0],
                client.delete("Archive")[0],
                client.delete("INBOX")[0],
            ]
            results.append(repr(client.lsub('""', "Work*")[1]))
            return results

    results = await in_thread(scenario)
    assert results[:-1] == ["OK", "OK", "NO", "OK", "OK", "OK", "OK", "OK", "NO", "NO"]
    assert results[-1] == repr([b'(\\HasNoChildren) "/" Work/Alpha'])
    assert sorted(sandbox.bob.folders) == ["INBOX", "Work", "Work/Alpha"]


async def test_select_reports_exists_recent_uidvalidity_uidnext_and_permanentflags(
    sandbox: Sandbox,
) -> None:
    def scenario() -> dict[str, object]:
        with connected(sandbox) as client:
            status, data = client.select("INBOX")
            responses = {
                key: client.response(key)[1]
                for key in (
                    "FLAGS",
                    "RECENT",
                    "UIDVALIDITY",
                    "UIDNEXT",
                    "PERMANENTFLAGS",
                    "READ-WRITE",
                )
            }
            return {"status": status, "exists": data, **responses}

    result = await in_thread(scenario)
    inbox = sandbox.bob.folders[INBOX]
    assert result["status"] == "OK" and result["exists"] == [b"2"]
    assert result["RECENT"] == [b"0"]
    assert result["UIDVALIDITY"] == [str(inbox.uidvalidity).encode()]
    assert result["UIDNEXT"] == [b"3"]
    assert result["PERMANENTFLAGS"] == [b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)"]
    assert result["READ-WRITE"] == [b""]


async def test_examine_is_read_only_and_refuses_changes(sandbox: Sandbox) -> None:
    def scenario() -> tuple[str, list[Any], str]:
        with connected(sandbox) as client:
            client.select("INBOX", readonly=True)
            read_only = client.response("READ-ONLY")[1]
            client.fetch("1", "(BODY[])")  # would mark \Seen if it were writable
            status, _ = client.store("1", "+FLAGS", "\\Deleted")
            return "READ-ONLY", read_only, status

    _, read_only, status = await in_thread(scenario)
    assert read_only == [b""]
    assert status == "NO"
    assert all(not m.flags for m in sandbox.bob.folders[INBOX].messages)


async def test_status_of_a_folder(sandbox: Sandbox) -> None:
    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            return client.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")[1]

    validity = sandbox.bob.folders[INBOX].uidvalidity
    assert await in_thread(scenario) == [
        f"INBOX (MESSAGES 2 RECENT 0 UIDNEXT 3 UIDVALIDITY {validity} UNSEEN 2)".encode()
    ]


async def test_append_with_flags_and_date_answers_appenduid(sandbox: Sandbox) -> None:
    moment = datetime(2023, 5, 17, 8, 30, tzinfo=UTC)

    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            date = imaplib.Time2Internaldate(moment.timestamp())
            return client.append("Archive", "(\\Seen $Filed)", date, make_message("Filed"))[1]

    data = await in_thread(scenario)
    archive = sandbox.bob.folders["Archive"]
    assert data == [f"[APPENDUID {archive.uidvalidity} 1] APPEND completed".encode()]
    (message,) = archive.messages
    assert message.flags == {"\\Seen", "$Filed"}
    assert message.internal_date == moment
    assert b"Subject: Filed" in message.raw


async def test_append_to_a_missing_folder_says_trycreate(sandbox: Sandbox) -> None:
    def scenario() -> tuple[str, list[Any]]:
        with connected(sandbox) as client:
            return client.append("Nowhere", None, None, make_message())

    status, data = await in_thread(scenario)
    assert status == "NO" and data[0] is not None and data[0].startswith(b"[TRYCREATE]")


async def test_search_and_uid_search_criteria(sandbox: Sandbox) -> None:
    sandbox.bob.folders[INBOX].messages[0].flags.add(SEEN)

    def scenario() -> list[list[Any]]:
        with connected(sandbox) as client:
            client.select("INBOX")
            return [
                client.search(None, "ALL")[1],
                client.search("UTF-8", "UNSEEN")[1],
                client.search(None, "SEEN")[1],
                client.uid("SEARCH", "SINCE", "1-Jan-2000")[1],
                client.uid("SEARCH", "BEFORE", "1-Jan-2000")[1],
                client.uid("SEARCH", "FROM", '"dave@example.org"')[1],
                client.uid("SEARCH", "CHARSET", "UTF-8", "SUBJECT", "invoice")[1],
                client.uid("SEARCH", "HEADER", "Message-ID", '"<invoice-42@example.org>"')[1],
                client.uid("SEARCH", "UID", "2:*")[1],
                client.search(None, "2")[1],
            ]

    assert await in_thread(scenario) == [
        [b"1 2"],
        [b"2"],
        [b"1"],
        [b"1 2"],
        [b""],
        [b"2"],
        [b"2"],
        [b"2"],
        [b"2"],
        [b"2"],
    ]


async def test_fetch_of_metadata_items(sandbox: Sandbox) -> None:
    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            return client.uid(
                "FETCH", "1:*", "(FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
            )[1]

    data = await in_thread(scenario)
    first, second = (item for item in data if isinstance(item, bytes))
    message = sandbox.bob.folders[INBOX].messages[0]
    assert first.startswith(b"1 (FLAGS () UID 1 INTERNALDATE ")
    assert f"RFC822.SIZE {message.size} ".encode() in first
    assert b'ENVELOPE ("Mon, 01 Jan 2024 10:00:00 +0000" "Hello" ' in first
    assert b'BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" ' in first
    assert second.startswith(b"2 (FLAGS () UID 2 ")
    assert b'"<invoice-42@example.org>"' in second


async def test_body_peek_leaves_seen_alone_and_body_sets_it(sandbox: Sandbox) -> None:
    inbox = sandbox.bob.folders[INBOX]

    def scenario() -> tuple[list[Any], list[Any]]:
        with connected(sandbox) as client:
            client.select("INBOX")
            peeked = client.fetch("1", "(BODY.PEEK[])")[1]
            read = client.uid("FETCH", "2", "(BODY[])")[1]
            return peeked, read

    peeked, read = await in_thread(scenario)
    assert peeked[0] == (b"1 (BODY[] {%d}" % inbox.messages[0].size, inbox.messages[0].raw)
    assert isinstance(read[0], tuple) and read[0][1] == inbox.messages[1].raw
    assert read[1] == b" FLAGS (\\Seen))"  # the flag change is reported with the data
    assert [m.flags for m in inbox.messages] == [set(), {SEEN}]


async def test_header_fields_text_rfc822_and_partial_fetches(sandbox: Sandbox) -> None:
    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            return client.fetch(
                "1",
                "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[TEXT] BODY.PEEK[]<0.4> "
                "BODY.PEEK[1] RFC822.HEADER)",
            )[1]

    data = await in_thread(scenario)
    literals = [item for item in data if isinstance(item, tuple)]
    assert literals[0] == (
        b"1 (BODY[HEADER.FIELDS (SUBJECT FROM)] {51}",
        b"From: Alice <alice@example.com>\r\nSubject: Hello\r\n\r\n",
    )
    assert literals[1][1] == b"Hi Bob,\r\nsee you.\r\n"
    assert literals[2] == (b" BODY[]<0> {4}", b"From")
    assert literals[3][1] == b"Hi Bob,\r\nsee you.\r\n"
    assert literals[4][1].endswith(b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\n")


async def test_store_adds_removes_and_replaces_flags_and_silent_says_nothing(
    sandbox: Sandbox,
) -> None:
    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            return [
                client.store("1:2", "+FLAGS", "(\\Seen \\Flagged)")[1],
                client.store("1", "-FLAGS", "\\Flagged")[1],
                client.uid("STORE", "2", "FLAGS", "($Important)")[1],
                client.store("1", "+FLAGS.SILENT", "(\\Answered)")[1],
            ]

    assert await in_thread(scenario) == [
        [b"1 (FLAGS (\\Flagged \\Seen))", b"2 (FLAGS (\\Flagged \\Seen))"],
        [b"1 (FLAGS (\\Seen))"],
        [b"2 (UID 2 FLAGS ($Important))"],
        [None],
    ]
    assert [m.flags for m in sandbox.bob.folders[INBOX].messages] == [
        {"\\Seen", "\\Answered"},
        {"$Important"},
    ]


async def test_copy_and_uid_copy_answer_copyuid(sandbox: Sandbox) -> None:
    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            return [
                client.copy("1:2", "Archive")[1],
                client.uid("COPY", "2", "Archive")[0],  # imaplib drops the tagged text here
                client.copy("1", "Nowhere"),
            ]

    validity = sandbox.bob.folders["Archive"].uidvalidity
    assert await in_thread(scenario) == [
        [f"[COPYUID {validity} 1:2 1:2] COPY completed".encode()],
        "OK",
        ("NO", [b"[TRYCREATE] No such mailbox"]),
    ]
    assert [m.uid for m in sandbox.bob.folders["Archive"].messages] == [1, 2, 3]
    assert len(sandbox.bob.folders["Archive"].messages) == 3
    assert len(sandbox.bob.folders[INBOX].messages) == 2


async def test_move_and_uid_move_report_copyuid_and_expunges(sandbox: Sandbox) -> None:
    sandbox.store.deliver("x@example.com", ["bob@example.com"], make_message("Third"))

    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            first = client.uid("MOVE", "2", "Archive")
            moved = [client.response("COPYUID")[1], client.response("EXPUNGE")[1]]
            second = client._simple_command("MOVE", "1", "Archive")
            moved += [client.response("COPYUID")[1], client.response("EXPUNGE")[1]]
            return [first[0], second[0], *moved]

    validity = sandbox.bob.folders["Archive"].uidvalidity
    assert await in_thread(scenario) == [
        "OK",
        "OK",
        [f"{validity} 2 1".encode()],
        [b"2"],
        [f"{validity} 1 2".encode()],
        [b"1"],
    ]
    assert [m.uid for m in sandbox.bob.folders[INBOX].messages] == [3]


async def test_expunge_and_uid_expunge_report_sequence_numbers(sandbox: Sandbox) -> None:
    for subject in ("Three", "Four", "Five"):
        sandbox.store.deliver("x@example.com", ["bob@example.com"], make_message(subject))

    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            client.store("2,4", "+FLAGS.SILENT", "\\Deleted")
            expunged = client.expunge()[1]
            client.store("1:*", "+FLAGS.SILENT", "\\Deleted")
            uid_expunged = client.uid("EXPUNGE", "5")
            return [expunged, uid_expunged[0], client.response("EXPUNGE")[1]]

    # Messages 2 and 4: after 2 goes, the old 4 is number 3.
    assert await in_thread(scenario) == [[b"2", b"3"], "OK", [b"3"]]
    assert [m.uid for m in sandbox.bob.folders[INBOX].messages] == [1, 3]


async def test_close_expunges_quietly_and_unselect_does_not(sandbox: Sandbox) -> None:
    inbox = sandbox.bob.folders[INBOX]
    loop = asyncio.get_running_loop()

    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            client.store("1", "+FLAGS.SILENT", "\\Deleted")
            unselected = client.unselect()[0]
            left_after_unselect = on_loop(loop, lambda: len(inbox.messages))
            client.select("INBOX")
            closed = client.close()[0]
            return [unselected, left_after_unselect, closed, client.response("EXPUNGE")[1]]

    assert await in_thread(scenario) == ["OK", 2, "OK", [None]]
    assert [m.uid for m in inbox.messages] == [2]


async def test_check_and_noop_report_mail_delivered_meanwhile(sandbox: Sandbox) -> None:
    loop = asyncio.get_running_loop()

    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            on_loop(
                loop,
                lambda: sandbox.store.deliver(
                    "x@example.com", ["bob@example.com"], make_message("New")
                ),
            )
            client.noop()
            exists_after_noop = client.response("EXISTS")[1][-1:]  # SELECT's is first
            on_loop(loop, lambda: sandbox.bob.folders[INBOX].messages[0].flags.add(SEEN))
            on_loop(loop, sandbox.store.changed)
            status, _ = client.check()
            return [exists_after_noop, status, client.response("FETCH")[1]]

    assert await in_thread(scenario) == [[b"3"], "OK", [b"1 (UID 1 FLAGS (\\Seen))"]]


async def test_logout_says_bye_and_closes(sandbox: Sandbox) -> None:
    def scenario() -> str:
        client = imaplib.IMAP4("127.0.0.1", sandbox.port, timeout=TIMEOUT)
        client.login("bob", "secret")
        status, _ = client.logout()
        return status

    assert await in_thread(scenario) == "BYE"


async def test_fetch_by_sequence_number_out_of_range_is_bad(sandbox: Sandbox) -> None:
    def scenario() -> str:
        with connected(sandbox) as client:
            client.select("INBOX")
            try:
                client.fetch("7", "FLAGS")
            except imaplib.IMAP4.error as error:
                return str(error)
            return "accepted"

    assert "Invalid message sequence number" in await in_thread(scenario)


async def test_uid_fetch_of_a_range_above_every_uid_returns_the_last_message(
    sandbox: Sandbox,
) -> None:
    def scenario() -> list[Any]:
        with connected(sandbox) as client:
            client.select("INBOX")
            return client.uid("FETCH", "9:*", "(UID)")[1]

    assert await in_thread(scenario) == [b"2 (UID 2)"]
