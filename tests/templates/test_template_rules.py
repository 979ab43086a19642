"""A template is checked whole before it is saved: the description is required, every field's
syntax is checked with the position of its first problem, literal addresses and sizes too, and
place-holders are checked against the data source's fields when the ERP lists them. Welcome
templates hold the sources' four place-holders in order."""

from __future__ import annotations

import pytest
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.outgoing.validation import MAX_ATTACHMENT_BYTES
from erpmail.server.templates.models import (
    Template,
    TemplateAttachment,
    check_welcome_template,
    normalize_template,
    slug,
    validate_template,
)


def problems(template: Template, *, require_description: bool = True) -> dict[str, str]:
    """Each field with its problems, joined by " | "."""
    with pytest.raises(InvalidArgument) as caught:
        validate_template(template, require_description=require_description)
    found: dict[str, str] = {}
    for v in caught.value.violations:
        before = found.get(v.field)
        found[v.field] = f"{before} | {v.description}" if before else v.description
    return found


def valid(**fields: object) -> Template:
    template = Template("order-confirmation", description="Order confirmation")
    for name, value in fields.items():
        setattr(template, name, value)
    return template


def test_a_complete_template_is_valid() -> None:
    validate_template(
        valid(
            to="((Customer.Name)) <((Customer.Email))>, sales@x.example",
            subject="Order ((OrderNbr))",
            html_body='<table><foreach view="Lines"><tr><td>((Qty))</td></tr></foreach></table>',
            text_body="Thanks, ((Customer.Name))",
            locale="nb-NO",
            data_source="SalesOrder",
            known_fields=["Customer.Name", "Customer.Email", "OrderNbr", "Lines.Qty"],
        )
    )


def test_the_description_is_required() -> None:
    assert problems(valid(description="")) == {"template.description": "is required"}


def test_a_preview_may_leave_out_the_description() -> None:
    validate_template(valid(description="", template_id=""), require_description=False)


def test_every_problem_is_reported_at_once_with_positions() -> None:
    found = problems(
        valid(
            template_id="bad id",
            subject="Order ((Nbr",
            html_body='<p>\n<foreach view="Lines">',
            cc="not-an-address",
            locale="english please",
        )
    )

    assert set(found) == {
        "template.template_id",
        "template.subject",
        "template.html_body",
        "template.cc",
        "template.locale",
    }
    assert found["template.subject"].startswith("line 1, column 7: place-holder is not closed")
    assert found["template.html_body"].startswith("line 2, column 1: ")
    assert "not an email address" in found["template.cc"]


@pytest.mark.parametrize("name", ["to", "cc", "bcc", "subject"])
def test_header_fields_are_one_line(name: str) -> None:
    assert (
        "one line"
        in problems(valid(**{name: "a@x.example\r\nBcc: b@x.example"}))[f"template.{name}"]
    )


def test_loops_are_refused_in_the_subject() -> None:
    found = problems(valid(subject='<foreach view="Lines">x</foreach>'))

    assert "only in a body" in found["template.subject"]


def test_unknown_fields_are_refused_when_the_source_lists_its_fields() -> None:
    found = problems(
        valid(
            data_source="SalesOrder",
            known_fields=["OrderNbr", "Lines.Qty"],
            subject="((OrderNbr)) for ((Custmer.Name))",
            html_body='<foreach view="Lines">((Qty)) ((Price))</foreach>'
            '<foreach view="Rows"></foreach>',
        )
    )

    assert found["template.subject"] == (
        "line 1, column 18: ((Custmer.Name)) is not a known field of SalesOrder"
    )
    assert "((Price)) is not a known field" in found["template.html_body"]
    assert '<foreach view="Rows"> is not a known field' in found["template.html_body"]


def test_a_line_field_is_known_by_any_name_it_can_be_written_with() -> None:
    validate_template(
        valid(
            known_fields=["Order.Lines.Qty", "Order.Lines.Taxes.Rate", "Company"],
            html_body='<foreach view="Order.Lines">((Qty)) ((Lines.Qty)) ((Order.Lines.Qty))'
            '<foreach view="Taxes">((Rate)) ((Taxes.Rate)) ((Company))</foreach></foreach>',
        )
    )


def test_without_a_field_list_any_field_may_be_used() -> None:
    validate_template(valid(data_source="SalesOrder", text_body="((Anything.At.All))"))


def test_known_fields_must_be_field_names() -> None:
    found = problems(valid(known_fields=["OK", "not ok"]))

    assert set(found) == {"template.known_fields[1]"}


def test_attachments_are_checked_like_an_emails() -> None:
    found = problems(
        valid(
            attachments=[
                TemplateAttachment.of("../etc/passwd", "text/plain", b"x"),
                TemplateAttachment.of("a.pdf", "not a type", b"x"),
                TemplateAttachment.of("big.bin", "application/octet-stream", bytes(1)),
            ]
        )
    )

    assert set(found) == {
        "template.attachments[0].file_name",
        "template.attachments[1].content_type",
    }


def test_an_attachment_over_the_size_limit_is_refused() -> None:
    big = TemplateAttachment("big.bin", "application/octet-stream", b"", MAX_ATTACHMENT_BYTES + 1)

    assert "template.attachments[0].content" in problems(valid(attachments=[big]))


def test_a_body_over_the_size_limit_is_refused() -> None:
    assert "at most 1000000" in problems(valid(text_body="x" * 1_000_001))["template.text_body"]


def test_normalizing_trims_identifiers_and_guesses_attachment_types() -> None:
    template = normalize_template(
        valid(
            description="  Order  ",
            to=" a@x.example ",
            subject=" keeps its spaces ",
            attachments=[TemplateAttachment.of("terms.pdf", "", b"%PDF")],
        )
    )

    assert template.description == "Order" and template.to == "a@x.example"
    assert template.subject == " keeps its spaces "
    assert template.attachments[0].content_type == "application/pdf"


@pytest.mark.parametrize(
    ("description", "made"),
    [
        ("Order confirmation (EU)", "order-confirmation-eu"),
        ("Bestätigung für Kunden", "bestatigung-fur-kunden"),
        ("  --User  welcome--  ", "user-welcome"),
        ("!!!", "template"),
        ("日本語", "template"),
        ("x" * 100, "x" * 56),
    ],
)
def test_the_template_id_is_made_from_the_description(description: str, made: str) -> None:
    assert slug(description) == made


def welcome(body: str) -> Template:
    return Template("welcome", description="Welcome", html_body=body)


def test_a_welcome_template_holds_the_four_placeholders_in_order() -> None:
    check_welcome_template(
        welcome("((Company)) welcomes ((Name)): login ((Username)), password ((Password))."),
        "system_templates.new_user_welcome_template_id",
    )


@pytest.mark.parametrize(
    "body",
    [
        "((Name)) ((Company)) ((Username)) ((Password))",
        "((Company)) ((Name)) ((Username))",
        "",
    ],
)
def test_a_welcome_template_out_of_order_or_missing_one_is_refused(body: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_welcome_template(welcome(body), "system_templates.new_user_welcome_template_id")

    [violation] = caught.value.violations
    assert violation.field == "system_templates.new_user_welcome_template_id"
    assert "'welcome'" in violation.description
