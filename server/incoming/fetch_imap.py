"""Fetching new mail from IMAP folders in batches, each with the cursor to save once it is stored.

`fetch_new` is an async generator: the caller stores a batch and its cursor in one transaction
before asking for the next, so a run that dies anywhere fetches again exactly what was not stored.
Folders are opened with EXAMINE and bodies fetched with BODY.PEEK[], so fetching never changes a
flag; only `delete_uids`, called after the caller committed, changes the mailbox.

aioimaplib hands a command's untagged responses over as text lines (bytes) with each literal as a
separate bytearray; `parse_fetch` and `parse_list` read those without any I/O.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeAlias, TypeVar

from aioimaplib.aioimaplib import AUTH, SELECTED, Command, FetchCommand
from erpmail.server.incoming.imap_connection import (
    ImapCommandRefused,
    ImapConnection,
    ImapError,
    quoted_mailbox,
)
from erpmail.server.incoming.sync import (
    FolderCursor,
    batches,
    cursor_after,
    plan_folder,
    uid_set,
    uids_from,
)

INBOX = "INBOX"
DEFAULT_BATCH_SIZE = 200
# ImapProtocol reads an answer in a loop, so the stack no longer bounds a batch (aioimaplib's
# recursion failed from about 450 messages). The cap bounds what one batch holds in memory, every
# body at once, and the length of its UID FETCH line when the UIDs are far apart.
MAX_BATCH_SIZE = 2000
FETCH_ITEMS = "(UID INTERNALDATE BODY.PEEK[])"  # PEEK: fetching must not set \Seen
DELETE_CHUNK = 500  # UIDs per STORE / UID EXPUNGE, to keep command lines short
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNSELECTABLE = {"\\NOSELECT", "\\NONEXISTENT"}

_T = TypeVar("_T")


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes
    internal_date: datetime | None
    folder: str


@dataclass(frozen=True)
class FetchedBatch:
    folder: str
    uidvalidity: int
    messages: tuple[FetchedMessage, ...]  # by UID; may be empty when only the cursor moves
    cursor: FolderCursor  # to save in the same transaction as the messages
    resync: bool  # the folder is fetched from its start: deduplicate by Message-ID


@dataclass(frozen=True)
class FolderStatus:
    """What SELECT / EXAMINE reported; 0 for a value the server did not send."""

    uidvalidity: int
    uidnext: int
    exists: int


class ImapResponseError(ImapError):
    """The server's response could not be read; nothing from it is used."""


# -- reading aioimaplib's response lines ------------------------------------------------------

Value: TypeAlias = str | bytes | list["Value"]  # atom (NIL too), string (quoted or literal), list

_TOKEN = re.compile(
    rb"""[ ]*(?:
        (?P<open>\()
      | (?P<close>\))
      | "(?P<quoted>(?:[^"\\\r\n]|\\.)*)"
      | \{(?P<literal>\d+)\+?\}\Z
      | (?P<atom>(?:[^\s()"\[\]{]|\[[^\]]*\]|\])+)
    )""",
    re.VERBOSE,
)
_OPEN, _CLOSE = object(), object()
_QUOTED_ESCAPE = re.compile(rb"\\(.)")


def _tokens(pieces: Sequence[bytes | bytearray]) -> list[object]:
    """Atoms (str), strings (bytes) and the _OPEN/_CLOSE marks of consecutive responses."""
    out: list[object] = []
    awaiting_literal = False
    for piece in pieces:
        if isinstance(piece, bytearray):  # aioimaplib keeps a literal's octets in a bytearray
            if not awaiting_literal:
                raise ImapResponseError("a literal the server did not announce")
            out.append(bytes(piece))
            awaiting_literal = False
            continue
        if awaiting_literal:
            raise ImapResponseError("a literal the server announced is missing")
        position, end = 0, len(piece.rstrip(b" "))
        while position < end:
            match = _TOKEN.match(piece, position, end)
            if match is None or match.end() == position:
                raise ImapResponseError(f"unreadable response: {piece[:80]!r}")
            position = match.end()
            if match["open"]:
                out.append(_OPEN)
            elif match["close"]:
                out.append(_CLOSE)
            elif match["quoted"] is not None:
                out.append(_QUOTED_ESCAPE.sub(rb"\1", match["quoted"]))
            elif match["literal"] is not None:
                awaiting_literal = True
            else:
                out.append(match["atom"].decode("utf-8", errors="replace"))
    if awaiting_literal:
        raise ImapResponseError("a literal the server announced is missing")
    return out


