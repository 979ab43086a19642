"""The sandbox's one mail store, shared by its SMTP, IMAP and POP3 servers.

Mailboxes (users with credentials) hold IMAP-style folders of messages with stable UIDs. Mail
accepted over SMTP is recorded in `received` (what a test inspects) and delivered into the INBOX
of each recipient that has a mailbox; mail for unknown addresses stays in the catch-all list.

The store lives in memory; given a directory it also writes itself there after every change, so a
developer's sandbox survives a restart. All methods run on the event loop thread: no locking.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

INBOX = "INBOX"
SEEN = "\\Seen"
DELETED = "\\Deleted"


class StoreError(Exception):
    """A request the store refuses (unknown folder, name taken, ...)."""


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)
    internal_date: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def size(self) -> int:
        return len(self.raw)


@dataclass
class Folder:
    name: str
    uidvalidity: int
    uidnext: int = 1
    subscribed: bool = True
    messages: list[StoredMessage] = field(default_factory=list)

    def append(
        self, raw: bytes, flags: Iterable[str] = (), internal_date: datetime | None = None
    ) -> StoredMessage:
        message = StoredMessage(
            uid=self.uidnext,
            raw=raw,
            flags=set(flags),
            internal_date=internal_date or datetime.now(UTC),
        )
        self.uidnext += 1
        self.messages.append(message)
        return message

    def expunge(self, uids: set[int] | None = None) -> list[int]:
        """Removes \\Deleted messages (only those in `uids` when given).

        Returns the sequence numbers removed, each as it was at the moment of its removal (the
        order and numbering IMAP's EXPUNGE responses need).
        """
        removed: list[int] = []
        index = 0
        while index < len(self.messages):
            message = self.messages[index]
            if DELETED in message.flags and (uids is None or message.uid in uids):
                del self.messages[index]
                removed.append(index + 1)
            else:
                index += 1
        return removed


@dataclass
class Mailbox:
    address: str
    username: str
    password: str
    folders: dict[str, Folder] = field(default_factory=dict)

    def folder(self, name: str) -> Folder:
        """The folder called `name` (INBOX in any case). Raises StoreError if absent."""
        key = INBOX if name.upper() == INBOX else name
        try:
            return self.folders[key]
        except KeyError:
            raise StoreError(f"no folder {name!r}") from None


@dataclass
class ReceivedMessage:
    """One message accepted over SMTP, with its envelope and how the session was secured."""

    id: int
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    received_at: datetime
    tls: bool = False
    auth_mechanism: str = ""
    auth_user: str = ""
    peer: str = ""


Listener = Callable[[], None]


class MailStore:
    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self.mailboxes: dict[str, Mailbox] = {}  # by lower-cased address
        self.received: list[ReceivedMessage] = []
        self.catch_all: list[ReceivedMessage] = []
        self._ids = itertools.count(1)
        self._uidvalidity = int(time.time())
        self._listeners: set[Listener] = set()
        self._tokens: dict[str, str] = {}  # access token -> mailbox address
        if directory is not None:
            self._load(directory)

    # -- mailboxes ---------------------------------------------------------------------------

    def create_mailbox(self, address: str, password: str, username: str = "") -> Mailbox:
        key = address.lower()
        if key in self.mailboxes:
            raise StoreError(f"mailbox {address} exists")
        mailbox = Mailbox(address=address, username=username or address, password=password)
        mailbox.folders[INBOX] = Folder(INBOX, self._next_uidvalidity())
        self.mailboxes[key] = mailbox
        self._notify()
        return mailbox

    def mailbox_for_address(self, address: str) -> Mailbox | None:
        return self.mailboxes.get(address.lower())

    def mailbox_for_user(self, username: str) -> Mailbox | None:
        for mailbox in self.mailboxes.values():
            if mailbox.username == username or mailbox.address.lower() == username.lower():
                return mailbox
        return None

    def issue_token(self, mailbox: Mailbox) -> str:
        """An OAuth2 access token for XOAUTH2 logins as this mailbox (as a provider would issue)."""
        token = secrets.token_urlsafe(24)
        self._tokens[token] = mailbox.address.lower()
        return token

    def authenticate_token(self, username: str, token: str) -> Mailbox | None:
        """The mailbox for an XOAUTH2 login, if the token was issued for that user."""
        mailbox = self.mailbox_for_user(username)
        if mailbox is None or self._tokens.get(token) != mailbox.address.lower():
            return None
        return mailbox

    def authenticate(self, username: str, password: str) -> Mailbox | None:
        mailbox = self.mailbox_for_user(username)
        if mailbox is None or mailbox.password != password:
            return None
        return mailbox

    # -- folders -----------------------------------------------------------------------------

    def create_folder(self, mailbox: Mailbox, name: str) -> Folder:
        if name.upper() == INBOX or name in mailbox.folders:
            raise StoreError(f"folder {name!r} exists")
        folder = Folder(name, self._next_uidvalidity())
        mailbox.folders[name] = folder
        self._notify()
        return folder

    def delete_folder(self, mailbox: Mailbox, name: str) -> None:
        if name.upper() == INBOX:
            raise StoreError("INBOX cannot be deleted")
        mailbox.folder(name)
        del mailbox.folders[name]
        self._notify()

    def rename_folder(self, mailbox: Mailbox, old: str, new: str) -> None:
        folder = mailbox.folder(old)
        if new.upper() == INBOX or new in mailbox.folders:
            raise StoreError(f"folder {new!r} exists")
        if folder.name == INBOX:
            # RFC 3501: renaming INBOX moves its messages to the new folder and leaves it empty.
            moved = Folder(new, self._next_uidvalidity())
            for message in folder.messages:
                moved.append(message.raw, message.flags, message.internal_date)
            folder.messages.clear()
            mailbox.folders[new] = moved
        else:
            del mailbox.folders[old]
            folder.name = new
            folder.uidvalidity = self._next_uidvalidity()
            mailbox.folders[new] = folder
        self._notify()

    def reset_uidvalidity(self, mailbox: Mailbox, name: str) -> int:
        """Gives a folder a new UIDVALIDITY and renumbers its messages, as a server rebuild does."""
        folder = mailbox.folder(name)
        folder.uidvalidity = self._next_uidvalidity()
        for uid, message in enumerate(folder.messages, start=1):
            message.uid = uid
        folder.uidnext = len(folder.messages) + 1
        self._notify()
        return folder.uidvalidity

    def append(
        self,
        mailbox: Mailbox,
        folder_name: str,
        raw: bytes,
        flags: Iterable[str] = (),
        internal_date: datetime | None = None,
    ) -> StoredMessage:
        message = mailbox.folder(folder_name).append(raw, flags, internal_date)
        self._notify()
        return message

    def changed(self) -> None:
        """Called by a protocol server after it changed flags or expunged messages in place."""
        self._notify()

    # -- SMTP delivery -----------------------------------------------------------------------

    def deliver(
        self,
        mail_from: str,
        rcpt_tos: list[str],
        raw: bytes,
        *,
        tls: bool = False,
        auth_mechanism: str = "",
        auth_user: str = "",
        peer: str = "",
    ) -> ReceivedMessage:
        """Records a message accepted over SMTP and puts it in each known recipient's INBOX."""
        received = ReceivedMessage(
            id=next(self._ids),
            mail_from=mail_from,
            rcpt_tos=list(rcpt_tos),
            raw=raw,
            received_at=datetime.now(UTC),
            tls=tls,
            auth_mechanism=auth_mechanism,
            auth_user=auth_user,
            peer=peer,
        )
        self.received.append(received)
        unknown = False
        for rcpt in rcpt_tos:
            mailbox = self.mailbox_for_address(rcpt)
            if mailbox is None:
                unknown = True
            else:
                mailbox.folders[INBOX].append(raw)
        if unknown:
            self.catch_all.append(received)
        self._notify()
        return received

    def reset(self) -> None:
        """Forgets every mailbox and message."""
        self.mailboxes.clear()
        self.received.clear()
        self.catch_all.clear()
        self._tokens.clear()
        self._notify()

    # -- change notification (IMAP IDLE, waiting for N messages) -----------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Waits until predicate() holds after some change, or timeout seconds. Returns it."""
        event = asyncio.Event()
        unsubscribe = self.subscribe(event.set)
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    event.clear()
                    await event.wait()
            return True
        except TimeoutError:
            return predicate()
        finally:
            unsubscribe()

    def _notify(self) -> None:
        if self._directory is not None:
            self._save(self._directory)
        for listener in list(self._listeners):
            listener()

    def _next_uidvalidity(self) -> int:
        self._uidvalidity += 1
        return self._uidvalidity

    # -- persistence -------------------------------------------------------------------------

    def _save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        blobs = directory / "messages"
        blobs.mkdir(exist_ok=True)
        state = {
            "uidvalidity": self._uidvalidity,
            "mailboxes": [_mailbox_state(mailbox, blobs) for mailbox in self.mailboxes.values()],
        }
        tmp = directory / "store.json.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, directory / "store.json")

    def _load(self, directory: Path) -> None:
        path = directory / "store.json"
        if not path.exists():
            return
        state = json.loads(path.read_text())
        self._uidvalidity = max(self._uidvalidity, state["uidvalidity"])
        blobs = directory / "messages"
        for entry in state["mailboxes"]:
            mailbox = Mailbox(entry["address"], entry["username"], entry["password"])
            for f in entry["folders"]:
                folder = Folder(f["name"], f["uidvalidity"], f["uidnext"], f["subscribed"])
                for m in f["messages"]:
                    folder.messages.append(
                        StoredMessage(
                            uid=m["uid"],
                            raw=(blobs / m["blob"]).read_bytes(),
                            flags=set(m["flags"]),
                            internal_date=datetime.fromisoformat(m["internal_date"]),
                        )
                    )
                mailbox.folders[folder.name] = folder
            self.mailboxes[mailbox.address.lower()] = mailbox


def _mailbox_state(mailbox: Mailbox, blobs: Path) -> dict[str, object]:
    folders = []
    for folder in mailbox.folders.values():
        messages = []
        for message in folder.messages:
            # Content-addressed, so each message is written once however often the store saves.
            blob = hashlib.sha256(message.raw).hexdigest() + ".eml"
            target = blobs / blob
            if not target.exists():
                target.write_bytes(message.raw)
            messages.append(
                {
                    "uid": message.uid,
                    "blob": blob,
                    "flags": sorted(message.flags),
                    "internal_date": message.internal_date.isoformat(),
                }
            )
        folders.append(
            {
                "name": folder.name,
                "uidvalidity": folder.uidvalidity,
                "uidnext": folder.uidnext,
                "subscribed": folder.subscribed,
                "messages": messages,
            }
        )
    return {
        "address": mailbox.address,
        "username": mailbox.username,
        "password": mailbox.password,
        "folders": folders,
    }
