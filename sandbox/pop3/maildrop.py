"""A POP3 maildrop: the INBOX as it was at login, plus the deletions marked in this session.

RFC 1939 numbers messages from 1 for the whole session and applies deletions only at QUIT, so the
listing is a snapshot: mail that arrives meanwhile waits for the next session, and a connection
that drops leaves the INBOX untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from erpmail.sandbox.store import DELETED, INBOX, Mailbox, MailStore, StoredMessage, StoreError


def message_lines(raw: bytes) -> list[bytes]:
    """The message's lines without their endings, whether it was stored with CRLF or bare LF."""
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def transmitted_size(raw: bytes) -> int:
    """Octets the message takes on the wire with CRLF line endings, before byte-stuffing."""
    # Mail delivered over SMTP is already CRLF throughout: no need to split it.
    if raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n"):
        return len(raw)
    return sum(len(line) + 2 for line in message_lines(raw))


def multiline_message(raw: bytes) -> bytes:
    """A message as a multi-line response body (what `multiline(message_lines(raw))` gives)."""
    plain = raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n")
    if plain and not raw.startswith(b".") and b"\n." not in raw:
        return raw + b".\r\n"  # CRLF throughout and nothing to stuff, as nearly all mail is
    return multiline(message_lines(raw))


def multiline(lines: list[bytes]) -> bytes:
    """A multi-line response body: CRLF endings, a '.' doubled at line starts, the final '.'."""
    stuffed = [b"." + line if line.startswith(b".") else line for line in lines]
    stuffed.append(b".")
    return b"\r\n".join(stuffed) + b"\r\n"


def top_lines(raw: bytes, body_lines: int) -> list[bytes]:
    """The header, the blank line after it and the first `body_lines` lines of the body."""
    lines = message_lines(raw)
    try:
        blank = lines.index(b"")
    except ValueError:
        return lines
    return lines[: blank + 1 + body_lines]


@dataclass
class Entry:
    number: int
    unique_id: str
    size: int
    message: StoredMessage  # the store's own object, so QUIT removes exactly it
    deleted: bool = False


class Maildrop:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        inbox = mailbox.folder(INBOX)
        self.entries = [
            Entry(
                number=number,
                unique_id=f"{inbox.uidvalidity}.{message.uid}",
                size=transmitted_size(message.raw),
                message=message,
            )
            for number, message in enumerate(inbox.messages, start=1)
        ]

    def live(self) -> list[Entry]:
        return [entry for entry in self.entries if not entry.deleted]

    @property
    def count(self) -> int:
        return len(self.live())

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.live())

    def find(self, number: int) -> Entry | None:
        """The entry numbered `number` (deleted or not), None when out of range."""
        if 1 <= number <= len(self.entries):
            return self.entries[number - 1]
        return None

    def reset(self) -> None:
        for entry in self.entries:
            entry.deleted = False

    def commit(self, store: MailStore) -> int:
        """Removes the messages marked deleted from the INBOX (RFC 1939's UPDATE state).

        Returns how many were removed; one already gone (expunged over IMAP meanwhile) is not
        counted. Raises StoreError when the mailbox itself was removed during the session.
        """
        if store.mailbox_for_address(self.mailbox.address) is not self.mailbox:
            raise StoreError("mailbox removed during the session")
        inbox = self.mailbox.folder(INBOX)
        doomed = {id(entry.message) for entry in self.entries if entry.deleted}
        targets = [message for message in inbox.messages if id(message) in doomed]
        if not targets:
            return 0
        for message in targets:
            message.flags.add(DELETED)
        # Removal by UID spares messages another client flagged \Deleted but did not expunge.
        inbox.expunge({message.uid for message in targets})
        store.changed()
        return len(targets)