class _Reader:
    """Values from a token stream, one at a time."""

    def __init__(self, tokens: list[object]) -> None:
        self._tokens = tokens
        self._position = 0

    @property
    def done(self) -> bool:
        return self._position >= len(self._tokens)

    def value(self) -> Value:
        token = self._next()
        if token is _CLOSE:
            raise ImapResponseError("unbalanced parenthesis in a response")
        if token is not _OPEN:
            assert isinstance(token, str | bytes)
            return token
        items: list[Value] = []
        while self._peek() is not _CLOSE:
            items.append(self.value())
        self._next()
        return items

    def _peek(self) -> object:
        if self.done:
            raise ImapResponseError("a response ended early")
        return self._tokens[self._position]

    def _next(self) -> object:
        token = self._peek()
        self._position += 1
        return token


# The shape nearly every server answers our FETCH with, read without tokenizing; any other
# shape goes through the general reader.
_COMMON_FETCH = re.compile(
    rb'(\d+) FETCH \(UID (\d+) INTERNALDATE "([^"\\]*)" BODY\[\] \{(\d+)\}\Z', re.IGNORECASE
)


def parse_fetch(pieces: Sequence[bytes | bytearray]) -> dict[int, dict[str, Value]]:
    """Message sequence number -> its FETCH data items (names upper-cased), from the lines of
    "n FETCH (...)" responses. Items of one message sent in several responses are merged."""
    found: dict[int, dict[str, Value]] = {}
    others: list[bytes | bytearray] = []
    index, count = 0, len(pieces)
    while index < count:
        piece = pieces[index]
        common = None if isinstance(piece, bytearray) else _COMMON_FETCH.match(piece)
        if common and index + 2 < count:
            body, end = pieces[index + 1], pieces[index + 2]
            if isinstance(body, bytearray) and len(body) == int(common[4]) and end == b")":
                found.setdefault(int(common[1]), {}).update(
                    {"UID": common[2].decode(), "INTERNALDATE": common[3], "BODY[]": bytes(body)}
                )
                index += 3
                continue
        others.append(piece)
        index += 1
    reader = _Reader(_tokens(others))
    while not reader.done:
        number, name, items = reader.value(), reader.value(), reader.value()
        if not (isinstance(number, str) and number.isdigit() and isinstance(items, list)):
            raise ImapResponseError(f"not a FETCH response: {number!r} {name!r}")
        if not (isinstance(name, str) and name.upper() == "FETCH"):
            raise ImapResponseError(f"not a FETCH response: {number!r} {name!r}")
        if len(items) % 2:
            raise ImapResponseError(f"a FETCH response with an odd item count: {items!r:.80}")
        attributes = found.setdefault(int(number), {})
        for key, value in zip(items[::2], items[1::2], strict=True):
            if not isinstance(key, str):
                raise ImapResponseError(f"a FETCH item name that is not an atom: {key!r:.80}")
            attributes[key.upper()] = value
    return found


@dataclass(frozen=True)
class ListEntry:
    name: str  # decoded from modified UTF-7
    delimiter: str  # "" when the server has a flat namespace (NIL)
    attributes: frozenset[str]  # upper-cased, e.g. "\\NOSELECT"

    @property
    def selectable(self) -> bool:
        return not self.attributes & _UNSELECTABLE


def parse_list(pieces: Sequence[bytes | bytearray]) -> list[ListEntry]:
    """The entries of `LIST (attributes) delimiter name` responses (aioimaplib drops the LIST
    keyword of each; it may also be there)."""
    reader = _Reader(_tokens(pieces))
    entries: list[ListEntry] = []
    while not reader.done:
        attributes = reader.value()
        if isinstance(attributes, str) and attributes.upper() in ("LIST", "LSUB"):
            attributes = reader.value()
        delimiter, name = reader.value(), reader.value()
        if not isinstance(attributes, list) or isinstance(name, list):
            raise ImapResponseError("a LIST response without attributes or name")
        entries.append(
            ListEntry(
                name=decode_mailbox(name if isinstance(name, str) else name.decode("utf-8")),
                delimiter=delimiter.decode() if isinstance(delimiter, bytes) else "",
                attributes=frozenset(str(a).upper() for a in attributes),
            )
        )
    return entries


