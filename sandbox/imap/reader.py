"""Framing of the client's byte stream into commands (h11 style: feed bytes, pull events).

A command is one line, unless a line ends in a literal announcement `{n}` (or LITERAL+ `{n+}`),
in which case n raw bytes and another line follow. For a synchronising literal the server must
first send a continuation request; `next_command` says so by returning `LiteralWanted`. Over-long
lines and over-large literals are skipped (their bytes are read and dropped) so the session stays
in step with the client and can carry on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from erpmail.sandbox.imap.syntax import Command, SyntaxProblem, parse_command, read_tag

MAX_LINE = 64 * 1024
MAX_LITERAL = 50 * 1024 * 1024

_LITERAL_AT_END = re.compile(rb"\{(\d{1,10})(\+?)\}\Z")


@dataclass(frozen=True, slots=True)
class LiteralWanted:
    """A synchronising literal was announced: send `+` so the client sends it."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A command that cannot be executed; reply with a tagged BAD (code may be empty)."""

    tag: str
    text: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A continuation line (AUTHENTICATE, IDLE) that exceeded the limit and was dropped."""


ReaderEvent = Command | LiteralWanted | Rejected


class CommandReader:
    def __init__(self, max_line: int = MAX_LINE, max_literal: int = MAX_LITERAL) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self._buffer = bytearray()
        self._clear_command()

    def _clear_command(self) -> None:
        self._command = bytearray()  # the command so far: lines and literals, as sent
        self._literal_left = 0  # literal bytes still to come into `_command`
        self._skip_bytes = 0  # bytes of a refused literal still to drop
        self._skip_line = False  # dropping the rest of an over-long or refused line

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def reset(self) -> None:
        """Forgets everything buffered (after STARTTLS nothing sent in clear may be acted on)."""
        self._buffer.clear()
        self._clear_command()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_command(self) -> ReaderEvent | None:
        """The next event, or None until more bytes are fed."""
        while True:
            if self._literal_left:
                taken = self._take(self._literal_left)
                self._command += taken
                self._literal_left -= len(taken)
                if self._literal_left:
                    return None
            if self._skip_bytes:
                self._skip_bytes -= len(self._take(self._skip_bytes))
                if self._skip_bytes:
                    return None
            line = self._line()
            if line is None:
                if self._skip_line:
                    self._buffer.clear()
                    return None
                if len(self._buffer) > self.max_line:
                    # Drop what came so far and the rest of the line when it arrives.
                    refused = self._refuse(bytes(self._command or self._buffer))
                    self._buffer.clear()
                    self._skip_line = True
                    return refused
                return None
            if self._skip_line:
                self._skip_line = False
                continue
            if len(line) > self.max_line:
                return self._refuse(bytes(self._command or line))
            event = self._complete_line(line)
            if event is not None:
                return event

    def next_line(self) -> bytes | LineTooLong | None:
        """A raw line (CRLF removed) for AUTHENTICATE or IDLE continuation, or None if partial."""
        while True:
            line = self._line()
            if line is None:
                if len(self._buffer) <= self.max_line:
                    return None
                self._buffer.clear()
                if self._skip_line:
                    return None
                self._skip_line = True
                return LineTooLong()
            if self._skip_line:
                self._skip_line = False
                continue
            return LineTooLong() if len(line) > self.max_line else line

    def _complete_line(self, line: bytes) -> ReaderEvent | None:
        match = _LITERAL_AT_END.search(line)
        if match is None:
            data = bytes(self._command + line)
            self._command.clear()
            if not data.strip():
                return None  # an empty line is no command; ignore it as most servers do
            try:
                return parse_command(data)
            except SyntaxProblem as problem:
                return Rejected(problem.tag, str(problem))
        size, non_synchronising = int(match.group(1)), bool(match.group(2))
        self._command += line + b"\r\n"
        if size > self.max_literal or len(self._command) + size > self.max_literal + self.max_line:
            tag = read_tag(bytes(self._command))
            self._command.clear()
            if non_synchronising:
                # The client sends the bytes anyway: drop them, then the rest of the command.
                self._skip_bytes = size
                self._skip_line = True
            return Rejected(tag, "Literal too big", "TOOBIG")
        self._literal_left = size
        return None if non_synchronising else LiteralWanted()

    def _refuse(self, start: bytes) -> Rejected:
        self._command.clear()
        return Rejected(read_tag(start), "Command line too long")

    def _line(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        line = bytes(self._buffer[: end - 1 if end and self._buffer[end - 1] == 0x0D else end])
        del self._buffer[: end + 1]
        return line

    def _take(self, count: int) -> bytes:
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        return taken
