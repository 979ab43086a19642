"""Splitting the client's byte stream into command lines, with a cap on their length."""

from __future__ import annotations


class LineTooLong(Exception):
    """A line passed the cap; it is skipped up to its end (reported once)."""


class LineReader:
    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buffer = bytearray()
        self._discarding = False  # inside an over-long line, dropping it up to its end

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def clear(self) -> None:
        self._buffer.clear()

    def next_line(self) -> bytes | None:
        """The next complete line without its CRLF (or bare LF), None until one is complete.

        Raises LineTooLong once per over-long line, as soon as it is known to be too long.
        """
        while True:
            end = self._buffer.find(b"\n")
            if self._discarding:
                if end < 0:
                    self._buffer.clear()
                    return None
                del self._buffer[: end + 1]
                self._discarding = False
                continue
            if end < 0:
                if len(self._buffer) > self.max_line:
                    self._buffer.clear()
                    self._discarding = True
                    raise LineTooLong
                return None
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if len(line) > self.max_line:
                raise LineTooLong
            return line.removesuffix(b"\r")
