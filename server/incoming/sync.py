"""What to fetch next, decided without any I/O: IMAP folder cursors and POP3 UIDL bookkeeping.

An IMAP folder is followed by (UIDVALIDITY, last UID stored). The \\Seen flag is never used: other
clients change it, and a failed run must not hide mail. When UIDVALIDITY changes (or a folder is
seen for the first time) the whole folder is fetched again and the caller deduplicates by
Message-ID within the account. The first UID asked for is never 0: some servers refuse `UID 0:*`,
which would stop a folder's sync for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice


@dataclass(frozen=True)
class FolderCursor:
    """How far a folder was stored: every message with a UID <= last_uid is in the database."""

    folder: str
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class FolderPlan:
    start_uid: int  # the first UID to fetch (>= 1)
    resync: bool  # first sight or a new UIDVALIDITY: the caller deduplicates by Message-ID
    nothing_new: bool  # the server's UIDNEXT says no message arrived since the cursor


def plan_folder(
    saved: FolderCursor | None, folder: str, uidvalidity: int, uidnext: int
) -> FolderPlan:
    """Where to start fetching `folder`, given the saved cursor and what SELECT reported.

    `uidnext` 0 means the server did not say; then the folder is searched anyway. A UIDNEXT below
    the cursor (a server breaking its own promise) is not trusted to mean "nothing new" either.
    """
    if saved is None or saved.folder != folder or saved.uidvalidity != uidvalidity:
        return FolderPlan(start_uid=1, resync=True, nothing_new=False)
    start = max(saved.last_uid, 0) + 1
    return FolderPlan(start_uid=start, resync=False, nothing_new=uidnext == start)


def cursor_after(
    saved: FolderCursor | None, folder: str, uidvalidity: int, last_uid: int
) -> FolderCursor:
    """The cursor once everything up to `last_uid` is stored; it never moves backwards."""
    if saved is not None and saved.folder == folder and saved.uidvalidity == uidvalidity:
        last_uid = max(last_uid, saved.last_uid)
    return FolderCursor(folder, uidvalidity, max(last_uid, 0))


def uids_from(uids: Iterable[int], start_uid: int) -> list[int]:
    """The UIDs >= start_uid, sorted, each once.

    `UID SEARCH UID n:*` also returns the highest UID when it is below n (RFC 3501: "*" is the
    largest UID in use, and n:* is the same as *:n), so results must be filtered.
    """
    return sorted({uid for uid in uids if uid >= start_uid})


def batches(items: Sequence[int], size: int) -> Iterator[list[int]]:
    """Consecutive slices of at most `size` items."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def uid_set(uids: Iterable[int]) -> str:
    """An IMAP sequence set for the UIDs, runs collapsed: [1, 2, 3, 7, 9, 10] -> "1:3,7,9:10"."""
    parts: list[str] = []
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an IMAP sequence set needs at least one number")
    first = previous = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        parts.append(str(first) if first == previous else f"{first}:{previous}")
        if uid is not None:
            first = previous = uid
    return ",".join(parts)


def new_uidls(server_uidls: Mapping[int, str], seen: set[str]) -> list[tuple[int, str]]:
    """(message number, UIDL) of the POP3 messages not stored yet, in message-number order.

    A UIDL listed twice (a broken server) is fetched once, under its lowest message number.
    """
    fresh: list[tuple[int, str]] = []
    taken: set[str] = set()
    for number in sorted(server_uidls):
        uidl = server_uidls[number]
        if uidl in seen or uidl in taken:
            continue
        taken.add(uidl)
        fresh.append((number, uidl))
    return fresh
