"""What an outgoing email may contain: every problem reported at once, each naming its field, and
nothing a caller writes can add a header to the composed message."""

from __future__ import annotations

from typing import Any

import pytest
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.outgoing.models import Address, Attachment, Content, Header, RelatedEntity
from erpmail.server.outgoing.validation import normalize_content, validate_content


def _content(**changes: object) -> Content:
    content = Content(
        to=[Address("bob@example.com", "Bob")],
        subject="Invoice 42",
        text_body="Please find the invoice attached.",
        attachments=[Attachment("invoice.pdf", "application/pdf", b"%PDF-1.4")],
    )
    for name, value in changes.items():
        setattr(content, name, value)
    return content


def _violations(content: Content, **options: Any) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as raised:
        validate_content(content, **options)
    return {v.field: v.description for v in raised.value.violations}


def test_a_well_formed_email_passes() -> None:
    validate_content(
        _content(
            cc=[Address("carol@example.com")],
            bcc=[Address("dave@example.com")],
            reply_to=[Address("sales@example.com", "Sales")],
            headers=[Header("In-Reply-To", "<a@b>"), Header("References", "<a@b> <c@d>")],
            related_entity=RelatedEntity("invoice", "42", "Invoice 42 for ACME"),
        )
    )


def test_an_email_needs_a_recipient_reported_on_to() -> None:
    assert set(_violations(_content(to=[]))) == {"email.to"}


def test_a_bcc_alone_is_enough_of_a_recipient() -> None:
    validate_content(_content(to=[], bcc=[Address("dave@example.com")]))


def test_every_problem_is_reported_at_once_with_its_field() -> None:
    content = _content(
        to=[Address("bob@example.com"), Address("not an address")],
        cc=[Address("carol@example.com", "Carol\r\nBcc: evil@example.com")],
        subject="Hi\nBcc: evil@example.com",
        attachments=[Attachment("", "application/pdf", b"")],
    )

    assert set(_violations(content)) == {
        "email.to[1].address",
        "email.cc[0].name",
        "email.subject",
        "email.attachments[0].file_name",
    }


def test_the_field_prefix_is_the_callers() -> None:
    assert set(_violations(_content(to=[]), field="request.email")) == {"request.email.to"}


@pytest.mark.parametrize(
    "value",
    [
        "a\r\nBcc: evil@example.com",
        "a\nBcc: evil@example.com",
        "a\rBcc: evil@example.com",
        "a\u2028Bcc: evil@example.com",
        "a\x0bb",
        "a\x00b",
    ],
)
def test_line_breaks_and_control_characters_are_refused_everywhere_they_could_inject(
    value: str,
) -> None:
    content = _content(
        to=[Address("bob@example.com", value)],
        reply_to=[Address("x@example.com" + value)],
        subject=value,
        headers=[Header("X-Ref", value)],
        attachments=[Attachment("a" + value + ".pdf", "application/pdf", b"")],
        related_entity=RelatedEntity(type=value, id=value, description=value),
    )

    assert set(_violations(content)) == {
        "email.to[0].name",
        "email.reply_to[0].address",
        "email.subject",
        "email.headers[0].value",
        "email.attachments[0].file_name",
        "email.related_entity.type",
        "email.related_entity.id",
        "email.related_entity.description",
    }


def test_a_tab_in_a_subject_is_allowed() -> None:
    validate_content(_content(subject="Order\t42"))


def test_addresses_are_checked_in_every_list() -> None:
    content = _content(
        to=[Address("bob@example.com"), Address("bob@")],
        cc=[Address("")],
        bcc=[Address("two@@example.com")],
        reply_to=[Address("reply example.com")],
    )

    assert _violations(content) == {
        "email.to[1].address": "is not an email address",
        "email.cc[0].address": "is required",
        "email.bcc[0].address": "is not an email address",
        "email.reply_to[0].address": "is not an email address",
    }


def test_a_subject_is_at_most_998_characters() -> None:
    validate_content(_content(subject="x" * 998))
    assert set(_violations(_content(subject="x" * 999))) == {"email.subject"}


