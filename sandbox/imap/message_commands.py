"""Commands of the selected state: FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE .. and IDLE."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from erpmail.sandbox.faults import Stage
from erpmail.sandbox.imap import encode, replies
from erpmail.sandbox.imap.arguments import (
    arity,
    astring,
    canonical_flag,
    flag_list,
    mailbox_name,
    sequence_set,
)
from erpmail.sandbox.imap.core import CloseConnection, SessionCore, bad, completed, no
from erpmail.sandbox.imap.fetch import FLAGS_ITEM, UID_ITEM, MessageView, parse_items
from erpmail.sandbox.imap.search import BadCharset, Candidate, Mailbox, compile_search
from erpmail.sandbox.imap.selected import SelectedFolder
from erpmail.sandbox.imap.syntax import Command, Group
from erpmail.sandbox.store import SEEN, StoredMessage, StoreError

IDLE_TIMEOUT = 30 * 60.0  # RFC 2177: clients re-issue IDLE at least every 29 minutes
_STORE_MODES = {"FLAGS": "set", "+FLAGS": "add", "-FLAGS": "remove"}


class MessageCommands(SessionCore):
    async def cmd_check(self, command: Command) -> str | None:
        arity(command.args, 0)
        return completed(command)

    async def cmd_close(self, command: Command) -> str | None:
        arity(command.args, 0)
        selected = self.require_selected()
        self.deselect()
        if not selected.read_only and selected.folder.expunge():
            self.store.changed()  # CLOSE expunges without reporting it
        return completed(command)

    async def cmd_unselect(self, command: Command) -> str | None:
        arity(command.args, 0)
        self.deselect()
        return completed(command)

    async def cmd_expunge(self, command: Command) -> str | None:
        selected = self._writable()
        uids = None
        if command.uid:
            arity(command.args, 1)
            numbers = sequence_set(command.args[0])
            uids = {message.uid for _, message in selected.resolve(numbers, by_uid=True)}
        else:
            arity(command.args, 0)
        if selected.folder.expunge(uids):
            self.store.changed()
        return completed(command)  # the EXPUNGE responses follow from the change report

    async def cmd_search(self, command: Command) -> str | None:
        selected = self.require_selected()
        limits = Mailbox(len(selected.messages), selected.largest_uid)
        try:
            criterion = compile_search(command.args, limits)
        except BadCharset:
            raise no(replies.BAD_CHARSET) from None
        live = selected.live_ids()
        found = [
            message.uid if command.uid else number
            for number, message in enumerate(selected.messages, start=1)
            if id(message) in live and criterion(Candidate(number, message))
        ]
        await self.untagged(" ".join(["SEARCH", *map(str, found)]))
        return completed(command)

    async def cmd_fetch(self, command: Command) -> str | None:
        arity(command.args, 2)
        numbers = sequence_set(command.args[0])
        items = parse_items(command.args[1])
        selected = self.require_selected()
        await self.fault_gate(Stage.IMAP_FETCH, self.login_name)
        if command.uid and UID_ITEM not in items:
            items.insert(0, UID_ITEM)
        marks_seen = not selected.read_only and any(item.sets_seen for item in items)
        live = selected.live_ids() if marks_seen else set()
        seen_now = False
        try:
            for number, message in selected.resolve(numbers, command.uid):
                message_items = items
                if marks_seen and SEEN not in message.flags and id(message) in live:
                    message.flags.add(SEEN)
                    seen_now = True
                    if FLAGS_ITEM not in items:  # RFC 3501: the flag change is reported
                        message_items = [*items, FLAGS_ITEM]
                await self.send(MessageView(message).render(number, message_items))
                if FLAGS_ITEM in message_items:
                    selected.flags_reported(number)
        finally:
            if seen_now:
                self.store.changed()
        return completed(command)

    async def cmd_store(self, command: Command) -> str | None:
        if len(command.args) < 3:
            raise bad("STORE needs a message set, an action and flags")
        numbers = sequence_set(command.args[0])
        action = astring(command.args[1]).upper()
        silent = action.endswith(".SILENT")
        mode = _STORE_MODES.get(action.removesuffix(".SILENT"))
        if mode is None:
            raise bad("STORE action must be FLAGS, +FLAGS or -FLAGS")
        flag_args = command.args[2:]
        if len(flag_args) == 1 and isinstance(flag_args[0], Group):
            flags = flag_list(flag_args[0])
        else:
            flags = {canonical_flag(astring(token)) for token in flag_args}
        flags.discard("\\Recent")
        selected = self._writable()
        live = selected.live_ids()
        changed = False
        try:
            for number, message in selected.resolve(numbers, command.uid):
                if id(message) not in live:
                    continue
                changed |= _apply_flags(message, mode, flags)
                if silent:
                    selected.flags_reported(number)  # so it is not reported as news later
                    continue
                uid = b"UID %d " % message.uid if command.uid else b""
                flag_text = encode.flags(message.flags)
                await self.send(b"* %d FETCH (%sFLAGS %s)\r\n" % (number, uid, flag_text))
                selected.flags_reported(number)
        finally:
            if changed:
                self.store.changed()
        return completed(command)

    async def cmd_copy(self, command: Command) -> str | None:
        code = self._copy(command)
        return f"{code} {completed(command)}" if code else completed(command)

    async def cmd_move(self, command: Command) -> str | None:
        self._writable()
        code = self._copy(command, move=True)
        if code:
            await self.untagged(f"OK {code} Moved")
        return completed(command)  # the EXPUNGE responses follow from the change report

    def _copy(self, command: Command, move: bool = False) -> str:
        """Copies (or moves) messages; returns the COPYUID response code, '' if none moved."""
        arity(command.args, 2)
        numbers = sequence_set(command.args[0])
        selected = self.require_selected()
        try:
            target = self.require_mailbox().folder(mailbox_name(command.args[1]))
        except StoreError:
            raise no(replies.TRYCREATE) from None
        live = selected.live_ids()
        originals = [m for _, m in selected.resolve(numbers, command.uid) if id(m) in live]
        if not originals:
            return ""
        copies = [target.append(m.raw, m.flags - {"\\Recent"}, m.internal_date) for m in originals]
        if move:
            moved = {id(m) for m in originals}
            source = selected.folder
            source.messages[:] = [m for m in source.messages if id(m) not in moved]
        self.store.changed()
        source_uids = _uid_set([m.uid for m in originals])
        target_uids = _uid_set([m.uid for m in copies])
        return f"[COPYUID {target.uidvalidity} {source_uids} {target_uids}]"

    async def cmd_idle(self, command: Command) -> str | None:
        arity(command.args, 0)
        changed = asyncio.Event()
        unsubscribe = self.store.subscribe(changed.set)
        reading = asyncio.ensure_future(self.read_continuation())
        try:
            await self.send(b"+ " + replies.IDLING.encode() + b"\r\n")
            while not reading.done():
                await self.report_changes()
                waiting = asyncio.ensure_future(changed.wait())
                done, _ = await asyncio.wait(
                    {reading, waiting}, timeout=IDLE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
                )
                waiting.cancel()
                if not done:
                    raise CloseConnection(replies.BYE_AUTOLOGOUT)
                changed.clear()
        finally:
            unsubscribe()
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
        if reading.result().strip().upper() != b"DONE":
            raise bad(replies.EXPECTED_DONE)
        return "IDLE terminated"

    def _writable(self) -> SelectedFolder:
        selected = self.require_selected()
        if selected.read_only:
            raise no(replies.READ_ONLY_MAILBOX)
        return selected


def _apply_flags(message: StoredMessage, mode: str, flags: set[str]) -> bool:
    before = set(message.flags)
    if mode == "set":
        message.flags.clear()
        message.flags.update(flags)
    elif mode == "add":
        message.flags.update(flags)
    else:
        message.flags.difference_update(flags)
    return message.flags != before


def _uid_set(uids: Sequence[int]) -> str:
    """[1, 2, 3, 5] -> '1:3,5' (the compact form UIDPLUS responses use)."""
    ranges: list[list[int]] = []
    for uid in uids:
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1][1] = uid
        else:
            ranges.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)
