"""Parsing received mail, fed with bytes: bodies in any charset, encoded headers, attachments and
their hostile names, Message-IDs missing or doubled, delivery reports, automated mail, and broken
or hostile input that must come back as a result, never an exception or a hang."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest
from erpmail.server.incoming.parse import (
    FailedRecipient,
    ParsedEmail,
    parse_headers_fast,
    parse_message,
    safe_file_name,
)

SYNTHETIC_ID = re.compile(r"<sha256-[0-9a-f]{64}@erpmail\.invalid>")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def simple(headers: str, body: str = "Hello\n") -> bytes:
    return crlf(f"{headers}\n\n{body}")


def mixed(*parts: bytes) -> bytes:
    headers = "From: a@example.com\nMessage-ID: <m@example.com>"
    out = crlf(f"{headers}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XYZ\n\n")
    for part in parts:
        out += b"--XYZ\r\n" + part + b"\r\n"
    return out + b"--XYZ--\r\n"


def attachment(disposition: bytes, content_type: bytes = b"application/pdf") -> bytes:
    return (
        b"Content-Type: " + content_type + b"\r\n"
        b"Content-Disposition: " + disposition + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK"
    )


# -- headers and bodies ----------------------------------------------------------------------------


def test_plain_text_message_gives_its_headers_and_body() -> None:
    raw = simple(
        "From: Ann Smith <ann@example.com>\n"
        'To: bob@example.com, "Carol, C." <carol@example.com>\n'
        "Cc: dan@example.com\n"
        "Reply-To: sales@example.com\n"
        "Subject:  Order 42\n"
        "Date: Tue, 01 Jul 2025 14:30:00 +0200\n"
        "Message-ID: <order-42@example.com>\n"
        "In-Reply-To: <question-41@erp.example>\n"
        "References: <q-40@erp.example>\n <question-41@erp.example> <q-40@erp.example>",
        "Line one\nLine two\n",
    )
    parsed = parse_message(raw)
    assert parsed.sender is not None
    assert (parsed.sender.address, parsed.sender.name) == ("ann@example.com", "Ann Smith")
    assert [(a.address, a.name) for a in parsed.to] == [
        ("bob@example.com", ""),
        ("carol@example.com", "Carol, C."),
    ]
    assert [a.address for a in parsed.cc] == ["dan@example.com"]
    assert [a.address for a in parsed.reply_to] == ["sales@example.com"]
    assert parsed.subject == "Order 42"
    assert parsed.date == datetime(2025, 7, 1, 12, 30, tzinfo=UTC)
    assert parsed.message_id == "<order-42@example.com>"
    assert not parsed.message_id_missing
    assert parsed.in_reply_to == "<question-41@erp.example>"
    assert parsed.references == ("<q-40@erp.example>", "<question-41@erp.example>")
    assert parsed.text_body == "Line one\nLine two\n"
    assert parsed.html_body == ""
    assert parsed.attachments == ()
    assert not parsed.auto_submitted
    assert not parsed.is_delivery_report
    assert parsed.problems == ()


def test_alternative_gives_both_bodies_and_no_attachment() -> None:
    raw = crlf(
        "From: a@example.com\nMessage-ID: <m@example.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="alt"\n\n'
        "--alt\nContent-Type: text/plain; charset=utf-8\n\nPlain\n"
        "--alt\nContent-Type: text/html; charset=utf-8\n\n<p>Rich</p>\n"
        "--alt--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "Plain"
    assert parsed.html_body == "<p>Rich</p>"
    assert parsed.attachments == ()
    assert parsed.problems == ()


@pytest.mark.parametrize(
    ("charset", "encoded", "expected"),
    [
        ("ISO-8859-1", "Grüße, café".encode("latin-1"), "Grüße, café"),
        ("windows-1252", b"\x80 5 \x93quoted\x94", "€ 5 “quoted”"),
        ("Shift_JIS", "日本語のメール ①".encode("cp932"), "日本語のメール ①"),
        ("utf-8", "Ωmega".encode(), "Ωmega"),
    ],
)
def test_body_in_a_legacy_charset_is_decoded(charset: str, encoded: bytes, expected: str) -> None:
    raw = (
        crlf(f"From: a@example.com\nMessage-ID: <m@x>\nContent-Type: text/plain; charset={charset}")
        + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + encoded
    )
    parsed = parse_message(raw)
    assert parsed.text_body == expected
    assert parsed.problems == ()


def test_quoted_printable_body_is_decoded_with_its_charset() -> None:
    raw = simple(
        "From: a@example.com\nMessage-ID: <m@x>\nContent-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable",
        "Gr=FC=DFe, a long line=\n continued\n",
    )
    assert parse_message(raw).text_body == "Grüße, a long line continued\n"


def test_unknown_charset_is_read_as_utf8_with_replacements_and_noted() -> None:
    raw = (
        crlf("From: a@example.com\nMessage-ID: <m@x>\nContent-Type: text/plain; charset=x-foo")
        + b"\r\n\r\nna\xc3\xafve \xff"
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "naïve \ufffd"
    assert parsed.problems == ("bad charset x-foo, decoded as utf-8 with replacements",)


def test_bytes_invalid_in_the_declared_charset_are_replaced_and_noted() -> None:
    raw = (
        crlf("From: a@example.com\nMessage-ID: <m@x>\nContent-Type: text/plain; charset=utf-8")
        + b"\r\n\r\nok \xff\xfe end"
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "ok \ufffd\ufffd end"
    assert any("undecodable bytes replaced" in p for p in parsed.problems)


def test_8bit_text_without_a_charset_is_read_as_utf8() -> None:
    raw = crlf("From: a@example.com\nMessage-ID: <m@x>") + b"\r\n\r\nsch\xc3\xb6n"
    parsed = parse_message(raw)
    assert parsed.text_body == "schön"
    assert parsed.problems == ()


def test_encoded_words_in_subject_and_display_names_are_decoded() -> None:
    raw = simple(
        "From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@example.com>\n"
        'To: "=?ISO-8859-1?Q?M=FCller=2C_Hans?=" <hans@example.com>, '
        "=?utf-8?B?5bGx55Sw?= <yamada@example.jp>\n"
        # Adjacent words: the space between them goes; a character split across two is rejoined.
        "Subject: =?utf-8?b?w6Q=?= =?utf-8?b?w7Y=?=\n"
        " =?utf-8?q?=E2=82?= =?utf-8?q?=AC?= and plain\n"
        "Message-ID: <m@x>",
    )
    parsed = parse_message(raw)
    assert parsed.subject == "äö€ and plain"
    assert parsed.sender is not None and parsed.sender.name == "Jörg Müller"
    assert [a.name for a in parsed.to] == ["Müller, Hans", "山田"]
    assert parsed.problems == ()


def test_raw_utf8_headers_are_read_as_text() -> None:
    raw = "From: Zoë <zoe@example.com>\r\nSubject: Grüße\r\nMessage-ID: <m@x>\r\n\r\nhi".encode()
    parsed = parse_message(raw)
    assert parsed.subject == "Grüße"
    assert parsed.sender is not None and parsed.sender.name == "Zoë"


def test_encoded_word_in_an_unknown_charset_is_noted() -> None:
    parsed = parse_message(simple("Subject: =?x-klingon?q?Qapla=27?=\nMessage-ID: <m@x>"))
    assert parsed.subject == "Qapla'"
    assert "bad charset x-klingon, decoded as utf-8 with replacements" in parsed.problems


def test_dates_are_aware_utc_and_an_unreadable_one_is_none_and_noted() -> None:
    def date(value: str) -> ParsedEmail:
        return parse_message(simple(f"From: a@x\nMessage-ID: <m@x>\nDate: {value}"))

    assert date("Wed, 2 Jul 2025 01:00:00 -0000").date == datetime(2025, 7, 2, 1, tzinfo=UTC)
    assert date("2 Jul 2025 01:00 -0500").date == datetime(2025, 7, 2, 6, tzinfo=UTC)
    unreadable = date("next Tuesday")
    assert unreadable.date is None
    assert any("unreadable Date" in p for p in unreadable.problems)


# -- Message-ID ------------------------------------------------------------------------------------


def test_missing_message_id_gets_a_stable_synthetic_one() -> None:
    raw = simple("From: a@example.com\nSubject: no id")
    first, again = parse_message(raw), parse_message(raw)
    other = parse_message(raw + b"!")
    assert SYNTHETIC_ID.fullmatch(first.message_id)
    assert first.message_id_missing
    assert first.message_id == again.message_id
    assert other.message_id != first.message_id
    assert parse_headers_fast(raw).message_id == first.message_id


def test_duplicate_message_id_header_uses_the_first_and_is_noted() -> None:
    parsed = parse_message(simple("From: a@x\nMessage-ID: <one@x>\nMessage-ID: <two@x>"))
    assert parsed.message_id == "<one@x>"
    assert not parsed.message_id_missing
    assert "duplicate Message-ID header: the first is used" in parsed.problems


def test_message_id_without_angle_brackets_is_wrapped_and_an_unusable_one_replaced() -> None:
    bare = parse_message(simple("From: a@x\nMessage-ID: bare@example.com"))
    assert bare.message_id == "<bare@example.com>"
    assert "Message-ID without angle brackets" in bare.problems
    blank = parse_message(simple("From: a@x\nMessage-ID: two words"))
    assert blank.message_id_missing and SYNTHETIC_ID.fullmatch(blank.message_id)


def test_fast_header_parse_agrees_with_the_full_parse() -> None:
    raw = simple("From: a@x\nSubject: =?utf-8?q?caf=C3=A9?=\nMessage-ID: <fast@x>")
    fast, full = parse_headers_fast(raw), parse_message(raw)
    assert (fast.message_id, fast.message_id_missing, fast.subject) == (
        full.message_id,
        full.message_id_missing,
        full.subject,
    )
    assert fast.subject == "café"


# -- attachments -----------------------------------------------------------------------------------


def test_attachments_keep_names_types_and_content() -> None:
    raw = mixed(
        crlf("Content-Type: text/plain; charset=utf-8\n\nSee attached."),
        attachment(b'attachment; filename="invoice.pdf"'),
        # RFC 2231 with a charset, RFC 2231 continuations, RFC 2047 (common though not standard)
        attachment(b"attachment; filename*=UTF-8''%E2%82%AC%20rates%20%C3%A4.pdf"),
        attachment(b"attachment; filename*0*=utf-8''Gr%C3%BC; filename*1*=%C3%9Fe.pdf"),
        attachment(b'attachment; filename="=?utf-8?b?0L7RgtGH0LXRgi5wZGY=?="'),
        attachment(b"attachment", content_type=b'application/pdf; name="by-type.pdf"'),
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "See attached."
    assert [a.file_name for a in parsed.attachments] == [
        "invoice.pdf",
        "€ rates ä.pdf",
        "Grüße.pdf",
        "отчет.pdf",
        "by-type.pdf",
    ]
    assert {a.content_type for a in parsed.attachments} == {"application/pdf"}
    assert {a.content for a in parsed.attachments} == {b"%PDF-1.4\n"}
    assert not any(a.inline for a in parsed.attachments)
    assert parsed.problems == ()


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b'attachment; filename="../../etc/passwd"', "passwd"),
        (b'attachment; filename="a\x00b.pdf"', "ab.pdf"),
        (b"attachment; filename*=utf-8''a%00b%0D%0A.pdf", "ab.pdf"),
        (b'attachment; filename="C:\\evil.exe"', "evil.exe"),
        (b'attachment; filename="C:\\\\Windows\\\\evil.exe"', "evil.exe"),
        (b'attachment; filename="/tmp/../.hidden"', "hidden"),
        (b'attachment; filename="..."', "attachment.pdf"),
        (b"attachment", "attachment.pdf"),
        (b"attachment; filename*=utf-8''%E2%80%AEfdp.exe", "fdp.exe"),  # right-to-left override
        (b'attachment; filename="report. . ."', "report"),
    ],
)
def test_hostile_attachment_names_are_made_safe(disposition: bytes, expected: str) -> None:
    parsed = parse_message(mixed(attachment(disposition)))
    assert [a.file_name for a in parsed.attachments] == [expected]


def test_over_long_file_name_is_cut_to_255_bytes_keeping_its_extension() -> None:
    name = safe_file_name("é" * 300 + ".pdf")
    assert len(name.encode()) <= 255
    assert name.endswith("é.pdf")
    assert safe_file_name("", "image/png") == "attachment.png"


def test_inline_image_keeps_its_content_id() -> None:
    raw = crlf(
        "From: a@x\nMessage-ID: <m@x>\n"
        'Content-Type: multipart/related; boundary="rel"\n\n'
        '--rel\nContent-Type: text/html\n\n<img src="cid:logo@x">\n'
        "--rel\nContent-Type: image/png\nContent-ID: <logo@x>\n"
        "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
        "--rel--\n"
    )
    parsed = parse_message(raw)
    assert parsed.html_body == '<img src="cid:logo@x">'
    (image,) = parsed.attachments
    assert (image.file_name, image.content_type, image.inline) == (
        "attachment.png",
        "image/png",
        True,
    )
    assert image.content_id == "logo@x"
    assert image.content == b"\x89PNG\r\n\x1a\n"


def test_text_part_marked_as_attachment_is_not_taken_as_the_body() -> None:
    raw = mixed(
        attachment(b'attachment; filename="notes.txt"', content_type=b"text/plain"),
        crlf("Content-Type: text/plain\n\nThe body"),
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "The body"
    assert [a.file_name for a in parsed.attachments] == ["notes.txt"]


def test_attached_message_is_kept_whole_and_its_text_is_not_the_body() -> None:
    raw = mixed(
        crlf("Content-Type: text/plain\n\nForwarding this."),
        crlf(
            "Content-Type: message/rfc822\n\n"
            "From: c@x\nSubject: Original question\nMessage-ID: <orig@x>\n\nInner text"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "Forwarding this."
    (forwarded,) = parsed.attachments
    assert forwarded.file_name == "Original question.eml"
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.content.startswith(b"From: c@x\r\nSubject: Original question\r\n")
    assert forwarded.content.endswith(b"\r\n\r\nInner text")


def test_attachments_of_types_not_allowed_are_dropped_and_named() -> None:
    raw = mixed(
        crlf("Content-Type: text/plain\n\nBody"),
        attachment(b'attachment; filename="Invoice.PDF"'),
        attachment(b'attachment; filename="setup.exe"', b"application/octet-stream"),
        attachment(b'attachment; filename="noextension"', b"application/octet-stream"),
    )
    parsed = parse_message(raw, allowed_attachment_types=(".pdf", "DOCX"))
    assert [a.file_name for a in parsed.attachments] == ["Invoice.PDF"]
    assert parsed.dropped_attachments == ("setup.exe", "noextension")
    everything = parse_message(raw)
    assert len(everything.attachments) == 3
    assert everything.dropped_attachments == ()


# -- delivery status notifications -----------------------------------------------------------------

DSN_HEADERS = """From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: orders@erp.example
Subject: Undelivered Mail Returned to Sender
Date: Tue,  1 Jul 2025 12:00:05 +0000 (UTC)
Message-ID: <20250701120005.4A1@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4A1.1751371205/mx.example.net"

