"""A place-holder's format is checked when the template is saved: an unknown format, style,
currency code or number of digits is refused with the line and column where the format starts,
and a locale without known formats is refused on template.locale."""

from __future__ import annotations

import grpc
import pytest
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.templates.formatting import Format
from erpmail.server.templates.models import Template, validate_template
from erpmail.server.templates.syntax import (
    Placeholder,
    Position,
    TemplateSyntaxError,
    parse,
)
from erpmail.v1 import templates_pb2 as pb

from tests.support.errors import field_violations
from tests.templates.messages import Stub, create, template


def syntax_error(source: str) -> TemplateSyntaxError:
    with pytest.raises(TemplateSyntaxError) as caught:
        parse(source)
    return caught.value


def problems(**fields: object) -> dict[str, str]:
    candidate = Template("t", description="Order confirmation")
    for name, value in fields.items():
        setattr(candidate, name, value)
    with pytest.raises(InvalidArgument) as caught:
        validate_template(candidate)
    return {v.field: v.description for v in caught.value.violations}


@pytest.mark.parametrize(
    ("source", "fmt"),
    [
        ("((Order.Date:date))", Format("date")),
        ("((Order.Date:date:long))", Format("date", "long")),
        ("((Order.Date:datetime:short))", Format("datetime", "short")),
        ("((Order.Date:time:full))", Format("time", "full")),
        ("((Order.Total:number))", Format("number")),
        ("((Order.Total:number:2))", Format("number", "2")),
        ("((Order.Rate:percent:1))", Format("percent", "1")),
        ("((Order.Total:currency:EUR))", Format("currency", "EUR")),
        ("(( Order.Total : currency : nok ))", Format("currency", "NOK")),
    ],
)
def test_a_format_follows_the_path_after_a_colon(source: str, fmt: Format) -> None:
    [node] = parse(source)

    assert isinstance(node, Placeholder) and node.position == Position(1, 1)
    assert node.format == fmt and node.path[0] == "Order" and len(node.path) == 2


def test_a_placeholder_names_its_format_when_shown() -> None:
    [node] = parse("((Order.Total : currency:eur))")

    assert str(node) == "((Order.Total:currency:EUR))"


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        ("((Total:money))", 9, "unknown format 'money'"),
        ("((Total:))", 9, "a format must follow ':'"),
        ("((Total:date:tiny))", 9, "style 'tiny' is not short, medium, long or full"),
        ("((Total:currency))", 9, "currency needs its ISO 4217 code"),
        ("((Total:currency:EURO))", 9, "'EURO' is not an ISO 4217 currency code"),
        ("((Total:currency:XYZ))", 9, "'XYZ' is not an ISO 4217 currency code"),
        ("((Total:number:13))", 9, "digits must be a whole number from 0 to 12"),
        ("((Total:percent:-1))", 9, "digits must be a whole number from 0 to 12"),
        ("((Total:date:short:x))", 9, "at most one option"),
        ("((Total:  number:x))", 11, "digits must be a whole number"),
    ],
)
def test_a_bad_format_is_refused_where_it_starts(source: str, column: int, message: str) -> None:
    failure = syntax_error("Dear customer,\n" + source)

    assert failure.position == Position(2, column)
    assert failure.message.startswith("place-holder ((Total)): ") and message in failure.message


def test_a_format_on_a_malformed_path_is_refused_at_the_placeholder() -> None:
    failure = syntax_error("x ((Bad Name:number))")

    assert failure.position == Position(1, 3) and "malformed place-holder" in failure.message


def test_saving_names_the_field_and_position_of_a_bad_format() -> None:
    found = problems(
        subject="Invoice ((Nbr)) of ((Date:dat))",
        html_body='<foreach view="Lines">\n<td>((Amount:currency:EURO))</td></foreach>',
    )

    assert found["template.subject"].startswith("line 1, column 27: place-holder ((Date)): ")
    assert found["template.html_body"].startswith("line 2, column 14: place-holder ((Amount)): ")


def test_a_formatted_placeholder_is_checked_against_the_known_fields_by_its_path() -> None:
    found = problems(
        known_fields=["Total"], text_body="((Total:currency:EUR)) ((Totl:currency:EUR))"
    )

    assert found == {
        "template.text_body": ("line 1, column 24: ((Totl:currency:EUR)) is not a known field")
    }


@pytest.mark.parametrize("locale", ["xx", "en-ZZ", "und", "no-NO"])
def test_a_locale_without_known_formats_is_refused(locale: str) -> None:
    assert "not a locale with known formats" in problems(locale=locale)["template.locale"]


@pytest.mark.parametrize("locale", ["en", "de", "nb-NO", "fr", "en-GB", "de_DE", "zh-Hant-TW"])
def test_locales_with_formats_are_accepted(locale: str) -> None:
    validate_template(Template("t", description="x", text_body="((A:date))", locale=locale))


async def test_a_bad_format_is_refused_over_grpc_with_its_position(templates: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(templates, template(html_body="<p>\n((Total:currency:EURO))</p>"))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = field_violations(caught.value)
    assert found["template.html_body"].startswith("line 2, column 9: place-holder ((Total)): ")
    listed = await templates.ListTemplates(pb.ListTemplatesRequest())
    assert not listed.templates


async def test_an_unknown_locale_is_refused_over_grpc(templates: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(templates, template(locale="en-ZZ"))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"template.locale"}


async def test_formats_are_kept_and_previewed_in_the_templates_locale(templates: Stub) -> None:
    await create(
        templates,
        template(
            "invoice",
            subject="Invoice ((Nbr)) due ((Due:date:long))",
            text_body="Total ((Total:currency:EUR))",
            html_body="",
            locale="nb-NO",
        ),
    )
    data = pb.PreviewTemplateRequest(template_id="invoice")
    data.data.update(
        {
            "Nbr": "INV-7",
            "Due": "2024-03-15",
            "Total": 1234.5,
            "Customer": {"Name": "Ada", "Email": "ada@customer.example"},
        }
    )

    preview = await templates.PreviewTemplate(data)

    assert preview.subject == "Invoice INV-7 due 15. mars 2024"
    assert preview.text_body == "Total 1\xa0234,50\xa0€"
