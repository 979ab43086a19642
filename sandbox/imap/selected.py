"""A session's view of its selected folder: the message numbers the client knows.

The folder itself changes under the session (SMTP delivery, other sessions); the client must learn
about it through untagged EXPUNGE/EXISTS/FETCH responses, and until it has, sequence numbers keep
meaning what they meant. So the view keeps its own list of messages, including ones already gone
from the folder ("ghosts"), until it may report them.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from itertools import islice

from erpmail.sandbox.imap import encode
from erpmail.sandbox.imap.arguments import ArgumentError, SequenceSet
from erpmail.sandbox.store import Folder, Mailbox, StoredMessage


class SelectedFolder:
    """Kept as two parallel lists, the messages and the flags last reported for each, so that
    the check made around every command (is the view still the folder?) runs at C speed: a
    session fetching a large folder in batches would otherwise spend most of its time there."""

    def __init__(self, mailbox: Mailbox, folder: Folder, read_only: bool) -> None:
        self.mailbox = mailbox
        self.folder = folder
        self.read_only = read_only
        self.uidvalidity = folder.uidvalidity
        self._messages: list[StoredMessage] = list(folder.messages)
        self._reported: list[frozenset[str]] = [frozenset(m.flags) for m in self._messages]

    @property
    def messages(self) -> list[StoredMessage]:
        """The messages by sequence number (index + 1) as the client knows them."""
        return list(self._messages)

    @property
    def largest_uid(self) -> int:
        return max(map(_uid, self._messages), default=0)

    def is_gone(self) -> bool:
        """The folder was deleted, renamed or renumbered (new UIDVALIDITY) under the session."""
        current = self.mailbox.folders.get(self.folder.name)
        return current is not self.folder or self.folder.uidvalidity != self.uidvalidity

    def live_ids(self) -> set[int]:
        return set(map(id, self.folder.messages))

    def resolve(self, numbers: SequenceSet, by_uid: bool) -> list[tuple[int, StoredMessage]]:
        """(sequence number, message) for a sequence set of numbers or UIDs, in order."""
        messages = self._messages
        if by_uid:
            uids = list(map(_uid, messages))
            largest = max(uids, default=0)
            if all(map(operator.lt, uids, islice(uids, 1, None))):  # ascending, as UIDs are
                indexes: set[int] = set()
                for low, high in numbers.ranges:
                    first = largest if low is None else low
                    last = largest if high is None else high
                    start = bisect_left(uids, min(first, last))
                    indexes.update(range(start, bisect_right(uids, max(first, last))))
                return [(index + 1, messages[index]) for index in sorted(indexes)]
            return [
                (index, message)
                for index, message in enumerate(messages, start=1)
                if numbers.contains(message.uid, largest)
            ]
        count = len(messages)
        for low, high in numbers.ranges:
            if low is not None and high is not None and max(low, high) > count:
                raise ArgumentError("Invalid message sequence number")
        return [
            (index, message)
            for index, message in enumerate(messages, start=1)
            if numbers.contains(index, count)
        ]

    def flags_reported(self, sequence_number: int) -> None:
        """The client was just sent the flags of this message."""
        index = sequence_number - 1
        self._reported[index] = frozenset(self._messages[index].flags)

    def updates(self, expunges_allowed: bool) -> list[bytes]:
        """Untagged responses that bring the client up to date, updating the view to match.

        EXPUNGE may not be sent during FETCH, STORE or SEARCH (the client could not tell which
        message a number meant), so then removed messages stay as ghosts and only new messages and
        flag changes are reported.
        """
        current = self.folder.messages
        known = self._messages
        # Nothing removed: the view is the start of the folder, message for message.
        unchanged = len(known) <= len(current) and all(map(operator.is_, known, current))
        live = None if unchanged else self.live_ids()
        responses: list[bytes] = []
        if live is not None and expunges_allowed:
            index = 0
            while index < len(known):
                if id(known[index]) in live:
                    index += 1
                else:
                    # Each number is the message's number at the time of its own removal.
                    responses.append(b"* %d EXPUNGE\r\n" % (index + 1))
                    del known[index]
                    del self._reported[index]
        if not all(map(operator.eq, map(_flags, known), self._reported)):
            for index, message in enumerate(known):
                flags = frozenset(message.flags)
                if flags != self._reported[index] and (live is None or id(message) in live):
                    self._reported[index] = flags
                    responses.append(
                        b"* %d FETCH (UID %d FLAGS %s)\r\n"
                        % (index + 1, message.uid, encode.flags(flags))
                    )
        if unchanged:
            new = current[len(known) :]
        else:
            known_ids = set(map(id, known))
            new = [m for m in current if id(m) not in known_ids]
        if new:
            known += new
            self._reported += [frozenset(m.flags) for m in new]
            responses.append(b"* %d EXISTS\r\n" % len(known))
        return responses


_uid = operator.attrgetter("uid")
_flags = operator.attrgetter("flags")
