"""The message erpmail sends: parsed back from the composed bytes, as a receiver would read it."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage, MIMEPart
from typing import Any, cast

import pytest
from erpmail.server.outgoing.compose import (
    compose,
    envelope_recipients,
    make_message_id,
    needs_smtputf8,
    split_per_to,
    tagged_subject,
    tracking_tag,
)
from erpmail.server.outgoing.models import Address, Attachment, Content, Header

SENDER = Address("erp@example.com", "ACME ERP")
MESSAGE_ID = "<erpmail.123.0a1b2c@example.com>"
DATE = datetime(2024, 3, 5, 14, 30, 0, tzinfo=timezone(timedelta(hours=1)))


def _content(**changes: Any) -> Content:
    content = Content(
        to=[Address("bob@example.com", "Bob")],
        subject="Invoice 42",
        text_body="Hello Bob,\nthe invoice is attached.",
    )
    for name, value in changes.items():
        setattr(content, name, value)
    return content


def _compose(content: Content, **changes: Any) -> bytes:
    arguments: dict[str, Any] = {
        "sender": SENDER,
        "message_id": MESSAGE_ID,
        "tag": "[#123]",
        "signature_text": "",
        "signature_html": "",
        "date": DATE,
    }
    arguments.update(changes)
    return compose(content, **arguments)


def _parse(raw: bytes) -> EmailMessage:
    # The stdlib parser reads header bytes as ASCII; UTF-8 headers (SMTPUTF8) need a str.
    text = raw.decode("utf-8")
    return email.message_from_string(text, policy=policy.default)


def _body(part: MIMEPart | None) -> str:
    assert part is not None
    # On the wire every line ends in CRLF; the text as written used LF.
    return cast(str, part.get_content()).replace("\r\n", "\n")


def test_headers_name_sender_recipients_subject_date_and_message_id() -> None:
    content = _content(
        to=[Address("bob@example.com", "Bob")], cc=[Address("carol@example.com", "Carol")]
    )

    message = _parse(_compose(content))

    assert message["From"] == "ACME ERP <erp@example.com>"
    assert message["To"] == "Bob <bob@example.com>"
    assert message["Cc"] == "Carol <carol@example.com>"
    assert message["Subject"] == "Invoice 42 [#123]"
    assert message["Date"].datetime == DATE
    assert message["Message-ID"] == MESSAGE_ID
    assert message["MIME-Version"] == "1.0"
    assert message["Reply-To"] is None


def test_bcc_recipients_never_appear_in_the_message() -> None:
    content = _content(bcc=[Address("hidden@example.com", "Hidden Person")])

    raw = _compose(content)

    assert b"hidden@example.com" not in raw
    assert b"Hidden Person" not in raw
    assert _parse(raw)["Bcc"] is None
    assert "hidden@example.com" in envelope_recipients(content)


def test_an_email_with_only_bcc_recipients_says_they_are_undisclosed() -> None:
    message = _parse(_compose(_content(to=[], bcc=[Address("hidden@example.com")])))

    assert message["To"] == "undisclosed-recipients:;"
    assert b"hidden" not in _compose(_content(to=[], bcc=[Address("hidden@example.com")]))


def test_reply_to_is_the_emails_own_before_the_accounts_reply_address() -> None:
    own = _content(reply_to=[Address("sales@example.com", "Sales")])

    assert _parse(_compose(own, reply_address="noreply@example.com"))["Reply-To"] == (
        "Sales <sales@example.com>"
    )
    assert _parse(_compose(_content(), reply_address="replies@example.com"))["Reply-To"] == (
        "replies@example.com"
    )


def test_extra_headers_follow_the_standard_ones_in_their_order() -> None:
    content = _content(
        headers=[
            Header("X-Priority", "1"),
            Header("In-Reply-To", "<erpmail.7.ab@example.com>"),
            Header("References", "<erpmail.6.ab@example.com> <erpmail.7.ab@example.com>"),
        ]
    )

    message = _parse(_compose(content))

    names = list(message.keys())
    assert names[: names.index("MIME-Version") + 1] == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
    ]
    assert names[names.index("MIME-Version") + 1 :][:3] == [
        "X-Priority",
        "In-Reply-To",
        "References",
    ]
    assert message["In-Reply-To"] == "<erpmail.7.ab@example.com>"


def test_a_text_email_is_one_utf8_part_with_the_signature_after_the_separator() -> None:
    message = _parse(_compose(_content(), signature_text="Regards,\nACME"))

    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert _body(message) == "Hello Bob,\nthe invoice is attached.\n-- \nRegards,\nACME\n"


def test_an_html_email_gets_the_html_signature_before_the_closing_body_tag() -> None:
    content = _content(text_body="", html_body="<html><body><p>Hello</p></body></html>")

    message = _parse(_compose(content, signature_html="<p>Regards</p>", signature_text="Regards"))

    assert message.get_content_type() == "text/html"
    assert _body(message).strip() == "<html><body><p>Hello</p><p>Regards</p></body></html>"


def test_an_html_signature_is_appended_when_the_body_has_no_closing_tag() -> None:
    content = _content(text_body="", html_body="<p>Hello</p>")

    message = _parse(_compose(content, signature_html="<p>Regards</p>"))

    assert _body(message).strip() == "<p>Hello</p><p>Regards</p>"


def test_text_and_html_bodies_are_alternatives_each_with_its_signature() -> None:
    content = _content(text_body="Hello", html_body="<html><body>Hello</body></html>")

    message = _parse(_compose(content, signature_text="Regards", signature_html="<b>Regards</b>"))

    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert _body(message.get_body(("plain",))) == "Hello\n-- \nRegards\n"
    assert "Hello<b>Regards</b></body>" in _body(message.get_body(("html",)))


def test_attachments_make_a_mixed_message_after_the_bodies() -> None:
    content = _content(
        html_body="<p>Hello</p>",
        attachments=[
            Attachment("invoice.pdf", "application/pdf", b"%PDF-1.4\x00\xff"),
            Attachment("notes.txt", "text/plain", b"line\r\n"),
        ],
    )

    message = _parse(_compose(content))

    assert message.get_content_type() == "multipart/mixed"
    parts = list(message.iter_parts())
    assert parts[0].get_content_type() == "multipart/alternative"
    attachments = list(message.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("invoice.pdf", "application/pdf"),
        ("notes.txt", "text/plain"),
    ]
    assert [a.get_content_disposition() for a in attachments] == ["attachment", "attachment"]
    assert attachments[0].get_content() == b"%PDF-1.4\x00\xff"
    assert message.get_body(("html",)) is not None


def test_only_the_top_of_the_message_declares_the_mime_version() -> None:
    content = _content(
        html_body="<p>Hello</p>", attachments=[Attachment("a.pdf", "application/pdf", b"x")]
    )

    message = _parse(_compose(content))

    assert [part["MIME-Version"] for part in message.walk()][1:] == [None] * 4


def test_a_non_ascii_display_name_is_encoded_and_round_trips() -> None:
    raw = _compose(
        _content(to=[Address("jorg@example.com", "Jörg Müller")]),
        sender=Address("erp@example.com", "Zoë Ünal, ACME"),
    )

    assert raw.isascii()
    assert b"=?utf-8?" in raw
    message = _parse(raw)
    assert message["From"].addresses[0].display_name == "Zoë Ünal, ACME"
    assert message["To"].addresses[0].display_name == "Jörg Müller"


def test_a_non_ascii_subject_and_body_are_encoded_and_round_trip() -> None:
    content = _content(subject="Grüße aus Köln", text_body="Schöne Grüße\n")

    raw = _compose(content)

    assert raw.isascii()
    message = _parse(raw)
    assert message["Subject"] == "Grüße aus Köln [#123]"
    assert _body(message) == "Schöne Grüße\n"


def test_a_non_ascii_file_name_is_encoded_per_rfc_2231_and_round_trips() -> None:
    content = _content(attachments=[Attachment("Rechnung März.pdf", "application/pdf", b"x")])

    raw = _compose(content)

    assert raw.isascii()
    assert b"filename*=utf-8''Rechnung%20M%C3%A4rz.pdf" in raw
    assert next(_parse(raw).iter_attachments()).get_filename() == "Rechnung März.pdf"


def test_non_ascii_addresses_are_written_as_utf8_for_smtputf8() -> None:
    content = _content(to=[Address("jörg@bücher.example", "Jörg")])

    raw = _compose(content)

    assert needs_smtputf8(content, SENDER)
    assert "To: Jörg <jörg@bücher.example>".encode() in raw
    address = _parse(raw)["To"].addresses[0]
    assert (address.username, address.domain) == ("jörg", "bücher.example")


def test_ascii_addresses_need_no_smtputf8() -> None:
    content = _content(cc=[Address("carol@example.com", "Cäcilie")])

    assert not needs_smtputf8(content, SENDER, reply_address="replies@example.com")
    assert needs_smtputf8(content, SENDER, reply_address="antwort@bücher.example")
    assert needs_smtputf8(_content(bcc=[Address("jörg@example.com")]), SENDER)


def test_every_line_ends_with_crlf() -> None:
    content = _content(
        text_body="one\ntwo\r\nthree\rfour",
        html_body="<p>x</p>\n",
        attachments=[Attachment("a.bin", "application/octet-stream", b"\n" * 100)],
        headers=[Header("References", " ".join(f"<erpmail.{i}.ab@example.com>" for i in range(9)))],
    )

    raw = _compose(content, signature_text="sig\nnature")

    assert raw.count(b"\n") > 20
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert raw.count(b"\r") == raw.count(b"\r\n")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_the_same_inputs_give_the_same_bytes() -> None:
    content = _content(
        html_body="<p>Hello</p>", attachments=[Attachment("a.pdf", "application/pdf", b"x")]
    )

    assert _compose(content) == _compose(content)
    assert _compose(content) != _compose(content, message_id="<erpmail.124.0a1b2c@example.com>")


def test_a_boundary_never_collides_with_a_body() -> None:
    attachment = Attachment("a.pdf", "application/pdf", b"x")
    first = _compose(_content(attachments=[attachment]))
    boundary = re.search(rb'boundary="([^"]+)"', first)
    assert boundary is not None
    hostile = f"--{boundary.group(1).decode()}\nContent-Type: text/html\n\n<script>"

    message = _parse(_compose(_content(text_body=hostile, attachments=[attachment])))

    assert _body(message.get_body(("plain",))) == hostile + "\n"
    assert [p.get_content_type() for p in message.iter_parts()] == [
        "text/plain",
        "application/pdf",
    ]


def test_a_naive_date_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        _compose(_content(), date=datetime(2024, 3, 5, 14, 30))


def test_the_email_package_refuses_header_injection_even_past_validation() -> None:
    with pytest.raises(ValueError):
        _compose(_content(subject="Hi\r\nBcc: evil@example.com"))
    with pytest.raises(ValueError):
        _compose(_content(headers=[Header("X-Ref", "1\nBcc: evil@example.com")]))


def test_the_tracking_tag_is_prefix_number_suffix() -> None:
    assert tracking_tag("[#", 123, "]") == "[#123]"
    assert tracking_tag("<ERP-", 7, ">") == "<ERP-7>"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Invoice 42", "Invoice 42 [#123]"),
        ("Re: Invoice 42 [#123]", "Re: Invoice 42 [#123]"),
        ("Invoice 42 [#1234]", "Invoice 42 [#1234] [#123]"),
        ("", "[#123]"),
        ("   ", "[#123]"),
    ],
)
def test_the_tag_is_added_to_the_subject_once(subject: str, expected: str) -> None:
    assert tagged_subject(subject, "[#123]") == expected


def test_no_tag_leaves_the_subject_alone() -> None:
    assert tagged_subject("Invoice 42", "") == "Invoice 42"


def test_a_message_id_names_the_email_number_token_and_domain() -> None:
    assert make_message_id(123, "example.com", "0a1b2c") == "<erpmail.123.0a1b2c@example.com>"
    assert make_message_id(5, "bücher.example", "ab") == "<erpmail.5.ab@xn--bcher-kva.example>"


@pytest.mark.parametrize(("domain", "token"), [("", "ab"), ("example.com", "a b"), ("x.y", "")])
def test_a_message_id_needs_a_domain_and_a_plain_token(domain: str, token: str) -> None:
    with pytest.raises(ValueError):
        make_message_id(1, domain, token)


def test_one_email_per_to_address_each_keeping_cc_bcc_and_the_rest() -> None:
    content = _content(
        to=[Address("bob@example.com", "Bob"), Address("ann@example.com")],
        cc=[Address("carol@example.com")],
        bcc=[Address("dave@example.com")],
        attachments=[Attachment("a.pdf", "application/pdf", b"x")],
        headers=[Header("X-Priority", "1")],
    )

    copies = split_per_to(content)

    assert [c.to for c in copies] == [
        [Address("bob@example.com", "Bob")],
        [Address("ann@example.com")],
    ]
    for copy in copies:
        assert copy.cc == content.cc
        assert copy.bcc == content.bcc
        assert (copy.subject, copy.text_body) == (content.subject, content.text_body)
        assert copy.attachments == content.attachments
        assert copy.headers == content.headers


def test_split_copies_share_no_list_with_each_other_or_the_original() -> None:
    content = _content(
        to=[Address("bob@example.com"), Address("ann@example.com")],
        cc=[Address("carol@example.com")],
    )

    first, second = split_per_to(content)
    first.cc.append(Address("extra@example.com"))
    first.headers.append(Header("X-A", "1"))

    assert second.cc == [Address("carol@example.com")]
    assert content.cc == [Address("carol@example.com")]
    assert second.headers == content.headers == []


def test_an_email_without_to_addresses_stays_one_email() -> None:
    content = _content(to=[], cc=[Address("carol@example.com")])

    copies = split_per_to(content)

    assert len(copies) == 1
    assert copies[0] == content
    assert copies[0] is not content


def test_envelope_recipients_are_to_cc_and_bcc_once_in_order() -> None:
    content = _content(
        to=[Address("Bob@Example.com"), Address("ann@example.com")],
        cc=[Address("bob@example.com"), Address("carol@example.com")],
        bcc=[Address("ANN@example.com"), Address("dave@example.com")],
    )

    assert envelope_recipients(content) == [
        "Bob@Example.com",
        "ann@example.com",
        "carol@example.com",
        "dave@example.com",
    ]


def test_datetime_in_utc_is_written_with_its_offset() -> None:
    message = _parse(_compose(_content(), date=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)))

    assert message["Date"] == "Tue, 02 Jan 2024 03:04:05 +0000"
