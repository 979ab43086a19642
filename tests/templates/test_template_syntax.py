"""The template language parses into place-holders, loops and text that know where they were
written; anything malformed or unbalanced is refused with the line and column where it starts."""

from __future__ import annotations

import pytest
from erpmail.server.templates.syntax import (
    MAX_LOOP_DEPTH,
    MAX_PATH_DEPTH,
    Loop,
    Placeholder,
    Position,
    TemplateSyntaxError,
    Text,
    parse,
    placeholders,
)


def only_placeholder(source: str) -> Placeholder:
    [node] = [n for n in parse(source) if isinstance(n, Placeholder)]
    return node


def syntax_error(source: str, *, loops: bool = True) -> TemplateSyntaxError:
    with pytest.raises(TemplateSyntaxError) as caught:
        parse(source, loops=loops)
    return caught.value


def test_a_placeholder_is_a_name_in_double_parentheses_between_text() -> None:
    nodes = parse("Dear ((CustomerFullName)),")

    assert nodes == (
        Text("Dear ", Position(1, 1)),
        Placeholder(("CustomerFullName",), Position(1, 6)),
        Text(",", Position(1, 26)),
    )


def test_a_dotted_placeholder_is_a_path_into_related_data() -> None:
    assert only_placeholder("((Case.OwnerID.Email))").path == ("Case", "OwnerID", "Email")


def test_spaces_just_inside_the_parentheses_are_allowed() -> None:
    assert only_placeholder("(( Case.CaseCD  ))").path == ("Case", "CaseCD")


def test_names_may_hold_digits_underscores_and_letters_of_any_language() -> None:
    assert only_placeholder("((Kunde_Før2.Navn))").path == ("Kunde_Før2", "Navn")


def test_a_parenthesis_before_a_placeholder_is_text() -> None:
    nodes = parse("(((Name))")

    assert nodes == (Text("(", Position(1, 1)), Placeholder(("Name",), Position(1, 2)))


def test_closing_parentheses_without_an_opening_pair_are_text() -> None:
    assert parse("a)) b") == (Text("a)) b", Position(1, 1)),)


def test_the_position_counts_lines_and_columns_from_one() -> None:
    placeholder = only_placeholder("Hello\nthere\n  ((Name)) bye")

    assert placeholder.position == Position(3, 3)


@pytest.mark.parametrize(
    ("source", "column"),
    [
        ("x ((Name", 3),
        ("x ((Name)", 3),
        ("x (())", 3),
        ("x ((  ))", 3),
        ("x ((Two words))", 3),
        ("x ((a..b))", 3),
        ("x ((.a))", 3),
        ("x ((a.))", 3),
        ("x ((a-b))", 3),
        ("x ((a\nb))", 3),
        ("x ((Name)) ((Bad!))", 12),
    ],
)
def test_a_malformed_placeholder_is_refused_at_its_position(source: str, column: int) -> None:
    error = syntax_error(source)

    assert error.position == Position(1, column)
    assert "place-holder" in error.message


def test_an_unclosed_placeholder_says_so() -> None:
    assert "not closed" in syntax_error("Dear ((Name,").message


def test_a_path_deeper_than_the_limit_is_refused() -> None:
    deep = ".".join(["a"] * (MAX_PATH_DEPTH + 1))

    error = syntax_error(f"(({deep}))")

    assert f"deeper than {MAX_PATH_DEPTH}" in error.message


def test_a_path_at_the_limit_is_accepted() -> None:
    deep = ".".join(["a"] * MAX_PATH_DEPTH)

    assert len(only_placeholder(f"(({deep}))").path) == MAX_PATH_DEPTH


def test_a_foreach_loop_holds_the_nodes_between_its_tags() -> None:
    [loop] = parse('<foreach view="Lines"><tr>((Qty))</tr></foreach>')

    assert isinstance(loop, Loop)
    assert loop.view == ("Lines",) and loop.position == Position(1, 1)
    assert loop.body == (
        Text("<tr>", Position(1, 23)),
        Placeholder(("Qty",), Position(1, 27)),
        Text("</tr>", Position(1, 34)),
    )


def test_loops_nest() -> None:
    [outer] = parse(
        "<foreach view='Order.Lines'>((Item))<foreach view=\"Taxes\">((Rate))</foreach></foreach>"
    )

    assert isinstance(outer, Loop) and outer.view == ("Order", "Lines")
    inner = outer.body[1]
    assert isinstance(inner, Loop) and inner.view == ("Taxes",)
    assert inner.body == (Placeholder(("Rate",), Position(1, 59)),)


def test_loop_tags_are_read_in_any_case_with_spaces_around_the_view() -> None:
    [loop] = parse('<ForEach  view = "Lines" >x</FOREACH >')

    assert isinstance(loop, Loop) and loop.body == (Text("x", Position(1, 27)),)


def test_a_loop_that_is_never_closed_is_refused_at_its_opening_tag() -> None:
    error = syntax_error('<p>\n  <foreach view="Lines">((Qty))\n</p>')

    assert error.position == Position(2, 3)
    assert "not closed" in error.message


def test_a_loop_end_without_a_loop_is_refused_at_its_position() -> None:
    error = syntax_error('<foreach view="A"></foreach>\n</foreach>')

    assert error.position == Position(2, 1)
    assert "no <foreach>" in error.message


@pytest.mark.parametrize(
    "tag",
    ["<foreach>", "<foreach view=Lines>", '<foreach view="Lines"', '<foreach name="Lines">'],
)
def test_a_malformed_loop_tag_is_refused(tag: str) -> None:
    error = syntax_error(f"ab{tag}x</foreach>")

    assert error.position == Position(1, 3)
    assert "malformed loop" in error.message


def test_a_loop_view_must_be_a_name() -> None:
    error = syntax_error('<foreach view="((Lines))">x</foreach>')

    assert "is not a name" in error.message


def test_a_malformed_loop_end_is_refused() -> None:
    assert "loop end" in syntax_error('<foreach view="A">x</foreach x>').message


def test_loops_nested_deeper_than_the_limit_are_refused() -> None:
    depth = MAX_LOOP_DEPTH + 1
    source = '<foreach view="L">' * depth + "x" + "</foreach>" * depth

    assert "nest deeper" in syntax_error(source).message


def test_a_loop_is_refused_where_loops_are_not_allowed() -> None:
    error = syntax_error('Order <foreach view="Lines">x</foreach>', loops=False)

    assert error.position == Position(1, 7)
    assert "only in a body" in error.message


def test_a_word_that_only_starts_like_foreach_is_text() -> None:
    source = "<foreachable> </foreachx>"

    assert parse(source) == (Text(source, Position(1, 1)),)


def test_placeholders_are_listed_in_written_order_with_the_loops_around_them() -> None:
    nodes = parse(
        '((A))<foreach view="Lines">((B))<foreach view="T">((C))</foreach></foreach>((D))'
    )

    found = [(p.name, [loop.name for loop in loops]) for p, loops in placeholders(nodes)]

    assert found == [("A", []), ("B", ["Lines"]), ("C", ["Lines", "T"]), ("D", [])]


def test_a_long_run_of_parentheses_is_refused_without_getting_stuck() -> None:
    error = syntax_error("(" * 1_000_000)

    assert error.position == Position(1, 999_999)


def test_a_hundred_thousand_placeholders_parse() -> None:
    nodes = parse("((Name)) " * 100_000)

    assert sum(isinstance(n, Placeholder) for n in nodes) == 100_000


def test_a_syntax_error_reads_with_its_position() -> None:
    assert str(syntax_error("\n ((a b))")).startswith("line 2, column 2: ")