@pytest.mark.parametrize("name", ["X Ref", "X-Réf", "X:Ref", "", "X" * 77])
def test_header_names_follow_rfc_5322_field_name_syntax(name: str) -> None:
    content = _content(headers=[Header("X-Fine", "1"), Header(name, "1")])

    assert set(_violations(content)) == {"email.headers[1].name"}


@pytest.mark.parametrize(
    "name",
    [
        "From",
        "sender",
        "TO",
        "Cc",
        "bcc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "content-transfer-encoding",
        "Content-Disposition",
        "Return-Path",
        "Received",
        "DKIM-Signature",
        "Resent-To",
    ],
)
def test_headers_erpmail_writes_itself_are_refused_in_any_case(name: str) -> None:
    assert set(_violations(_content(headers=[Header(name, "x")]))) == {"email.headers[0].name"}


def test_reply_threading_headers_are_allowed() -> None:
    validate_content(
        _content(
            headers=[
                Header("In-Reply-To", "<erpmail.1.ab@example.com>"),
                Header("References", "<erpmail.1.ab@example.com>"),
                Header("X-Priority", "1"),
            ]
        )
    )


@pytest.mark.parametrize(
    "file_name", ["", "   ", "../etc/passwd", "dir/report.pdf", "c:\\report.pdf", "..", "a\tb"]
)
def test_an_attachment_needs_a_plain_file_name(file_name: str) -> None:
    content = _content(attachments=[Attachment(file_name, "application/pdf", b"x")])

    assert set(_violations(content)) == {"email.attachments[0].file_name"}


@pytest.mark.parametrize(
    "content_type",
    ["pdf", "application/pdf; name=x", "multipart/mixed", "message/rfc822", "text/ plain"],
)
def test_an_attachment_type_is_a_plain_leaf_mime_type(content_type: str) -> None:
    content = _content(attachments=[Attachment("a.pdf", content_type, b"x")])

    assert set(_violations(content)) == {"email.attachments[0].content_type"}


def test_each_attachment_has_a_size_limit() -> None:
    content = _content(
        attachments=[
            Attachment("small.pdf", "application/pdf", b"x" * 10),
            Attachment("large.pdf", "application/pdf", b"x" * 11),
        ]
    )

    assert set(_violations(content, max_attachment_bytes=10)) == {"email.attachments[1].content"}


def test_attachments_together_have_a_size_limit() -> None:
    content = _content(
        attachments=[Attachment(f"{i}.pdf", "application/pdf", b"x" * 10) for i in range(3)]
    )

    validate_content(content, max_attachment_bytes=10, max_total_bytes=30)
    violations = _violations(content, max_attachment_bytes=10, max_total_bytes=29)
    assert set(violations) == {"email.attachments"}
    assert "30 bytes" in violations["email.attachments"]


def test_normalize_trims_addresses_and_names_without_changing_case() -> None:
    content = _content(
        to=[Address("  Bob@Example.com\t", " Bob ")],
        cc=[Address(" carol@example.com")],
        bcc=[Address("dave@example.com ")],
        reply_to=[Address(" Sales@Example.com ")],
    )

    normalize_content(content)

    assert content.to == [Address("Bob@Example.com", "Bob")]
    assert content.cc == [Address("carol@example.com")]
    assert content.bcc == [Address("dave@example.com")]
    assert content.reply_to == [Address("Sales@Example.com")]
    validate_content(content)


@pytest.mark.parametrize(
    ("file_name", "given", "expected"),
    [
        ("invoice.pdf", "", "application/pdf"),
        ("SCAN.PNG", "", "image/png"),
        ("notes.txt", "", "text/plain"),
        ("data", "", "application/octet-stream"),
        ("backup.tar.gz", "", "application/octet-stream"),
        ("forwarded.eml", "", "application/octet-stream"),
        ("invoice.pdf", "application/x-custom", "application/x-custom"),
    ],
)
def test_normalize_guesses_an_empty_attachment_type_from_the_file_name(
    file_name: str, given: str, expected: str
) -> None:
    content = _content(attachments=[Attachment(file_name, given, b"x")])

    normalize_content(content)

    assert content.attachments == [Attachment(file_name, expected, b"x")]
    validate_content(content)