_MUTF7_RUN = re.compile(r"&([^-]*)-")


def decode_mailbox(name: str) -> str:
    """A folder name from the wire, modified UTF-7 (RFC 3501 5.1.3) decoded."""

    def run(match: re.Match[str]) -> str:
        encoded = match.group(1)
        if not encoded:
            return "&"
        padded = encoded.replace(",", "/") + "=" * (-len(encoded) % 4)
        try:
            return base64.b64decode(padded, validate=True).decode("utf-16-be")
        except ValueError:
            return match.group(0)  # not modified UTF-7 after all: keep the name as sent

    return _MUTF7_RUN.sub(run, name)


_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]", re.IGNORECASE)
_EXISTS = re.compile(rb"^(\d+) EXISTS$", re.IGNORECASE)


def parse_folder_status(pieces: Sequence[bytes | bytearray]) -> FolderStatus:
    """UIDVALIDITY, UIDNEXT and EXISTS from the untagged responses to SELECT / EXAMINE."""
    uidvalidity = uidnext = exists = 0
    for piece in pieces:
        if isinstance(piece, bytearray):
            continue
        if match := _UIDVALIDITY.search(piece):
            uidvalidity = int(match.group(1))
        if match := _UIDNEXT.search(piece):
            uidnext = int(match.group(1))
        if match := _EXISTS.match(piece.strip()):
            exists = int(match.group(1))
    return FolderStatus(uidvalidity, uidnext, exists)


def parse_search(pieces: Sequence[bytes | bytearray]) -> list[int]:
    """The numbers of `SEARCH n n n` responses (aioimaplib drops the SEARCH keyword of each; it
    may also be there)."""
    numbers: list[int] = []
    for piece in pieces:
        words = bytes(piece).split()
        if words and words[0].upper() == b"SEARCH":
            words = words[1:]
        if not all(word.isdigit() for word in words):
            raise ImapResponseError(f"unreadable SEARCH response: {bytes(piece[:80])!r}")
        numbers.extend(int(word) for word in words)
    return numbers


_INTERNALDATE = re.compile(
    rb" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\Z"
)
_MONTH_NUMBERS = {name.upper().encode(): number for number, name in enumerate(_MONTHS, start=1)}


def internal_date(value: Value | None) -> datetime | None:
    """An INTERNALDATE ("17-Jul-1996 02:44:25 -0700") as an aware datetime; None if unreadable."""
    match = _INTERNALDATE.match(value) if isinstance(value, bytes) else None
    month = _MONTH_NUMBERS.get(match[2].upper()) if match else None
    if match is None or month is None:
        return None
    offset = timedelta(hours=int(match[8]), minutes=int(match[9]))
    try:
        return datetime(
            int(match[3]),
            month,
            int(match[1]),
            int(match[4]),
            int(match[5]),
            int(match[6]),
            tzinfo=timezone(-offset if match[7] == b"-" else offset),
        )
    except ValueError:  # 31-Feb and the like
        return None


def search_date(moment: datetime) -> str:
    """A date in IMAP's form for SEARCH SINCE ("1-Feb-1994"), independent of the locale."""
    return f"{moment.day}-{_MONTHS[moment.month - 1]}-{moment.year}"


def messages_from(
    fetched: dict[int, dict[str, Value]], wanted: set[int], folder: str
) -> list[FetchedMessage]:
    """The wanted messages among FETCH data, by UID. Unsolicited FETCH responses (flag changes
    another client made) carry no body and are left out, as are UIDs not asked for."""
    messages: dict[int, FetchedMessage] = {}
    for attributes in fetched.values():
        uid, body = attributes.get("UID"), attributes.get("BODY[]")
        if not (isinstance(uid, str) and uid.isdigit() and isinstance(body, bytes)):
            continue
        if int(uid) in wanted:
            messages[int(uid)] = FetchedMessage(
                int(uid), body, internal_date(attributes.get("INTERNALDATE")), folder
            )
    return [messages[uid] for uid in sorted(messages)]


# -- talking to the server --------------------------------------------------------------------


