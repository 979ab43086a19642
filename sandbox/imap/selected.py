"""A session's view of its selected folder: the message numbers the client knows.

The folder itself changes under the session (SMTP delivery, other sessions); the client must learn
about it through untagged EXPUNGE/EXISTS/FETCH responses, and until it has, sequence numbers keep
meaning what they meant. So the view keeps its own list of messages, including ones already gone
from the folder ("ghosts"), until it may report them.
"""

from __future__ import annotations

from dataclasses import dataclass

from erpmail.sandbox.imap import encode
from erpmail.sandbox.imap.arguments import ArgumentError, SequenceSet
from erpmail.sandbox.store import Folder, Mailbox, StoredMessage


@dataclass
class _Entry:
    message: StoredMessage
    reported_flags: frozenset[str]


class SelectedFolder:
    def __init__(self, mailbox: Mailbox, folder: Folder, read_only: bool) -> None:
        self.mailbox = mailbox
        self.folder = folder
        self.read_only = read_only
        self.uidvalidity = folder.uidvalidity
        self._entries = [_Entry(m, frozenset(m.flags)) for m in folder.messages]

    @property
    def messages(self) -> list[StoredMessage]:
        """The messages by sequence number (index + 1) as the client knows them."""
        return [entry.message for entry in self._entries]

    @property
    def largest_uid(self) -> int:
        return max((entry.message.uid for entry in self._entries), default=0)

    def is_gone(self) -> bool:
        """The folder was deleted, renamed or renumbered (new UIDVALIDITY) under the session."""
        current = self.mailbox.folders.get(self.folder.name)
        return current is not self.folder or self.folder.uidvalidity != self.uidvalidity

    def live_ids(self) -> set[int]:
        return {id(message) for message in self.folder.messages}

    def resolve(self, numbers: SequenceSet, by_uid: bool) -> list[tuple[int, StoredMessage]]:
        """(sequence number, message) for a sequence set of numbers or UIDs, in order."""
        if by_uid:
            largest = self.largest_uid
            return [
                (index, entry.message)
                for index, entry in enumerate(self._entries, start=1)
                if numbers.contains(entry.message.uid, largest)
            ]
        count = len(self._entries)
        for low, high in numbers.ranges:
            if low is not None and high is not None and max(low, high) > count:
                raise ArgumentError("Invalid message sequence number")
        return [
            (index, entry.message)
            for index, entry in enumerate(self._entries, start=1)
            if numbers.contains(index, count)
        ]

    def flags_reported(self, sequence_number: int) -> None:
        """The client was just sent the flags of this message."""
        entry = self._entries[sequence_number - 1]
        entry.reported_flags = frozenset(entry.message.flags)

    def updates(self, expunges_allowed: bool) -> list[bytes]:
        """Untagged responses that bring the client up to date, updating the view to match.

        EXPUNGE may not be sent during FETCH, STORE or SEARCH (the client could not tell which
        message a number meant), so then removed messages stay as ghosts and only new messages and
        flag changes are reported.
        """
        live = self.live_ids()
        responses: list[bytes] = []
        if expunges_allowed:
            index = 0
            while index < len(self._entries):
                if id(self._entries[index].message) in live:
                    index += 1
                else:
                    # Each number is the message's number at the time of its own removal.
                    responses.append(b"* %d EXPUNGE\r\n" % (index + 1))
                    del self._entries[index]
        for number, entry in enumerate(self._entries, start=1):
            flags = frozenset(entry.message.flags)
            if id(entry.message) in live and flags != entry.reported_flags:
                entry.reported_flags = flags
                responses.append(
                    b"* %d FETCH (UID %d FLAGS %s)\r\n"
                    % (number, entry.message.uid, encode.flags(flags))
                )
        known = {id(entry.message) for entry in self._entries}
        new = [m for m in self.folder.messages if id(m) not in known]
        if new:
            self._entries += [_Entry(m, frozenset(m.flags)) for m in new]
            responses.append(b"* %d EXISTS\r\n" % len(self._entries))
        return responses
