"""What erpmailctl writes: tables and plain lines for people, JSON for scripts, a spinner on
stderr while waiting. Only the standard library: the command line adds no dependency."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from google.protobuf import json_format
from google.protobuf.message import Message

CELL_LIMIT = 40
ELLIPSIS = "…"
GREEN, RED, YELLOW, RESET = "\033[32m", "\033[31m", "\033[33m", "\033[0m"
SPINNER = "|/-\\"


def truncate(text: str, limit: int = CELL_LIMIT) -> str:
    """One line of at most `limit` characters; longer text ends with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: max(limit - 1, 0)] + ELLIPSIS


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], limit: int = CELL_LIMIT) -> str:
    """Columns as wide as their widest cell (cells cut at `limit`), two spaces apart; the last
    column is not padded, so lines carry no trailing blanks."""
    cells = [[truncate(c, limit) for c in row] for row in [list(headers), *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def as_dict(message: Message) -> dict[str, Any]:
    """A message as JSON-ready data: proto field names (snake_case), enum names, and every field
    even when empty, so that scripts find the same keys every time."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def wants_color(stream: TextIO, disabled: bool) -> bool:
    return not disabled and "NO_COLOR" not in os.environ and stream.isatty()


class Output:
    """stdout for results (text or JSON), stderr for errors and progress."""

    def __init__(
        self,
        json_mode: bool = False,
        no_color: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.color = not json_mode and wants_color(self.stdout, no_color)
        self.interactive = self.stderr.isatty()

    def line(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def json(self, document: object, compact: bool = False) -> None:
        indent = None if compact else 2
        print(json.dumps(document, indent=indent, ensure_ascii=False), file=self.stdout, flush=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.line(table(headers, rows))

    def error(self, text: str) -> None:
        print(f"erpmailctl: {text}", file=self.stderr, flush=True)

    def paint(self, text: str, color: str) -> str:
        return f"{color}{text}{RESET}" if self.color else text

    def verdict(self, ok: bool) -> str:
        return self.paint("ok  ", GREEN) if ok else self.paint("FAIL", RED)

    @contextmanager
    def spinner(self, label: str) -> Iterator[Spinner]:
        """A turning wheel with a status text on stderr while waiting, when it is a terminal."""
        spin = Spinner(self.stderr if self.interactive else None, label)
        try:
            yield spin
        finally:
            spin.close()


class Spinner:
    """Redrawn by a daemon thread, so it turns while the main thread waits on a call."""

    INTERVAL = 0.1

    def __init__(self, stream: TextIO | None, label: str) -> None:
        self._stream, self.label = stream, label
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if stream is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def update(self, label: str) -> None:
        self.label = label

    def _run(self) -> None:
        assert self._stream is not None
        start, turn = time.monotonic(), 0
        while not self._stop.wait(self.INTERVAL):
            elapsed = time.monotonic() - start
            wheel = SPINNER[turn % len(SPINNER)]
            self._stream.write(f"\r{wheel} {truncate(self.label, 60)} ({elapsed:.0f} s)\033[K")
            self._stream.flush()
            turn += 1

    def close(self) -> None:
        if self._thread is not None and self._stream is not None:
            self._stop.set()
            self._thread.join()
            self._stream.write("\r\033[K")
            self._stream.flush()