class _FetchCommand(FetchCommand):  # type: ignore[misc]  # aioimaplib is untyped
    """aioimaplib's FETCH with its "is this response complete" check kept as a running count.

    The original re-scans every line received so far on each new line, which makes reading an
    answer quadratic in its number of messages.
    """

    _start = re.compile(rb"[0-9]+ FETCH \(")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open_parentheses = 0
        super().__init__(*args, **kwargs)

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        if isinstance(line, bytes):
            if self._start.match(line):
                self._open_parentheses = 0
            self._open_parentheses += line.count(b"(") - line.count(b")")

    def wait_data(self) -> bool:
        return bool(self._open_parentheses)


async def _step(
    conn: ImapConnection, what: str, operation: Awaitable[_T], timeout: float | None
) -> _T:
    """One exchange with the server, with errors that say which one failed."""
    limit = conn.timeout if timeout is None else timeout
    try:
        return await conn.answer(operation, timeout=limit)
    except TimeoutError:
        raise TimeoutError(f"{what}: no answer from the IMAP server within {limit:g} s") from None
    except ImapCommandRefused:
        raise
    except ImapError as error:
        raise ImapError(f"{what}: {error}") from error


def _lines(response: Any, what: str) -> list[bytes | bytearray]:
    """The untagged lines of an OK response (the last line is the tagged reply's text)."""
    lines: list[bytes | bytearray] = list(response.lines)
    if response.result != "OK":
        text = bytes(lines[-1]).decode(errors="replace") if lines else ""
        raise ImapCommandRefused(str(response.result), f"{text} ({what})")
    return lines[:-1]


async def _execute(
    conn: ImapConnection, command: Command, what: str, timeout: float | None
) -> list[bytes | bytearray]:
    response = await _step(conn, what, conn.protocol.execute(command), timeout)
    return _lines(response, what)


def _command(conn: ImapConnection, name: str, *args: str, uid: bool = False) -> Command:
    protocol = conn.protocol
    prefix = "UID" if uid else None
    return Command(name, protocol.new_tag(), *args, prefix=prefix, loop=protocol.loop)


async def open_folder(
    conn: ImapConnection, folder: str, *, read_only: bool, timeout: float | None = None
) -> FolderStatus:
    """EXAMINE (read-only) or SELECT the folder; its UIDVALIDITY and UIDNEXT."""
    name = "EXAMINE" if read_only else "SELECT"
    command = _command(conn, name, quoted_mailbox(folder))
    try:
        lines = await _execute(conn, command, f"{name} {folder}", timeout)
    except ImapCommandRefused:
        conn.protocol.state = AUTH  # RFC 3501 6.3.1: a failed SELECT leaves no folder selected
        raise
    conn.protocol.state = SELECTED  # aioimaplib only knows SELECT does this
    return parse_folder_status(lines)


async def list_folders(
    conn: ImapConnection, root: str, *, timeout: float | None = None
) -> list[str]:
    """The selectable folders to receive from: `root` and every folder below it.

    An empty root means INBOX alone. Folders marked \\Noselect (containers only) are skipped but
    their children are not. Raises ImapError when the root does not exist on the server.
    """
    if not root.strip():
        return [INBOX]
    protocol = conn.protocol

    def same(name: str) -> bool:
        return name == root or (name.upper() == INBOX and root.upper() == INBOX)

    lines = await _execute(
        conn,
        Command("LIST", protocol.new_tag(), '""', quoted_mailbox(root), loop=protocol.loop),
        f"LIST {root}",
        timeout,
    )
    roots = [entry for entry in parse_list(lines) if same(entry.name)]
    if not roots:
        raise ImapError(f"the folder {root!r} does not exist on the server")
    root = roots[0].name  # as the server spells it ("inbox" -> "INBOX")
    folders = [root] if roots[0].selectable else []
    delimiter = roots[0].delimiter
    if delimiter:
        below = root + delimiter
        lines = await _execute(
            conn,
            Command(
                "LIST", protocol.new_tag(), '""', quoted_mailbox(below + "*"), loop=protocol.loop
            ),
            f"LIST {below}*",
            timeout,
        )
        names = {e.name for e in parse_list(lines) if e.selectable and e.name.startswith(below)}
        folders.extend(sorted(names))
    return folders


