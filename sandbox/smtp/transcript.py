"""What each SMTP session said, kept for inspection, with AUTH secrets and message bodies left out.

A `Transcript` is fed the raw lines the server reads and the replies it writes, in order; it
follows the dialogue just enough to know when a line is a SASL secret (after a 334 challenge or
as an AUTH initial response) or message data (between 354 and the final dot), so neither is kept.
`TranscriptLog` holds the most recent sessions, bounded.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

REDACTED = "<redacted>"
MAX_LINE_CHARS = 512
_DATA_END = b".\r\n"


class Direction(StrEnum):
    CLIENT = "client"
    SERVER = "server"
    NOTE = "note"  # what the sandbox did that is not on the wire (faults, drops)


class TranscriptLine(NamedTuple):  # a tuple: one is made for every line of every session
    at: float  # time.time()
    direction: Direction
    text: str

    def render(self) -> str:
        prefix = {Direction.CLIENT: "C:", Direction.SERVER: "S:", Direction.NOTE: "--"}
        return f"{prefix[self.direction]} {self.text}"


_session_numbers = itertools.count(1)


def new_session_id() -> str:
    """Unique in this process, so sessions of the plain and the TLS port never collide."""
    return f"smtp-{next(_session_numbers)}"


@dataclass
class Transcript:
    peer: str = ""
    session_id: str = field(default_factory=new_session_id)
    started: float = field(default_factory=time.time)
    ended: float | None = None
    max_lines: int = 2000
    lines: list[TranscriptLine] = field(default_factory=list)
    omitted_lines: int = 0
    # Dialogue state: what the next client line is.
    _in_data: bool = False
    _data_bytes: int | None = None
    _secret_next: bool = False

    @property
    def started_at(self) -> datetime:
        return datetime.fromtimestamp(self.started, UTC)

    @property
    def ended_at(self) -> datetime | None:
        return None if self.ended is None else datetime.fromtimestamp(self.ended, UTC)

    def client(self, raw: bytes) -> None:
        """A line (or a piece of an over-long one) the server read from the client."""
        if self._in_data:
            if raw == _DATA_END:
                self._end_of_data()
            else:
                self._data_bytes = (self._data_bytes or 0) + len(raw)
            return
        text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        if self._secret_next:
            self._secret_next = False
            self._add(Direction.CLIENT, text if text == "*" else REDACTED)
            return
        self._add(Direction.CLIENT, _without_initial_response(text))

    def message_data(self, size: int) -> None:
        """The size of the message just read, for a server that does not feed its data lines."""
        self._data_bytes = size

    def server(self, reply: str) -> None:
        if self._in_data:  # any reply after 354 means the data has ended
            self._end_of_data()
        if reply.startswith("354"):
            self._in_data, self._data_bytes = True, None
        elif reply.startswith("334"):
            self._secret_next = True
        self._add(Direction.SERVER, reply)

    def note(self, text: str) -> None:
        self._add(Direction.NOTE, text)

    def end(self) -> None:
        if self.ended is not None:
            return
        if self._in_data:
            self._add(Direction.CLIENT, "<message data, unfinished>")
            self._in_data = False
        self.ended = time.time()

    def _end_of_data(self) -> None:
        size = self._data_bytes
        self._add(
            Direction.CLIENT, "<message data>" if size is None else f"<message data: {size} bytes>"
        )
        self._add(Direction.CLIENT, ".")
        self._in_data = False

    def render(self) -> str:
        return "\n".join(line.render() for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "peer": self.peer,
            "started_at": self.started_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "omitted_lines": self.omitted_lines,
            "lines": [
                {"at": line.at, "direction": line.direction.value, "text": line.text}
                for line in self.lines
            ],
        }

    def _add(self, direction: Direction, text: str) -> None:
        if len(self.lines) >= self.max_lines:
            self.omitted_lines += 1
            return
        if len(text) > MAX_LINE_CHARS:
            text = f"{text[:MAX_LINE_CHARS]}... ({len(text)} chars)"
        self.lines.append(TranscriptLine(time.time(), direction, text))


def _without_initial_response(text: str) -> str:
    """'AUTH PLAIN <base64>' -> 'AUTH PLAIN <redacted>' (RFC 4954 initial response)."""
    verb, _, rest = text.partition(" ")
    if verb.upper() != "AUTH":
        return text
    mechanism, _, initial = rest.strip().partition(" ")
    return f"{verb} {mechanism} {REDACTED}" if initial.strip() else text


class TranscriptLog:
    """The last `max_sessions` transcripts, oldest first. Runs on the event loop thread."""

    def __init__(self, max_sessions: int = 200, max_lines_per_session: int = 2000) -> None:
        self._sessions: deque[Transcript] = deque(maxlen=max_sessions)
        self._max_lines = max_lines_per_session

    def start(self, peer: str, session_id: str = "") -> Transcript:
        transcript = Transcript(
            peer=peer, session_id=session_id or new_session_id(), max_lines=self._max_lines
        )
        self._sessions.append(transcript)
        return transcript

    def sessions(self) -> list[Transcript]:
        return list(self._sessions)

    def get(self, session_id: str) -> Transcript | None:
        return next((t for t in self._sessions if t.session_id == session_id), None)

    def clear(self) -> None:
        self._sessions.clear()

    def __iter__(self) -> Iterator[Transcript]:
        return iter(list(self._sessions))

    def __len__(self) -> int:
        return len(self._sessions)
