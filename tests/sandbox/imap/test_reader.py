"""Framing the byte stream into commands: literals, continuation requests, limits; no sockets."""

from __future__ import annotations

from erpmail.sandbox.imap.reader import CommandReader, LineTooLong, LiteralWanted, Rejected
from erpmail.sandbox.imap.syntax import Atom, Command, String


def test_nothing_comes_out_until_the_line_is_complete() -> None:
    reader = CommandReader()
    reader.feed(b"A1 NO")
    assert reader.next_command() is None
    reader.feed(b"OP\r\n")
    assert reader.next_command() == Command("A1", "NOOP")


def test_pipelined_commands_come_out_one_by_one() -> None:
    reader = CommandReader()
    reader.feed(b"A1 NOOP\r\nA2 CAPABILITY\r\nA3 LOG")
    assert reader.next_command() == Command("A1", "NOOP")
    assert reader.next_command() == Command("A2", "CAPABILITY")
    assert reader.next_command() is None


def test_a_bare_line_feed_ends_a_line_too() -> None:
    reader = CommandReader()
    reader.feed(b"A1 NOOP\n")
    assert reader.next_command() == Command("A1", "NOOP")


def test_a_synchronising_literal_asks_for_continuation_then_completes() -> None:
    reader = CommandReader()
    reader.feed(b"A1 LOGIN {3}\r\n")
    assert reader.next_command() == LiteralWanted()
    assert reader.next_command() is None
    reader.feed(b"bo")
    assert reader.next_command() is None
    reader.feed(b"b {6}\r\n")
    assert reader.next_command() == LiteralWanted()
    reader.feed(b"se\r\ncr\r\n")
    assert reader.next_command() == Command(
        "A1", "LOGIN", (String(b"bob", True), String(b"se\r\ncr", True))
    )


def test_a_literal_plus_needs_no_continuation() -> None:
    reader = CommandReader()
    reader.feed(b"A1 APPEND INBOX {5+}\r\nhello\r\n")
    assert reader.next_command() == Command("A1", "APPEND", (Atom("INBOX"), String(b"hello", True)))


def test_a_literal_may_contain_what_looks_like_a_command() -> None:
    reader = CommandReader()
    reader.feed(b"A1 APPEND INBOX {11+}\r\nA2 LOGOUT\r\n\r\nA3 NOOP\r\n")
    first = reader.next_command()
    assert isinstance(first, Command) and first.args[1] == String(b"A2 LOGOUT\r\n", True)
    assert reader.next_command() == Command("A3", "NOOP")


def test_an_empty_line_is_ignored() -> None:
    reader = CommandReader()
    reader.feed(b"\r\n  \r\nA1 NOOP\r\n")
    assert reader.next_command() == Command("A1", "NOOP")


def test_a_malformed_command_is_rejected_and_the_next_one_still_parses() -> None:
    reader = CommandReader()
    reader.feed(b"A1 LOGIN (bob\r\nA2 NOOP\r\n")
    rejected = reader.next_command()
    assert isinstance(rejected, Rejected) and rejected.tag == "A1"
    assert reader.next_command() == Command("A2", "NOOP")


def test_an_over_long_line_is_rejected_and_dropped_as_it_streams_in() -> None:
    reader = CommandReader(max_line=100)
    reader.feed(b"A1 LOGIN " + b"x" * 200)
    rejected = reader.next_command()
    assert rejected == Rejected("A1", "Command line too long")
    reader.feed(b"x" * 500)
    assert reader.next_command() is None
    assert reader.buffered == 0
    reader.feed(b"xx\r\nA2 NOOP\r\n")
    assert reader.next_command() == Command("A2", "NOOP")


def test_an_over_long_line_that_arrives_whole_is_rejected() -> None:
    reader = CommandReader(max_line=100)
    reader.feed(b"A1 LOGIN " + b"x" * 200 + b"\r\nA2 NOOP\r\n")
    assert reader.next_command() == Rejected("A1", "Command line too long")
    assert reader.next_command() == Command("A2", "NOOP")


def test_a_too_big_synchronising_literal_is_refused_before_the_client_sends_it() -> None:
    reader = CommandReader(max_literal=10)
    reader.feed(b"A1 APPEND INBOX {11}\r\nA2 NOOP\r\n")
    assert reader.next_command() == Rejected("A1", "Literal too big", "TOOBIG")
    assert reader.next_command() == Command("A2", "NOOP")


def test_a_too_big_literal_plus_is_skipped_with_the_rest_of_its_command() -> None:
    reader = CommandReader(max_literal=10)
    reader.feed(b"A1 APPEND INBOX {11+}\r\n0123456")
    assert reader.next_command() == Rejected("A1", "Literal too big", "TOOBIG")
    reader.feed(b"789A FLAGS\r\nA2 NOOP\r\n")
    assert reader.next_command() == Command("A2", "NOOP")


def test_next_line_returns_raw_lines_for_continuations() -> None:
    reader = CommandReader(max_line=10)
    reader.feed(b"AGJvYgBz\r\nDONE\r\n")
    assert reader.next_line() == b"AGJvYgBz"
    assert reader.next_line() == b"DONE"
    assert reader.next_line() is None


def test_an_over_long_continuation_line_is_reported_once() -> None:
    reader = CommandReader(max_line=10)
    reader.feed(b"x" * 20)
    assert reader.next_line() == LineTooLong()
    reader.feed(b"x" * 20)
    assert reader.next_line() is None
    reader.feed(b"x\r\nDONE\r\n")
    assert reader.next_line() == b"DONE"


def test_reset_forgets_buffered_input() -> None:
    reader = CommandReader()
    reader.feed(b"A1 NOOP\r\nA2 LOG")
    reader.reset()
    assert reader.next_command() is None
    reader.feed(b"A3 NOOP\r\n")
    assert reader.next_command() == Command("A3", "NOOP")
