"""Rendering fills a template with data: paths through related objects, loops over detail lines
with the current line looked at first, HTML escaping in the HTML body only, missing values named
(or empty when lenient), and bounds that hold whatever the data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from erpmail.server.outgoing.models import Address, Attachment
from erpmail.server.templates.formatting import format_value
from erpmail.server.templates.models import Template, TemplateAttachment
from erpmail.server.templates.render import (
    MAX_LOOP_ITERATIONS,
    MAX_RENDERED_CHARS,
    RenderError,
    render,
)

ORDER = {
    "Customer": {"Name": "Ada <Lovelace>", "Email": "ada@customer.example"},
    "OrderNbr": "SO-42",
    "Lines": [
        {"Item": "Bolt", "Qty": 3.0, "Taxes": [{"Rate": 25.0}]},
        {"Item": "Nut & washer", "Qty": 2.5, "Taxes": []},
    ],
}


def text(body: str, data: object = ORDER, *, lenient: bool = False) -> str:
    return render(Template("t", text_body=body), data, lenient=lenient).text_body  # type: ignore[arg-type]


def html(body: str, data: object = ORDER) -> str:
    return render(Template("t", html_body=body), data).html_body  # type: ignore[arg-type]


def error(template: Template, data: object = ORDER, *, lenient: bool = False) -> RenderError:
    with pytest.raises(RenderError) as caught:
        render(template, data, lenient=lenient)  # type: ignore[arg-type]
    return caught.value


def test_a_placeholder_is_replaced_by_its_value() -> None:
    assert text("Order ((OrderNbr)) is ready.") == "Order SO-42 is ready."


def test_a_dotted_placeholder_goes_down_through_related_objects() -> None:
    data = {"Case": {"OwnerID": {"Email": "owner@staff.example"}}}

    assert text("((Case.OwnerID.Email))", data) == "owner@staff.example"


def test_a_loop_writes_its_content_once_per_line() -> None:
    body = '<foreach view="Lines">((Item)) x ((Lines.Qty)); </foreach>'

    assert text(body) == "Bolt x 3; Nut & washer x 2.5; "


def test_inside_a_loop_the_current_line_is_looked_at_before_the_data() -> None:
    data = {"Item": "outer", "Note": "from the top", "Lines": [{"Item": "inner"}]}

    assert text('<foreach view="Lines">((Item)) ((Note))</foreach>', data) == "inner from the top"


def test_a_nested_loop_walks_the_current_lines_list() -> None:
    body = '<foreach view="Lines">((Item)):<foreach view="Taxes">((Rate))% of ((Qty))</foreach>;'
    body += "</foreach>"

    assert text(body) == "Bolt:25% of 3;Nut & washer:;"


def test_a_loop_over_a_dotted_view_is_reached_by_its_last_name_or_in_full() -> None:
    data = {"Order": {"Lines": [{"Qty": 1}]}}
    body = '<foreach view="Order.Lines">((Lines.Qty))/((Order.Lines.Qty))/((Qty))</foreach>'

    assert text(body, data) == "1/1/1"


def test_a_null_list_writes_no_lines() -> None:
    assert text('[<foreach view="Lines">x</foreach>]', {"Lines": None}) == "[]"


def test_a_null_value_writes_nothing() -> None:
    assert text("[((Middle))]", {"Middle": None}) == "[]"


def test_a_missing_value_is_an_error_naming_the_placeholder_and_where_it_is() -> None:
    failure = error(Template("t", subject="Order", text_body="Hi\n  ((Customer.Phone))"))

    assert failure.placeholder == "Customer.Phone"
    assert failure.field == "text_body" and (failure.line, failure.column) == (2, 3)
    assert "((Customer.Phone)) has no value" in str(failure)


def test_a_missing_value_renders_empty_when_lenient() -> None:
    assert text("[((Customer.Phone))]", lenient=True) == "[]"


def test_a_loop_over_missing_lines_is_an_error_unless_lenient() -> None:
    body = '[<foreach view="Rows">x</foreach>]'

    assert error(Template("t", text_body=body)).placeholder == "Rows"
    assert text(body, lenient=True) == "[]"


def test_a_loop_over_something_that_is_not_a_list_is_refused_even_when_lenient() -> None:
    failure = error(Template("t", text_body='<foreach view="OrderNbr">x</foreach>'), lenient=True)

    assert failure.placeholder == "OrderNbr" and "text, not a list" in str(failure)


def test_a_path_through_a_plain_value_is_refused() -> None:
    failure = error(Template("t", text_body="((OrderNbr.Length))"), lenient=True)

    assert "OrderNbr is text, so it has no field Length" in str(failure)


@pytest.mark.parametrize(("name", "kind"), [("Customer", "an object"), ("Lines", "a list")])
def test_an_object_or_list_is_not_a_value(name: str, kind: str) -> None:
    failure = error(Template("t", text_body=f"(({name}))"))

    assert failure.placeholder == name and kind in str(failure)


def test_values_are_html_escaped_in_the_html_body_but_the_template_markup_is_not() -> None:
    rendered = html(
        '<p title="((Customer.Name))">((Lines.Item))</p>',
        {
            "Customer": {"Name": 'say "hi"'},
            "Lines": {"Item": "<script>alert(1)</script>"},
        },
    )

    assert rendered == ('<p title="say &quot;hi&quot;">&lt;script&gt;alert(1)&lt;/script&gt;</p>')


def test_values_are_written_as_they_are_in_the_text_body_and_subject() -> None:
    rendered = render(
        Template("t", subject="For ((Customer.Name))", text_body="((Customer.Name))"), ORDER
    )

    assert rendered.subject == "For Ada <Lovelace>" and rendered.text_body == "Ada <Lovelace>"


def test_a_value_is_never_read_as_template_text() -> None:
    data = {"Name": '((Secret)) <foreach view="X">', "Secret": "hidden"}

    assert text("((Name))", data) == '((Secret)) <foreach view="X">'


@pytest.mark.parametrize("value", ["x\r\nBcc: victim@example.com", "x\ny", "x\u2028y", "x\x00y"])
def test_a_value_that_would_break_the_subject_line_is_refused(value: str) -> None:
    failure = error(Template("t", subject="Re: ((Title))"), {"Title": value})

    assert failure.placeholder == "Title" and failure.field == "subject"


def test_line_breaks_from_values_are_kept_in_bodies() -> None:
    assert text("((Note))", {"Note": "one\r\ntwo"}) == "one\r\ntwo"


def test_a_subject_longer_than_a_header_line_is_refused() -> None:
    failure = error(Template("t", subject="((Title))"), {"Title": "x" * 999})

    assert failure.field == "subject" and "at most 998" in str(failure)


def test_a_rendering_larger_than_the_bound_is_refused() -> None:
    data = {"Big": "x" * 1_000_000, "Lines": [{}] * 10}

    failure = error(Template("t", html_body='<foreach view="Lines">((Big))</foreach>'), data)

    assert f"larger than {MAX_RENDERED_CHARS}" in str(failure)


def test_loops_are_bounded_in_the_lines_they_write() -> None:
    data = {"Lines": [None] * (MAX_LOOP_ITERATIONS + 1)}

    failure = error(Template("t", text_body='<foreach view="Lines"></foreach>'), data)

    assert failure.placeholder == "Lines" and f"more than {MAX_LOOP_ITERATIONS}" in str(failure)


def test_data_that_holds_itself_is_read_only_as_deep_as_the_path() -> None:
    data: dict[str, object] = {"Name": "me"}
    data["Self"] = data

    assert text("((" + "Self." * 63 + "Name))", data) == "me"


def test_nested_loops_over_data_that_holds_itself_stay_bounded() -> None:
    data: dict[str, object] = {}
    data["Lines"] = [data, data]
    body = '<foreach view="Lines">' * 20 + "x" + "</foreach>" * 20

    failure = error(Template("t", text_body=body), data)

    assert f"more than {MAX_LOOP_ITERATIONS}" in str(failure)


def test_data_that_is_not_an_object_is_refused() -> None:
    assert "must be an object" in str(error(Template("t"), ["not", "an", "object"]))


def test_a_template_with_a_syntax_error_fails_to_render_with_its_position() -> None:
    failure = error(Template("t", html_body="<p>\n((Name</p>"))

    assert failure.field == "html_body" and (failure.line, failure.column) == (2, 1)


def test_the_account_and_attachments_are_carried_over() -> None:
    template = Template(
        "t",
        from_account_id="sales",
        attachments=[TemplateAttachment.of("terms.pdf", "application/pdf", b"%PDF")],
    )

    rendered = render(template, {})

    assert rendered.from_account_id == "sales"
    assert rendered.attachments == [Attachment("terms.pdf", "application/pdf", b"%PDF")]


def test_render_errors_are_value_errors() -> None:
    assert issubclass(RenderError, ValueError)


def test_recipients_are_rendered_as_parsed_addresses() -> None:
    rendered = render(Template("t", to="((Customer.Name)) <((Customer.Email))>"), ORDER)

    assert rendered.to == [Address("ada@customer.example", "Ada <Lovelace>")]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (3.0, "3"),
        (2.5, "2.5"),
        (-0.1, "-0.1"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "0.00000015"),
        (7, "7"),
        (True, "Yes"),
        (False, "No"),
        (Decimal("19.90"), "19.90"),
        (date(2024, 2, 29), "2024-02-29"),
        (datetime(2024, 2, 29, 13, 5, tzinfo=UTC), "2024-02-29T13:05:00+00:00"),
        (None, ""),
        ("as is", "as is"),
    ],
)
def test_values_are_formatted_plainly(value: object, written: str) -> None:
    assert format_value(value, "en-US") == written


def test_a_value_of_an_unknown_kind_is_refused_by_the_formatter() -> None:
    with pytest.raises(TypeError):
        format_value(object(), "")


def test_a_value_of_an_unknown_kind_fails_rendering_naming_the_placeholder() -> None:
    assert error(Template("t", text_body="((Blob))"), {"Blob": b"bytes"}).placeholder == "Blob"


def test_percent_signs_and_braces_in_the_template_and_in_values_are_written_as_they_are() -> None:
    body = '%s %% %(x)s {} {0} ((Name)) <foreach view="Lines">%d{((Item))}%</foreach>'
    data = {"Name": "%s {} %(x)s", "Lines": [{"Item": "%%"}, {"Item": "{0}"}]}

    assert text(body, data) == "%s %% %(x)s {} {0} %s {} %(x)s %d{%%}%%d{{0}}%"


def test_one_text_rendered_for_two_locales_is_formatted_for_each() -> None:
    body = "((Total:number:2))"

    def rendered(locale: str) -> str:
        template = Template("t", text_body=body, html_body=body, locale=locale)
        result = render(template, {"Total": 1234.5})
        return f"{result.text_body}|{result.html_body}"

    assert [rendered("en"), rendered("de"), rendered("en")] == [
        "1,234.50|1,234.50",
        "1.234,50|1.234,50",
        "1,234.50|1,234.50",
    ]


def test_one_text_used_as_text_and_html_body_is_escaped_only_in_html() -> None:
    body = "<b>((Name))</b>"

    rendered = render(Template("t", text_body=body, html_body=body), {"Name": "A & B"})

    assert rendered.text_body == "<b>A & B</b>"
    assert rendered.html_body == "<b>A &amp; B</b>"