This is a MIME-encapsulated message.

--4A1.1751371205/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--4A1.1751371205/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4A1
Arrival-Date: Tue,  1 Jul 2025 12:00:01 +0000 (UTC)

Final-Recipient: rfc822; nobody@customer.example
Original-Recipient: rfc822;Nobody@Customer.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.customer.example
Diagnostic-Code: smtp; 550 5.1.1 <nobody@customer.example>: Recipient address
    rejected: User unknown in local recipient table

Final-Recipient: rfc822; slow@customer.example
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mail.customer.example: Connection timed out

Final-Recipient: rfc822; full@customer.example
Action: failed
Status: 5.2.2 (mailbox full)
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

--4A1.1751371205/mx.example.net
Content-Description: Undelivered Message
Content-Type: {original_type}

Message-ID: <order-42@erp.example>
From: orders@erp.example
To: nobody@customer.example
Subject: Your order 42
{original_body}
--4A1.1751371205/mx.example.net--
"""


@pytest.mark.parametrize(
    ("original_type", "original_body"),
    [("message/rfc822", "\nYour order has shipped.\n"), ("text/rfc822-headers", "")],
)
def test_delivery_report_gives_failed_recipients_and_the_original_message_id(
    original_type: str, original_body: str
) -> None:
    raw = crlf(DSN_HEADERS.format(original_type=original_type, original_body=original_body))
    parsed = parse_message(raw)
    assert parsed.is_delivery_report
    assert parsed.auto_submitted
    assert parsed.failed_recipients == (
        FailedRecipient(
            "Nobody@Customer.example",
            "5.1.1",
            "550 5.1.1 <nobody@customer.example>: Recipient address rejected: "
            "User unknown in local recipient table",
        ),
        FailedRecipient("full@customer.example", "5.2.2", "552 5.2.2 Mailbox full"),
    )
    assert parsed.original_message_id == "<order-42@erp.example>"
    assert parsed.text_body.startswith("This is the mail system at host mx.example.net.")
    assert parsed.problems == ()


def test_delivery_status_outside_a_report_is_not_a_bounce() -> None:
    raw = crlf(
        DSN_HEADERS.format(original_type="message/rfc822", original_body="\nx\n").replace(
            "multipart/report; report-type=delivery-status;", "multipart/mixed;"
        )
    )
    parsed = parse_message(raw)
    assert not parsed.is_delivery_report
    assert parsed.failed_recipients == ()
    assert parsed.original_message_id == ""


# -- automated mail --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "automated"),
    [
        ("From: a@x\nAuto-Submitted: auto-replied", True),
        ("From: a@x\nAuto-Submitted: auto-generated; owner-email=x@y", True),
        ("From: a@x\nAuto-Submitted: no", False),
        ("From: a@x\nPrecedence: bulk", True),
        ("From: a@x\nPrecedence: junk", True),
        ("From: a@x\nPrecedence: List", True),
        ("From: a@x\nPrecedence: first-class", False),
        ("From: Mail Delivery System <MAILER-DAEMON@mx.example>", True),
        ("From: postmaster@example.com", True),
        ("From: a@x\nReturn-Path: <>", True),
        ("From: a@x\nX-Autoreply: yes", True),
        ("From: postmaster-fan@example.com\nReturn-Path: <bounce@x>", False),
    ],
)
def test_automated_mail_is_recognised(headers: str, automated: bool) -> None:
    assert parse_message(simple(headers + "\nMessage-ID: <m@x>")).auto_submitted is automated


# -- broken and hostile input ----------------------------------------------------------------------


def test_missing_closing_boundary_still_gives_the_body_and_the_attachment() -> None:
    raw = crlf(
        "From: a@x\nMessage-ID: <m@x>\nContent-Type: multipart/mixed; boundary=B\n\n"
        "--B\nContent-Type: text/plain\n\nBody text\n"
        '--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="a.pdf"\n'
        "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "Body text"
    assert [a.file_name for a in parsed.attachments] == ["a.pdf"]
    assert "malformed MIME: close boundary not found" in parsed.problems


def test_multipart_without_a_boundary_is_read_as_text_and_noted() -> None:
    raw = simple("From: a@x\nMessage-ID: <m@x>\nContent-Type: multipart/mixed", "just text")
    parsed = parse_message(raw)
    assert parsed.text_body == "just text"
    assert "malformed MIME: no boundary in multipart" in parsed.problems


def test_bad_base64_does_not_stop_the_parse() -> None:
    raw = mixed(
        crlf("Content-Type: text/plain\n\nBody"),
        b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64 at all===\x00",
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "Body"
    assert [a.file_name for a in parsed.attachments] == ["a.pdf"]
    assert any(p.startswith("malformed MIME: invalid base64") for p in parsed.problems)


def test_empty_input_is_an_empty_email_with_a_synthetic_id() -> None:
    parsed = parse_message(b"")
    assert SYNTHETIC_ID.fullmatch(parsed.message_id)
    assert parsed.message_id_missing
    assert (parsed.sender, parsed.subject, parsed.text_body, parsed.attachments) == (
        None,
        "",
        "",
        (),
    )
    assert "empty message" in parsed.problems


def test_input_without_headers_is_kept_as_text() -> None:
    parsed = parse_message(b"this is not an email at all\r\njust words\r\n")
    assert parsed.text_body == "this is not an email at all\njust words\n"
    assert parsed.message_id_missing
    assert "malformed MIME: missing header body separator" in parsed.problems


GARBAGE = [
    b"\x00" * 100,
    b"\r\n\r\n\r\n",
    b":",
    b" folded first line\r\nSubject: x\r\n\r\n",
    b"From: a@x\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
    b'Content-Type: multipart/mixed; boundary="\r\n\r\n--"\r\n',
    b'Content-Type: ;;;==;"\r\nContent-Disposition: attachment; filename*99999=x\r\n\r\nx',
    b"Content-Type: text/plain; charset*=idna''x\r\n\r\n\xff\xfe",
    b"Content-Type: text/plain; charset=utf-7\r\n\r\n+2AA-",
    b"Content-Type: text/plain; charset=undefined\r\n\r\nabc",
    b"Content-Type: text/plain; charset=base64\r\n\r\nabc",
    b"Content-Type: message/rfc822\r\n\r\n" * 50,
    b"Content-Type: message/delivery-status\r\n\r\n\r\n\r\nAction: failed\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
    b"Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n!!\r\n--b",
    b"Subject: =?utf-8?b?####?= =?utf-8?q?=ZZ?= =?\r\n"
    b"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n\r\n",
    b"From: ((((((((((((((((((((((((((((\r\nTo: <<<<>>>>,,,,;;;;::::\r\n\r\n",
    b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n!!!!\r\nend\r\n",
]


@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_gives_a_result_not_an_exception(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedEmail)
    assert parsed.message_id.startswith("<") and parsed.message_id.endswith(">")
    for text in (parsed.subject, parsed.text_body, parsed.html_body, *parsed.problems):
        text.encode("utf-8")  # valid text, storable as is


def test_random_bytes_and_every_truncation_of_a_real_message_parse() -> None:
    rng = random.Random(20250701)
    for _ in range(200):
        assert isinstance(parse_message(rng.randbytes(rng.randrange(1, 2000))), ParsedEmail)
    message = crlf(DSN_HEADERS.format(original_type="message/rfc822", original_body="\nbody\n"))
    for end in range(0, len(message), 7):
        assert isinstance(parse_message(message[:end]), ParsedEmail)


MEGABYTE = 1_000_000


def test_huge_headers_are_read_in_linear_time() -> None:
    # Each of these is quadratic in the stdlib's parsers: many seconds to minutes at this size.
    group = "To: team: " + "member@example.com, " * (MEGABYTE // 20) + "last@example.com;"
    params = "Content-Type: multipart/mixed; boundary=B" + "; p=v" * (MEGABYTE // 5)
    raw = crlf(
        "From: a@x\nMessage-ID: <m@x>\n"
        f"Subject: {'word ' * (MEGABYTE // 5)}\n{group}\n"
        f"References: {'<r@x> ' * (MEGABYTE // 6)}\n{params}\n\n"
        "--B\nContent-Type: text/plain\n\nstill read\n--B--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text_body == "still read"
    assert len(parsed.to) == MEGABYTE // 20 + 1
    assert parsed.to[-1].address == "last@example.com"
    assert parsed.references == ("<r@x>",)
    assert parsed.subject.startswith("word word")


def test_over_long_address_and_message_id_are_refused_not_kept() -> None:
    name = "x" * MEGABYTE
    raw = simple(f'From: a@x\nTo: "{name}" <big@x>, ok@x\nMessage-ID: <{"i" * MEGABYTE}@x>')
    parsed = parse_message(raw)
    assert [a.address for a in parsed.to] == ["ok@x"]
    assert parsed.message_id_missing
    assert "over-long address in To skipped" in parsed.problems


def test_deeply_nested_parts_are_refused_and_moderate_nesting_is_read() -> None:
    def nested(depth: int, body: str) -> bytes:
        levels = "".join(
            f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth)
        )
        return crlf(f"From: a@x\nMessage-ID: <m@x>\nSubject: deep\n{levels}\n{body}")

    # 900 levels over 200,000 lines: the stdlib alone tries 900 boundaries on every line.
    deep = parse_message(nested(900, "--x\n" * 200_000))
    assert deep.subject == "deep"
    assert deep.text_body == ""
    assert "MIME structure nested too deeply: only the headers were read" in deep.problems
    moderate = parse_message(nested(20, "text at the bottom\n"))
    assert moderate.text_body == "text at the bottom"
