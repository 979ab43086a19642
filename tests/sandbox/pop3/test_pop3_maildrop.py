"""The maildrop snapshot and the wire form of messages (CRLF, byte-stuffing, TOP), without I/O."""

from __future__ import annotations

import pytest
from erpmail.sandbox.pop3.maildrop import (
    Maildrop,
    message_lines,
    multiline,
    multiline_message,
    top_lines,
    transmitted_size,
)
from erpmail.sandbox.store import INBOX, Mailbox, MailStore

from tests.sandbox.pop3.support import ADDRESS, FIRST, SECOND, THIRD

SAMPLES = [
    FIRST,
    SECOND,
    THIRD,
    b"no final newline",
    b"mixed\r\nendings\nhere\r\n",
    b"stray\rcarriage\r\r\n",
    b"",
    b"\n\n",
]


def test_lines_are_the_same_whether_stored_with_crlf_or_bare_lf() -> None:
    assert message_lines(b"a\r\nb\r\n\r\nc\r\n") == message_lines(b"a\nb\n\nc\n")
    assert message_lines(b"a\nb") == [b"a", b"b"]


@pytest.mark.parametrize("raw", SAMPLES)
def test_size_is_the_octets_sent_with_crlf_line_endings(raw: bytes) -> None:
    sent = b"".join(line + b"\r\n" for line in message_lines(raw))
    assert transmitted_size(raw) == len(sent)


def test_multiline_doubles_leading_dots_and_ends_with_a_lone_dot() -> None:
    body = multiline([b"plain", b".dot", b"..two", b".", b"mid.dle"])
    assert body == b"plain\r\n..dot\r\n...two\r\n..\r\nmid.dle\r\n.\r\n"


@pytest.mark.parametrize("raw", [*SAMPLES, b".lead\r\n", b"a\r\n.\r\n", b"plain\r\nmail\r\n"])
def test_a_message_goes_out_as_its_stuffed_lines_whatever_shortcut_is_taken(raw: bytes) -> None:
    assert multiline_message(raw) == multiline(message_lines(raw))


def test_multiline_of_nothing_is_only_the_terminator() -> None:
    assert multiline([]) == b".\r\n"


def test_top_gives_the_header_the_blank_line_and_n_body_lines() -> None:
    assert top_lines(SECOND, 2) == [b"Subject: second", b"", b"line one", b"line two"]
    assert top_lines(SECOND, 0) == [b"Subject: second", b""]
    assert top_lines(SECOND, 99) == message_lines(SECOND)


def test_top_of_a_message_without_a_body_is_the_whole_message() -> None:
    assert top_lines(b"Subject: only a header\r\n", 5) == [b"Subject: only a header"]


def test_snapshot_numbers_messages_from_one_with_uidvalidity_based_unique_ids(
    mailbox: Mailbox,
) -> None:
    inbox = mailbox.folder(INBOX)
    maildrop = Maildrop(mailbox)
    assert [entry.number for entry in maildrop.entries] == [1, 2, 3]
    assert [entry.unique_id for entry in maildrop.entries] == [
        f"{inbox.uidvalidity}.{message.uid}" for message in inbox.messages
    ]
    assert Maildrop(mailbox).entries[1].unique_id == maildrop.entries[1].unique_id


def test_unique_ids_keep_to_the_rfc_1939_character_set_and_length(mailbox: Mailbox) -> None:
    for entry in Maildrop(mailbox).entries:
        assert 1 <= len(entry.unique_id) <= 70
        assert all(0x21 <= ord(char) <= 0x7E for char in entry.unique_id)


def test_commit_removes_only_the_marked_messages(store: MailStore, mailbox: Mailbox) -> None:
    maildrop = Maildrop(mailbox)
    maildrop.entries[0].deleted = True
    maildrop.entries[2].deleted = True
    assert maildrop.commit(store) == 2
    assert [message.raw for message in mailbox.folder(INBOX).messages] == [SECOND]


def test_commit_keeps_mail_that_arrived_after_the_snapshot(
    store: MailStore, mailbox: Mailbox
) -> None:
    maildrop = Maildrop(mailbox)
    store.deliver("bob@example.com", [ADDRESS], b"Subject: late\r\n\r\nx\r\n")
    for entry in maildrop.entries:
        entry.deleted = True
    assert maildrop.commit(store) == 3
    assert [message.raw for message in mailbox.folder(INBOX).messages] == [
        b"Subject: late\r\n\r\nx\r\n"
    ]


def test_commit_skips_a_message_expunged_elsewhere_meanwhile(
    store: MailStore, mailbox: Mailbox
) -> None:
    maildrop = Maildrop(mailbox)
    inbox = mailbox.folder(INBOX)
    inbox.messages[0].flags.add("\\Deleted")
    inbox.expunge()
    maildrop.entries[0].deleted = True
    maildrop.entries[1].deleted = True
    assert maildrop.commit(store) == 1
    assert [message.raw for message in inbox.messages] == [THIRD]
