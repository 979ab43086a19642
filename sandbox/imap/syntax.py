"""IMAP command syntax: one complete command (literals inline) -> a `Command` of typed tokens.

The tokens are kept close to the wire (atoms, strings, parenthesised groups); each verb gives them
meaning itself (see `arguments`). A body section such as `BODY.PEEK[HEADER.FIELDS (FROM)]<0.10>`
stays one atom so the FETCH code can read it as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAG_PATTERN = re.compile(rb"[\x21-\x7e]+")
LITERAL_PATTERN = re.compile(rb"\{(\d{1,10})(\+?)\}\r?\n")
# Bytes that end an atom: SP, parentheses, quote, literal brace, CTL and 8-bit bytes.
_ATOM_STOP = frozenset(b' (){"') | frozenset(range(0x20)) | frozenset(range(0x7F, 0x100))
# A tag may not contain "+" (it would look like a continuation) nor list or quoting specials.
_TAG_FORBIDDEN = frozenset(b'+(){"%*\\]')


@dataclass(frozen=True, slots=True)
class Atom:
    text: str


@dataclass(frozen=True, slots=True)
class String:
    """A quoted string or a literal; `data` is the bytes as sent."""

    data: bytes
    literal: bool = False

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Group:
    """A parenthesised list."""

    items: tuple[Token, ...]


Token = Atom | String | Group


@dataclass(frozen=True, slots=True)
class Command:
    tag: str
    name: str  # upper case; for "UID FETCH" this is FETCH and `uid` is set
    args: tuple[Token, ...] = ()
    uid: bool = False


class SyntaxProblem(Exception):
    """The command cannot be parsed; `tag` is what could be read of it (for the BAD reply)."""

    def __init__(self, message: str, tag: str = "*") -> None:
        super().__init__(message)
        self.tag = tag


def read_tag(data: bytes) -> str:
    """The tag at the start of a (possibly broken) command line, or "*" if there is none."""
    match = TAG_PATTERN.match(data)
    if match is None or _TAG_FORBIDDEN.intersection(match.group()):
        return "*"
    return match.group().decode("ascii")


def parse_command(data: bytes) -> Command:
    """Parses one command: tag, name and arguments, with any literals already inline."""
    scanner = _Scanner(data)
    tag = read_tag(data)
    if tag == "*":
        raise SyntaxProblem("Missing or invalid tag")
    scanner.pos = len(tag)
    try:
        scanner.expect_space()
        name = scanner.atom().upper()
        uid = name == "UID"
        if uid:
            scanner.expect_space()
            name = scanner.atom().upper()
        args = scanner.arguments()
    except SyntaxProblem as problem:
        # Once the tag is known every problem is answered with it, or the client would wait.
        raise SyntaxProblem(str(problem), tag) from None
    return Command(tag=tag, name=name, args=tuple(args), uid=uid)


class _Scanner:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def expect_space(self) -> None:
        if self.at_end() or self.data[self.pos] != 0x20:
            raise SyntaxProblem("Expected a space")
        self.pos += 1

    def arguments(self) -> list[Token]:
        tokens: list[Token] = []
        while not self.at_end():
            self.expect_space()
            tokens.append(self.token())
        return tokens

    def token(self) -> Token:
        if self.at_end():
            raise SyntaxProblem("Missing argument")
        first = self.data[self.pos]
        if first == ord("("):
            return self.group()
        if first == ord('"'):
            return self.quoted()
        if first == ord("{"):
            return self.literal()
        return Atom(self.atom())

    def group(self) -> Group:
        self.pos += 1  # "("
        items: list[Token] = []
        while True:
            # Extra spaces inside a list are tolerated: aioimaplib sends `ID ( "a" "b" )`.
            while not self.at_end() and self.data[self.pos] == 0x20:
                self.pos += 1
            if self.at_end():
                raise SyntaxProblem("Unclosed parenthesis")
            if self.data[self.pos] == ord(")"):
                self.pos += 1
                return Group(tuple(items))
            if items and self.data[self.pos - 1] != 0x20:
                raise SyntaxProblem("Expected a space")
            items.append(self.token())

    def quoted(self) -> String:
        self.pos += 1  # opening quote
        out = bytearray()
        while True:
            if self.at_end():
                raise SyntaxProblem("Unterminated quoted string")
            byte = self.data[self.pos]
            self.pos += 1
            if byte == ord('"'):
                return String(bytes(out))
            if byte == ord("\\"):
                if self.at_end() or self.data[self.pos] not in b'"\\':
                    raise SyntaxProblem("Invalid escape in quoted string")
                byte = self.data[self.pos]
                self.pos += 1
            elif byte in b"\r\n\x00":
                raise SyntaxProblem("Line break inside a quoted string")
            out.append(byte)

    def literal(self) -> String:
        match = LITERAL_PATTERN.match(self.data, self.pos)
        if match is None:
            raise SyntaxProblem("Invalid literal")
        size = int(match.group(1))
        start = match.end()
        if start + size > len(self.data):
            raise SyntaxProblem("Literal shorter than announced")
        self.pos = start + size
        return String(self.data[start : self.pos], literal=True)

    def atom(self) -> str:
        start = self.pos
        while not self.at_end():
            byte = self.data[self.pos]
            if byte == ord("["):
                # A section ("BODY[...]") may hold spaces and parentheses up to its "]".
                end = self.data.find(b"]", self.pos)
                if end < 0:
                    raise SyntaxProblem("Unclosed bracket")
                self.pos = end + 1
                continue
            if byte in _ATOM_STOP:
                break
            self.pos += 1
        if self.pos == start:
            raise SyntaxProblem("Expected an atom")
        text = self.data[start : self.pos]
        if any(b >= 0x80 or b < 0x20 for b in text):
            raise SyntaxProblem("Invalid characters in an atom")
        return text.decode("ascii")
