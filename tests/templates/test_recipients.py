"""To, Cc and Bcc are lists of addresses written with place-holders: a place-holder alone may hold
several addresses, any other item makes exactly one, so a value cannot add recipients; every
address produced is checked, and an error names the place-holder without repeating the value."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from erpmail.server.outgoing.models import Address
from erpmail.server.templates.models import Template
from erpmail.server.templates.recipients import address_items, parse_address_list
from erpmail.server.templates.render import RenderError, render
from erpmail.server.templates.syntax import TemplateSyntaxError


def to(
    field: str, data: Mapping[str, object] | None = None, *, lenient: bool = False
) -> list[Address]:
    return render(Template("t", to=field), data or {}, lenient=lenient).to


def refused(field: str, data: Mapping[str, object]) -> RenderError:
    with pytest.raises(RenderError) as caught:
        render(Template("t", cc=field), data)
    return caught.value


def test_literal_addresses_are_separated_by_commas_or_semicolons() -> None:
    assert to("a@x.example, Sales <sales@x.example>; <c@x.example>") == [
        Address("a@x.example"),
        Address("sales@x.example", "Sales"),
        Address("c@x.example"),
    ]


def test_a_quoted_name_may_hold_separators() -> None:
    assert to('"Smith, John; Jr." <js@x.example>') == [Address("js@x.example", "Smith, John; Jr.")]


def test_a_placeholder_alone_may_hold_several_addresses_in_text() -> None:
    data = {"Emails": "a@x.example; B <b@x.example>, c@x.example"}

    assert to("((Emails))", data) == [
        Address("a@x.example"),
        Address("b@x.example", "B"),
        Address("c@x.example"),
    ]


def test_a_placeholder_alone_may_hold_a_list_of_addresses() -> None:
    data = {"Team": ["a@x.example", "B <b@x.example>"], "Boss": "boss@x.example"}

    assert to("((Team)), ((Boss))", data) == [
        Address("a@x.example"),
        Address("b@x.example", "B"),
        Address("boss@x.example"),
    ]


def test_a_name_and_address_from_placeholders_make_one_address() -> None:
    data = {"Name": "Smith, John", "Email": "js@x.example"}

    assert to("((Name)) <((Email))>", data) == [Address("js@x.example", "Smith, John")]


def test_a_name_value_cannot_add_a_recipient() -> None:
    data = {"Name": "x <attacker@evil.example>, Bob", "Email": "bob@x.example"}

    assert to("((Name)) <((Email))>", data) == [
        Address("bob@x.example", "x <attacker@evil.example>, Bob")
    ]


def test_a_value_in_a_composed_address_cannot_add_a_recipient() -> None:
    failure = refused("((User))@x.example", {"User": "attacker@evil.example, bob"})

    assert failure.placeholder == "User" and failure.field == "cc"


def test_a_value_that_is_not_an_address_is_refused_without_being_repeated() -> None:
    failure = refused("((Customer.Email))", {"Customer": {"Email": "secret-not-an-address"}})

    assert failure.placeholder == "Customer.Email"
    assert "does not hold an email address" in str(failure)
    assert "secret-not-an-address" not in str(failure)


def test_a_line_break_in_a_recipient_name_is_refused() -> None:
    failure = refused("((Name)) <a@x.example>", {"Name": "Eve\r\nBcc: victim@x.example"})

    assert failure.placeholder == "Name" and "line break" in str(failure)


def test_an_object_is_not_an_address() -> None:
    failure = refused("((Team))", {"Team": [{"Email": "a@x.example"}]})

    assert failure.placeholder == "Team" and "an object" in str(failure)


def test_an_empty_or_null_value_makes_no_recipient() -> None:
    data = {"Empty": "", "Null": None, "Name": "Nobody"}

    assert to("((Empty)), ((Null)), ((Name)) <((Null))>, a@x.example", data) == [
        Address("a@x.example")
    ]


def test_a_missing_recipient_is_an_error_unless_lenient() -> None:
    with pytest.raises(RenderError) as caught:
        to("((Owner.Email))")

    assert caught.value.placeholder == "Owner.Email"
    assert to("((Owner.Email)), a@x.example", lenient=True) == [Address("a@x.example")]


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("not-an-address", "not an email address"),
        ("Sales <sales@x.example", "not closed by '>'"),
        ("Sales sales@x.example>", "'>' without '<'"),
        ("<a@x.example> trailing", "text after '>'"),
        ("<a@x.example> ((More))", "text after '>'"),
        ('"Sales <s@x.example>', "quoted name is not closed"),
        ("Sales <>", "holds no address"),
        ("((Name)) <a@x.example> <b@x.example>", "one '<'"),
        ("((Name)) <not-an-address>", "not an email address"),
    ],
)
def test_what_is_written_literally_is_checked_before_any_data(field: str, problem: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        address_items(field)

    assert problem in caught.value.message


def test_a_composed_address_passes_the_literal_check() -> None:
    assert len(address_items("((User))@x.example, ((Name)) <((Email))>, ((List))")) == 3


def test_an_address_list_in_text_is_parsed_strictly() -> None:
    assert parse_address_list(" a@x.example ;; ") == [Address("a@x.example")]
    with pytest.raises(ValueError, match="not an email address"):
        parse_address_list("a@x.example, a b@x.example")
