"""ENVELOPE, BODYSTRUCTURE, body sections and string encoding; no sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from erpmail.sandbox.imap import encode, mime
from erpmail.sandbox.imap.arguments import ArgumentError
from erpmail.sandbox.imap.fetch import (
    FetchItem,
    MessageView,
    Section,
    parse_items,
    parse_section,
    section_data,
)
from erpmail.sandbox.imap.structure import body_structure, envelope
from erpmail.sandbox.imap.syntax import Atom, Group
from erpmail.sandbox.store import StoredMessage

from .messages import MULTIPART, SIMPLE


def test_plain_text_is_quoted_with_escapes() -> None:
    assert encode.string('say "hi" \\o/') == b'"say \\"hi\\" \\\\o/"'


def test_line_breaks_and_8bit_text_become_literals() -> None:
    assert encode.string("a\r\nb") == b"{4}\r\na\r\nb"
    assert encode.string("Grüße") == b"{7}\r\nGr\xc3\xbc\xc3\x9fe"


def test_nil_for_absent_values() -> None:
    assert encode.nstring(None) == b"NIL"


def test_internal_date_uses_english_months_and_the_offset() -> None:
    moment = datetime(1996, 7, 17, 2, 44, 25, tzinfo=timezone(-timedelta(hours=7)))
    assert encode.internal_date(moment) == b'"17-Jul-1996 02:44:25 -0700"'
    assert encode.internal_date(datetime(2024, 1, 5, tzinfo=UTC)) == b'"05-Jan-2024 00:00:00 +0000"'


def test_system_flags_come_first_then_keywords() -> None:
    assert encode.flags({"$Junk", "\\Seen", "\\Answered"}) == b"(\\Answered \\Seen $Junk)"


def test_envelope_unfolds_headers_and_defaults_sender_and_reply_to_to_from() -> None:
    fields = mime.parse(SIMPLE).fields
    alice = b'(("Alice" NIL "alice" "example.com"))'
    assert envelope(fields) == (
        b'("Mon, 01 Jan 2024 10:00:00 +0000" "Hello again" '
        + alice
        + b" "
        + alice
        + b" "
        + alice
        + b' ((NIL NIL "bob" "example.com")) NIL NIL NIL "<m1@example.com>")'
    )


def test_envelope_keeps_encoded_words_and_lists_every_address() -> None:
    result = envelope(mime.parse(MULTIPART).fields)
    assert b'"=?utf-8?q?Gr=C3=BC=C3=9Fe?="' in result
    assert b'((NIL NIL "bob" "example.com")("Carol" NIL "carol" "example.com"))' in result
    assert result.startswith(b"(NIL ")  # no Date header


def test_bodystructure_of_a_single_part_text_message() -> None:
    assert body_structure(mime.parse(SIMPLE), extensible=True) == (
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 19 2 NIL NIL NIL NIL)'
    )


def test_bodystructure_of_nested_multipart_with_attachment_and_message() -> None:
    result = body_structure(mime.parse(MULTIPART), extensible=True)
    assert result.startswith(
        b'((("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)'
        b'("text" "html" ("charset" "utf-8") NIL NIL "7BIT" 16 1 NIL NIL NIL NIL)'
        b' "alternative" ("boundary" "inner") NIL NIL NIL)'
    )
    assert (
        b'("application" "pdf" ("name" "invoice.pdf") NIL NIL "base64" 12 NIL '
        b'("attachment" ("filename" "invoice.pdf")) NIL NIL)' in result
    )
    assert b'("message" "rfc822" NIL NIL NIL "7BIT" 49 (NIL "Inner" ' in result
    assert result.endswith(b' "mixed" ("boundary" "outer") NIL NIL NIL)')


def test_body_is_bodystructure_without_extension_data() -> None:
    result = body_structure(mime.parse(MULTIPART), extensible=False)
    assert result.endswith(b') "mixed")')
    assert b"attachment" not in result


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1.1", b"Plain body"),
        ("1.2", b"<p>HTML body</p>"),
        ("2", b"JVBERi0xLjQK"),
        ("3", b"From: x@example.com\r\nSubject: Inner\r\n\r\nInner body"),
        ("3.HEADER", b"From: x@example.com\r\nSubject: Inner\r\n\r\n"),
        ("3.TEXT", b"Inner body"),
        ("3.1", b"Inner body"),
        ("1.2.MIME", b"Content-Type: text/html; charset=utf-8\r\n\r\n"),
        ("", MULTIPART),
        ("4", None),
        ("2.HEADER", None),
    ],
)
def test_body_sections_name_exact_bytes_of_parts(spec: str, expected: bytes | None) -> None:
    assert section_data(mime.parse(MULTIPART), parse_section(spec)) == expected


def test_part_one_of_a_non_multipart_message_is_its_body() -> None:
    assert section_data(mime.parse(SIMPLE), parse_section("1")) == b"Hi Bob,\r\nsee you.\r\n"


def test_header_fields_keep_folded_lines_and_end_with_a_blank_line() -> None:
    tree = mime.parse(SIMPLE)
    assert section_data(tree, parse_section("HEADER.FIELDS (subject MESSAGE-ID)")) == (
        b"Subject: Hello\r\n again\r\nMessage-ID: <m1@example.com>\r\n\r\n"
    )
    not_fields = section_data(tree, parse_section("HEADER.FIELDS.NOT (SUBJECT DATE FROM)"))
    assert not_fields == b"To: bob@example.com\r\nMessage-ID: <m1@example.com>\r\n\r\n"


@pytest.mark.parametrize(
    "spec", ["HEADERX", "1.", "0", "MIME", "HEADER.FIELDS", "HEADER.FIELDS ()", "TEXT (A)"]
)
def test_invalid_sections_are_refused(spec: str) -> None:
    with pytest.raises(ArgumentError):
        parse_section(spec)


def test_fetch_macros_and_item_lists() -> None:
    assert [i.name for i in parse_items(Atom("fast"))] == ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]
    items = parse_items(Group((Atom("uid"), Atom("BODY.PEEK[HEADER]<10.20>"), Atom("BODY[]"))))
    assert items == [
        FetchItem("UID"),
        FetchItem("BODY[]", Section((), "HEADER"), (10, 20), peek=True),
        FetchItem("BODY[]", Section(), None, peek=False),
    ]
    assert [item.sets_seen for item in items] == [False, False, True]


@pytest.mark.parametrize("item", ["BODY[]<5.0>", "NOSUCH", "BODY[TEXT]<5>", "BINARY[]"])
def test_unknown_or_malformed_fetch_items_are_refused(item: str) -> None:
    with pytest.raises(ArgumentError):
        parse_items(Atom(item))


def test_a_rendered_fetch_response_names_partial_origin_and_sends_literals() -> None:
    message = StoredMessage(uid=7, raw=SIMPLE, flags={"\\Seen"})
    items = parse_items(Group((Atom("UID"), Atom("FLAGS"), Atom("BODY.PEEK[TEXT]<3.3>"))))
    assert MessageView(message).render(3, items) == (
        b"* 3 FETCH (UID 7 FLAGS (\\Seen) BODY[TEXT]<3> {3}\r\nBob)\r\n"
    )


def test_a_partial_fetch_past_the_end_is_empty() -> None:
    message = StoredMessage(uid=1, raw=SIMPLE)
    rendered = MessageView(message).render(1, parse_items(Atom("BODY[]<100000.10>")))
    assert rendered == b"* 1 FETCH (BODY[]<100000> {0}\r\n)\r\n"


def test_multipart_split_handles_bare_line_feeds_and_a_missing_close_delimiter() -> None:
    body = b"--b\nContent-Type: text/plain\n\none\n--b\n\ntwo\n"
    assert mime.split_multipart(body, b"b") == [b"Content-Type: text/plain\n\none", b"\ntwo\n"]
