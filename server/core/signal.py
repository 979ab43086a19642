"""A signal that wakes waiters after a committed change, without losing one that came between
reading and waiting: the waiter passes the version it read before looking."""

from __future__ import annotations

import asyncio


class ChangeSignal:
    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self.version = 0

    async def notify(self) -> None:
        async with self._condition:
            self.version += 1
            self._condition.notify_all()

    async def wait(self, seen_version: int, timeout: float) -> bool:
        """Waits until a change after `seen_version`; False on timeout."""
        async with self._condition:
            # asyncio.timeout, not wait_for: see core/waiting.py.
            try:
                async with asyncio.timeout(timeout):
                    await self._condition.wait_for(lambda: self.version != seen_version)
            except TimeoutError:
                return False
        return True
