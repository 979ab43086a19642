"""What every part of the incoming store shares: the database and the wake-ups of the
streams that report what the store writes.

Each part in this package subclasses it, so that store.py can put them together as one class.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from erpmail.server.core.db import Database


class IncomingStoreBase:
    def __init__(
        self,
        db: Database,
        changed: Callable[[], Awaitable[None]],
        requests_recorded: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        # Wakes the watch stream: received email (and bounces) are changes it reports.
        self._changed = changed
        # Wakes the entity request stream.
        self._requests_recorded = requests_recorded
