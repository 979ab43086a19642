"""SEARCH criteria compiled to predicates, applied to stored messages; no sockets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from erpmail.sandbox.imap.arguments import ArgumentError
from erpmail.sandbox.imap.search import BadCharset, Candidate, Mailbox, compile_search
from erpmail.sandbox.imap.syntax import parse_command
from erpmail.sandbox.store import StoredMessage

from .helpers import INVOICE_42, make_message
from .messages import MULTIPART

MESSAGES = [
    StoredMessage(1, make_message(), {"\\Seen"}, datetime(2024, 1, 1, 10, tzinfo=UTC)),
    StoredMessage(
        4, INVOICE_42, {"\\Flagged", "$Billing"}, datetime(2024, 3, 5, 8, 30, tzinfo=UTC)
    ),
    StoredMessage(9, MULTIPART, set(), datetime(2024, 6, 1, tzinfo=UTC)),
]


def search(criteria: str) -> list[int]:
    args = parse_command(b"A1 SEARCH " + criteria.encode()).args
    matches = compile_search(args, Mailbox(len(MESSAGES), MESSAGES[-1].uid))
    return [n for n, m in enumerate(MESSAGES, start=1) if matches(Candidate(n, m))]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("ALL", [1, 2, 3]),
        ("UNSEEN", [2, 3]),
        ("SEEN", [1]),
        ("FLAGGED UNSEEN", [2]),
        ("KEYWORD $Billing", [2]),
        ("UNKEYWORD $Billing", [1, 3]),
        ("SINCE 5-Mar-2024", [2, 3]),
        ("BEFORE 5-Mar-2024", [1]),
        ("ON 05-Mar-2024", [2]),
        ('SENTSINCE "1-Mar-2024"', [2]),
        ("FROM dave", [2]),
        ("FROM ALICE@EXAMPLE.COM", [1, 3]),
        ("SUBJECT invoice", [2]),
        ('SUBJECT "Grüße"', [3]),
        ("TO carol", [3]),
        ("HEADER Message-ID <invoice-42@example.org>", [2]),
        ('HEADER "MIME-Version" ""', [3]),
        ("BODY pay", [2]),
        ("TEXT invoice.pdf", [3]),
        ("UID 4:*", [2, 3]),
        ("UID 1,9", [1, 3]),
        ("2:*", [2, 3]),
        ("NOT SEEN", [2, 3]),
        ("OR SEEN FLAGGED", [1, 2]),
        ("(OR SEEN FLAGGED) SINCE 1-Feb-2024", [2]),
        ("LARGER 500", [3]),
        ("SMALLER 500", [1, 2]),
        ("CHARSET UTF-8 SUBJECT hello", [1]),
        ("charset us-ascii ALL", [1, 2, 3]),
        ("NEW", []),
        ("OLD", [1, 2, 3]),
    ],
)
def test_search_criteria(criteria: str, expected: list[int]) -> None:
    assert search(criteria) == expected


def test_subject_literal_search_with_utf8_charset() -> None:
    args = parse_command(b"A1 SEARCH CHARSET UTF-8 SUBJECT {6}\r\nGr\xc3\xbc\xc3\x9f").args
    matches = compile_search(args, Mailbox(3, 9))
    assert [n for n, m in enumerate(MESSAGES, 1) if matches(Candidate(n, m))] == [3]


def test_an_unknown_charset_is_reported_as_such() -> None:
    with pytest.raises(BadCharset):
        search("CHARSET KOI8-R ALL")


@pytest.mark.parametrize("criteria", ["NOSUCHKEY", "SINCE", "SINCE yesterday", "OR SEEN", "()"])
def test_malformed_criteria_are_refused(criteria: str) -> None:
    with pytest.raises(ArgumentError):
        search(criteria)


def test_a_broken_encoded_word_is_searched_as_raw_text() -> None:
    broken = StoredMessage(1, make_message(subject="=?utf-8?b?!!!?= Report"))
    args = parse_command(b"A1 SEARCH SUBJECT report").args
    assert compile_search(args, Mailbox(1, 1))(Candidate(1, broken))
