"""Commands of the authenticated state: mailboxes (LIST .. APPEND) and SELECT/EXAMINE."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from erpmail.sandbox.faults import Stage
from erpmail.sandbox.imap import encode, mutf7, replies
from erpmail.sandbox.imap.arguments import (
    DELIMITER,
    SYSTEM_FLAGS,
    arity,
    astring,
    date_time,
    flag_list,
    mailbox_name,
    wire_name,
)
from erpmail.sandbox.imap.core import SessionCore, State, bad, completed, no
from erpmail.sandbox.imap.selected import SelectedFolder
from erpmail.sandbox.imap.syntax import Command, Group, String
from erpmail.sandbox.store import INBOX, SEEN, Folder, StoreError

STATUS_ITEMS = ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN")
_QUOTED_DELIMITER = encode.string(DELIMITER)


class MailboxCommands(SessionCore):
    async def cmd_namespace(self, command: Command) -> str | None:
        arity(command.args, 0)
        await self.send(b'* NAMESPACE (("" ' + _QUOTED_DELIMITER + b")) NIL NIL\r\n")
        return completed(command)

    async def cmd_enable(self, command: Command) -> str | None:
        if not command.args:
            raise bad("ENABLE needs capability names")
        if self.state is State.SELECTED:
            raise bad(replies.ENABLE_AFTER_SELECT)
        await self.untagged("ENABLED")  # none of the ENABLE-able extensions is offered
        return completed(command)

    async def cmd_list(self, command: Command) -> str | None:
        return await self._list(command, subscribed_only=False)

    async def cmd_lsub(self, command: Command) -> str | None:
        return await self._list(command, subscribed_only=True)

    async def _list(self, command: Command, subscribed_only: bool) -> str | None:
        arity(command.args, 2)
        reference = mutf7.decode(astring(command.args[0]))
        pattern = mutf7.decode(astring(command.args[1]))
        if not pattern and not subscribed_only:
            # The delimiter query (RFC 3501 section 6.3.8).
            await self.send(b"* LIST (\\Noselect) " + _QUOTED_DELIMITER + b' ""\r\n')
            return completed(command)
        matcher = _pattern(reference + pattern)
        folders = self.require_mailbox().folders
        names = set(folders) if subscribed_only else _with_parents(folders)
        for name in sorted(names, key=lambda n: (n != INBOX, n)):
            folder = folders.get(name)
            if subscribed_only and (folder is None or not folder.subscribed):
                continue
            if not matcher(name):
                continue
            attributes = _attributes(name, folder is not None, names)
            line = b"* %s (%s) %s %s\r\n" % (
                command.name.encode(),
                attributes.encode(),
                _QUOTED_DELIMITER,
                encode.astring(wire_name(name)),
            )
            await self.send(line)
        return completed(command)

    async def cmd_create(self, command: Command) -> str | None:
        arity(command.args, 1)
        name = mailbox_name(command.args[0])
        try:
            self.store.create_folder(self.require_mailbox(), name)
        except StoreError:
            raise no(replies.ALREADY_EXISTS) from None
        return completed(command)

    async def cmd_delete(self, command: Command) -> str | None:
        arity(command.args, 1)
        name = mailbox_name(command.args[0])
        if name == INBOX:
            raise no(replies.CANNOT_INBOX)
        folder = self._folder(name, replies.NONEXISTENT)
        if self.selected is not None and self.selected.folder is folder:
            self.deselect()
        self.store.delete_folder(self.require_mailbox(), name)
        return completed(command)

    async def cmd_rename(self, command: Command) -> str | None:
        arity(command.args, 2)
        old, new = mailbox_name(command.args[0]), mailbox_name(command.args[1])
        mailbox = self.require_mailbox()
        folder = self._folder(old, replies.NONEXISTENT)
        if new == INBOX or new in mailbox.folders:
            raise no(replies.ALREADY_EXISTS)
        if self.selected is not None and self.selected.folder is folder:
            self.deselect()
        # Folders below the renamed one move with it (RFC 3501 section 6.3.5).
        inferiors = [n for n in mailbox.folders if n.startswith(old + DELIMITER)]
        self.store.rename_folder(mailbox, old, new)
        if old != INBOX:
            for name in inferiors:
                self.store.rename_folder(mailbox, name, new + name[len(old) :])
        return completed(command)

    async def cmd_subscribe(self, command: Command) -> str | None:
        return await self._subscribe(command, True)

    async def cmd_unsubscribe(self, command: Command) -> str | None:
        return await self._subscribe(command, False)

    async def _subscribe(self, command: Command, subscribed: bool) -> str | None:
        arity(command.args, 1)
        folder = self._folder(mailbox_name(command.args[0]), replies.NONEXISTENT)
        folder.subscribed = subscribed
        self.store.changed()
        return completed(command)

    async def cmd_status(self, command: Command) -> str | None:
        arity(command.args, 2)
        name = mailbox_name(command.args[0])
        items = command.args[1]
        if not isinstance(items, Group) or not items.items:
            raise bad("STATUS needs a list of items")
        wanted = [astring(item).upper() for item in items.items]
        for item in wanted:
            if item not in STATUS_ITEMS:
                raise bad(replies.UNKNOWN_STATUS_ITEM.format(name=item[:40]))
        folder = self._folder(name, replies.NONEXISTENT)
        values = {
            "MESSAGES": len(folder.messages),
            "RECENT": 0,
            "UIDNEXT": folder.uidnext,
            "UIDVALIDITY": folder.uidvalidity,
            "UNSEEN": sum(1 for m in folder.messages if SEEN not in m.flags),
        }
        pairs = " ".join(f"{item} {values[item]}" for item in wanted)
        await self.send(b"* STATUS %s (%s)\r\n" % (encode.astring(wire_name(name)), pairs.encode()))
        return completed(command)

    async def cmd_append(self, command: Command) -> str | None:
        arity(command.args, 2, 4)
        name = mailbox_name(command.args[0])
        content = command.args[-1]
        if not isinstance(content, String):
            raise bad("APPEND needs the message as a literal")
        flags: set[str] = set()
        internal_date = None
        for option in command.args[1:-1]:
            if isinstance(option, Group) and not flags and internal_date is None:
                flags = flag_list(option) - {"\\Recent"}
            elif isinstance(option, String) and internal_date is None:
                internal_date = date_time(option)
            else:
                raise bad("APPEND takes flags, then a date, then the message")
        folder = self._folder(name, replies.TRYCREATE)
        message = folder.append(content.data, flags, internal_date)
        self.store.changed()
        return f"[APPENDUID {folder.uidvalidity} {message.uid}] {completed(command)}"

    async def cmd_select(self, command: Command) -> str | None:
        return await self._select(command, read_only=False)

    async def cmd_examine(self, command: Command) -> str | None:
        return await self._select(command, read_only=True)

    async def _select(self, command: Command, read_only: bool) -> str | None:
        arity(command.args, 1)
        name = mailbox_name(command.args[0])
        self.deselect()  # even a failed SELECT leaves no mailbox selected
        await self.fault_gate(Stage.IMAP_SELECT, self.login_name)
        folder = self._folder(name, replies.NONEXISTENT)
        selected = SelectedFolder(self.require_mailbox(), folder, read_only)
        keywords = {flag for m in folder.messages for flag in m.flags} - set(SYSTEM_FLAGS)
        flags = encode.flags([*SYSTEM_FLAGS, *keywords]).decode("ascii", "replace")
        permanent = "()" if read_only else flags[:-1] + " \\*)"
        first_unseen = next(
            (n for n, m in enumerate(folder.messages, start=1) if SEEN not in m.flags), None
        )
        await self.untagged(f"FLAGS {flags}")
        await self.untagged(f"{len(folder.messages)} EXISTS")
        await self.untagged("0 RECENT")
        if first_unseen is not None:
            await self.untagged(f"OK [UNSEEN {first_unseen}] First unseen message")
        await self.untagged(f"OK [UIDVALIDITY {folder.uidvalidity}] UIDs valid")
        await self.untagged(f"OK [UIDNEXT {folder.uidnext}] Predicted next UID")
        await self.untagged(f"OK [PERMANENTFLAGS {permanent}] Flags permitted")
        self.selected = selected
        self.state = State.SELECTED
        template = replies.READ_ONLY if read_only else replies.READ_WRITE
        return template.format(name=command.name)

    def _folder(self, name: str, missing: str) -> Folder:
        try:
            return self.require_mailbox().folder(name)
        except StoreError:
            raise no(missing) from None


def _pattern(pattern: str) -> Callable[[str], bool]:
    """LIST wildcards: `*` matches anything, `%` anything but the hierarchy delimiter."""
    parts = [
        ".*" if char == "*" else f"[^{re.escape(DELIMITER)}]*" if char == "%" else re.escape(char)
        for char in pattern
    ]
    regex = re.compile("".join(parts), re.DOTALL)
    inbox_regex = re.compile("".join(parts), re.DOTALL | re.IGNORECASE)

    def matches(name: str) -> bool:
        # INBOX is case-insensitive, other names are not.
        return bool((inbox_regex if name == INBOX else regex).fullmatch(name))

    return matches


def _with_parents(names: Iterable[str]) -> set[str]:
    """Folder names plus the implied levels above them (a/b implies a)."""
    result: set[str] = set()
    for name in names:
        parts = name.split(DELIMITER)
        result.update(DELIMITER.join(parts[: i + 1]) for i in range(len(parts)))
    return result


def _attributes(name: str, exists: bool, names: set[str]) -> str:
    has_children = any(other.startswith(name + DELIMITER) for other in names)
    attributes = ["\\HasChildren" if has_children else "\\HasNoChildren"]
    if not exists:
        attributes.insert(0, "\\Noselect")
    return " ".join(attributes)
