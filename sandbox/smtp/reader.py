"""The stream reader under each SMTP session: it can report what it reads and read slowly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncio.streams import _ReaduntilBuffer


class WatchedReader(asyncio.StreamReader):
    """A StreamReader that can report each line it hands out and be slowed to a set rate.

    Watching costs a wrapper call per line, and message data is most of the lines, so the
    wrapper is put on the instance only while something wants it.
    """

    _buffer: bytearray  # StreamReader's own, not in its type stubs

    def __init__(self, *, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self._on_read: Callable[[bytes], None] | None = None
        self._seconds_per_byte = 0.0

    def watch(self, on_read: Callable[[bytes], None] | None, seconds_per_byte: float) -> None:
        self._on_read, self._seconds_per_byte = on_read, seconds_per_byte
        if on_read is None and not seconds_per_byte:
            vars(self).pop("readuntil", None)  # back to the inherited method
        else:
            self.readuntil = self._watched_readuntil  # type: ignore[method-assign]

    def discard_unread(self) -> None:
        """Forgets what arrived and was not read yet: after a drop none of it may be obeyed."""
        self._buffer.clear()

    async def _watched_readuntil(self, separator: _ReaduntilBuffer = b"\n") -> bytes:
        data = await super().readuntil(separator)
        if self._on_read is not None:
            self._on_read(data)
        if self._seconds_per_byte:
            await asyncio.sleep(len(data) * self._seconds_per_byte)
        return data

    async def read(self, n: int = -1) -> bytes:
        data = await super().read(n)
        if self._on_read is not None:
            self._on_read(data)
        return data
