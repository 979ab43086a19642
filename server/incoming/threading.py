"""Which earlier email a received email answers (no I/O).

A reply names the message it answers in In-Reply-To, and its ancestors in References (oldest
first); a client that drops both usually keeps the subject, and with it the tracking tag erpmail
added ("[#123]"). The headers are trusted first, the nearest ancestor before older ones; a tag
counts only if erpmail issued it, i.e. the number is an email of the same account carrying that
very tag, so a customer's "[#5]" or another account's tag threads nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from erpmail.server.outgoing.models import Content, RelatedEntity

# An email number longer than this is no email of ours (and keeps SQLite's integers safe).
_MAX_DIGITS = 18


@dataclass(frozen=True)
class ThreadKeys:
    """What a received email says about the conversation it belongs to."""

    in_reply_to: str = ""
    references: tuple[str, ...] = ()  # oldest first, as the header lists them
    subject: str = ""


@dataclass(frozen=True)
class TagFormat:
    """The preferences' tracking tag: prefix + email number + suffix."""

    prefix: str
    suffix: str

    def tag(self, number: int) -> str:
        return f"{self.prefix}{number}{self.suffix}"


@dataclass(frozen=True)
class ThreadEmail:
    """An email of the account a received one may thread to, and what it passes on."""

    email_id: int
    tracking_tag: str
    related_entity: RelatedEntity
    owner_id: str
    work_group_id: str


def message_ids_to_look_up(keys: ThreadKeys) -> list[str]:
    """The Message-IDs that may name the thread, in the order they are trusted."""
    ordered = [keys.in_reply_to, *reversed(keys.references)]
    return list(dict.fromkeys(i for i in ordered if i))


def tag_numbers(subject: str, tags: TagFormat | None) -> list[int]:
    """The email numbers of the tags in the subject, the last added first. Without a prefix or a
    suffix a tag cannot be told from any number in the subject, so none is read."""
    if tags is None or not (tags.prefix or tags.suffix):
        return []
    pattern = re.compile(
        re.escape(tags.prefix) + rf"(\d{{1,{_MAX_DIGITS}}})" + re.escape(tags.suffix)
    )
    found = [int(m.group(1)) for m in pattern.finditer(subject)]
    return list(dict.fromkeys(reversed(found)))


def choose_thread(
    keys: ThreadKeys,
    tags: TagFormat | None,
    by_message_id: Mapping[str, ThreadEmail],
    by_number: Mapping[int, ThreadEmail],
) -> ThreadEmail | None:
    """The email the received one threads to: by In-Reply-To, then References (newest first),
    then a tracking tag erpmail issued; None when nothing matches."""
    for message_id in message_ids_to_look_up(keys):
        if message_id in by_message_id:
            return by_message_id[message_id]
    if tags is None:
        return None
    for number in tag_numbers(keys.subject, tags):
        candidate = by_number.get(number)
        if candidate is not None and candidate.tracking_tag == tags.tag(number):
            return candidate
    return None


def threaded(content: Content, thread: ThreadEmail) -> Content:
    """The received content with what the thread passes on: its related entity and owners."""
    return Content(
        **{
            **vars(content),
            "related_entity": thread.related_entity,
            "owner_id": thread.owner_id,
            "work_group_id": thread.work_group_id,
        }
    )