async def fetch_new(
    conn: ImapConnection,
    folder: str,
    saved: FolderCursor | None,
    *,
    since: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout: float | None = None,
) -> AsyncIterator[FetchedBatch]:
    """The folder's messages after the saved cursor, in batches of at most `batch_size`, by UID.

    `since` leaves out mail the server received before it. Each batch's cursor covers it and all
    batches before it; the last one moves the cursor to the folder's UIDNEXT, and when no
    message is new but the cursor must still move (first sight, new UIDVALIDITY) an empty batch
    carries it. When the connection fails, the batches already yielded stand and the error
    (ImapError, TimeoutError) names the step that failed.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size must be from 1 to {MAX_BATCH_SIZE}, got {batch_size}")
    status = await open_folder(conn, folder, read_only=True, timeout=timeout)
    plan = plan_folder(saved, folder, status.uidvalidity, status.uidnext)
    if plan.nothing_new:
        return
    criteria = ["UID", f"{plan.start_uid}:*"]
    if since is not None:
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        # A day's margin: servers compare dates in their own time zone; `since` is applied
        # exactly below, on the INTERNALDATE.
        criteria += ["SINCE", search_date(since - timedelta(days=1))]
    lines = await _execute(
        conn, _command(conn, "SEARCH", *criteria, uid=True), f"UID SEARCH in {folder}", timeout
    )
    uids = uids_from(parse_search(lines), plan.start_uid)
    last_known = status.uidnext - 1  # every UID below UIDNEXT existed before the search
    chunks = list(batches(uids, batch_size))
    for index, chunk in enumerate(chunks):
        messages = await _fetch_batch(conn, folder, chunk, timeout)
        if since is not None:
            messages = [m for m in messages if m.internal_date is None or m.internal_date >= since]
        final = index == len(chunks) - 1
        last_uid = max(chunk[-1], last_known) if final else chunk[-1]
        yield FetchedBatch(
            folder=folder,
            uidvalidity=status.uidvalidity,
            messages=tuple(messages),
            cursor=cursor_after(saved, folder, status.uidvalidity, last_uid),
            resync=plan.resync,
        )
    if not chunks:
        cursor = cursor_after(saved, folder, status.uidvalidity, last_known)
        if cursor != saved:
            yield FetchedBatch(folder, status.uidvalidity, (), cursor, plan.resync)


async def _fetch_batch(
    conn: ImapConnection, folder: str, uids: list[int], timeout: float | None
) -> list[FetchedMessage]:
    protocol = conn.protocol
    command = _FetchCommand(
        protocol.new_tag(), uid_set(uids), FETCH_ITEMS, prefix="UID", loop=protocol.loop
    )
    what = f"UID FETCH of {len(uids)} messages from {folder}"
    lines = await _execute(conn, command, what, timeout)
    return messages_from(parse_fetch(lines), set(uids), folder)


async def delete_uids(
    conn: ImapConnection,
    folder: str,
    uids: Iterable[int],
    *,
    uidvalidity: int | None = None,
    timeout: float | None = None,
) -> None:
    """Removes the messages from the server: \\Deleted, then UID EXPUNGE (UIDPLUS) so that only
    these go, or else EXPUNGE. Call it only after the messages are stored.

    Given the `uidvalidity` the UIDs belong to, nothing is deleted (ImapError) if the folder's
    has changed since: the same UIDs would then name other messages.
    """
    wanted = sorted(set(uids))
    if not wanted:
        return
    # SELECT again: fetching used EXAMINE, and the folder must be the one these UIDs are from.
    status = await open_folder(conn, folder, read_only=False, timeout=timeout)
    if uidvalidity is not None and status.uidvalidity != uidvalidity:
        raise ImapError(
            f"not deleting from {folder!r}: its UIDVALIDITY changed"
            f" from {uidvalidity} to {status.uidvalidity}"
        )
    protocol = conn.protocol
    if not protocol.capabilities:
        await _step(conn, "CAPABILITY", protocol.capability(), timeout)
    uidplus = "UIDPLUS" in protocol.capabilities
    for chunk in batches(wanted, DELETE_CHUNK):
        numbers = uid_set(chunk)
        store = _command(conn, "STORE", numbers, "+FLAGS.SILENT", "(\\Deleted)", uid=True)
        await _execute(conn, store, f"UID STORE in {folder}", timeout)
        if uidplus:
            expunge = _command(conn, "EXPUNGE", numbers, uid=True)
            await _execute(conn, expunge, f"UID EXPUNGE in {folder}", timeout)
    if not uidplus:  # removes whatever else is marked \Deleted too: the best such servers allow
        await _execute(conn, _command(conn, "EXPUNGE"), f"EXPUNGE in {folder}", timeout)
