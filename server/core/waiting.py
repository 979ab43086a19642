"""Waiting for an event with a time limit, in a way that a task can always be cancelled.

Python 3.11's asyncio.wait_for can swallow a cancellation that arrives just as the awaited
thing finishes: the cancelled task goes on as if nothing happened, and whoever stops it waits for
ever. asyncio.timeout does not have that flaw, so every loop that sleeps until woken uses this.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Waits until `event` is set, for at most `timeout` seconds; False when the time ran out."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
