"""Parsing one complete command (bytes, literals inline) into tokens; no sockets."""

from __future__ import annotations

import pytest
from erpmail.sandbox.imap.syntax import (
    Atom,
    Command,
    Group,
    String,
    SyntaxProblem,
    parse_command,
    read_tag,
)


def test_a_command_has_tag_upper_cased_name_and_arguments() -> None:
    assert parse_command(b"a1 login bob secret") == Command(
        "a1", "LOGIN", (Atom("bob"), Atom("secret"))
    )


def test_quoted_strings_unescape_quote_and_backslash() -> None:
    command = parse_command(b'A1 LOGIN "bob smith" "pa\\"ss\\\\word"')
    assert command.args == (String(b"bob smith"), String(b'pa"ss\\word'))


def test_a_literal_is_read_by_its_byte_count_even_with_line_breaks_inside() -> None:
    command = parse_command(b'A1 LOGIN {3}\r\nbob {8}\r\npa\r\nss")')
    assert command.args == (String(b"bob", literal=True), String(b'pa\r\nss")', literal=True))


def test_a_non_synchronising_literal_parses_like_a_literal() -> None:
    command = parse_command(b"A1 APPEND INBOX {5+}\r\nhello")
    assert command.args == (Atom("INBOX"), String(b"hello", literal=True))


def test_parenthesised_lists_nest() -> None:
    command = parse_command(b'A1 STORE 1:* +FLAGS (\\Seen (a b) "x")')
    assert command.args[2] == Group((Atom("\\Seen"), Group((Atom("a"), Atom("b"))), String(b"x")))


def test_spaces_just_inside_parentheses_are_tolerated() -> None:
    command = parse_command(b'A1 ID ( "name" "x" )')
    assert command.args == (Group((String(b"name"), String(b"x"))),)


def test_a_body_section_with_spaces_and_partial_stays_one_atom() -> None:
    command = parse_command(b"A1 FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>)")
    assert command.args[1] == Group(
        (Atom("UID"), Atom("BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>"))
    )


def test_uid_prefix_sets_the_flag_and_the_real_name() -> None:
    command = parse_command(b"A1 uid fetch 1:* FLAGS")
    assert (command.name, command.uid, command.args) == (
        "FETCH",
        True,
        (Atom("1:*"), Atom("FLAGS")),
    )


def test_list_wildcards_are_atoms() -> None:
    assert parse_command(b'A1 LIST "" *').args == (String(b""), Atom("*"))
    assert parse_command(b"A1 LIST foo %").args == (Atom("foo"), Atom("%"))


@pytest.mark.parametrize(
    ("data", "tag"),
    [
        (b"A1 LOGIN (bob", "A1"),
        (b'A1 LOGIN "bob', "A1"),
        (b"A1 LOGIN  bob", "A1"),
        (b'A1 LOGIN "a\\x"', "A1"),
        (b"A1 FETCH 1 BODY[TEXT", "A1"),
        (b"A1 LOGIN {10}\r\nshort", "A1"),
        (b"A1 LOGIN {x}\r\nshort", "A1"),
        (b"A1 LOGIN caf\xc3\xa9 x", "A1"),
        (b"A1 LOGIN bob)", "A1"),
        (b'A1 ID ("a""b")', "A1"),
    ],
)
def test_malformed_arguments_are_reported_with_the_tag(data: bytes, tag: str) -> None:
    with pytest.raises(SyntaxProblem) as problem:
        parse_command(data)
    assert problem.value.tag == tag


@pytest.mark.parametrize("data", [b"", b"+ LOGIN", b"(x NOOP", b" NOOP"])
def test_a_command_without_a_valid_tag_is_answered_untagged(data: bytes) -> None:
    with pytest.raises(SyntaxProblem) as problem:
        parse_command(data)
    assert problem.value.tag == "*"


@pytest.mark.parametrize(
    "data", [b"A1", b"A1 )NOOP", b'A1 "NOOP"', b"A1 NO[OP", b"A1 {2+}\r\nab NOOP", b"A1 UID  FETCH"]
)
def test_a_bad_command_name_is_answered_with_the_tag(data: bytes) -> None:
    with pytest.raises(SyntaxProblem) as problem:
        parse_command(data)
    assert problem.value.tag == "A1"


def test_read_tag_recovers_the_tag_of_a_broken_line() -> None:
    assert read_tag(b"abc FETCH ((((") == "abc"
    assert read_tag(b"+abc") == "*"
    assert read_tag(b"") == "*"
