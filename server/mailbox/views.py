"""The email lists' views and filters (no I/O): what each view shows, and one selection made of
a view, filters and a search, however many are combined.

The views are the tabs of the sources' email windows: all records, outgoing, incoming, failed,
archived, unread, my emails, my work group's emails, unassigned, unprocessed, and the pending
emails window with or without failed ones. Archived email leaves every view but the archived one,
yet a search still finds it; deleted email leaves every view but the deleted one. A filter that
names statuses replaces that rule: it shows the statuses it names.

Views, filters and searches combine by AND: a saved view applied together with the request's own
view and filter shows what both would. `select` folds them into one `Selection` whose fields are
each one condition, so that two requests asking the same thing in different words page alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from erpmail.server.core.errors import Violations
from erpmail.server.outgoing.models import Direction, Status

T = TypeVar("T")

MAX_ACCOUNTS = 100
MAX_ID_LENGTH = 200


class View(StrEnum):
    ALL = "all"
    OUTGOING = "outgoing"
    INCOMING = "incoming"
    FAILED = "failed"
    ARCHIVED = "archived"
    DELETED = "deleted"
    UNREAD = "unread"
    MINE = "mine"
    MY_WORK_GROUPS = "my_work_groups"
    UNASSIGNED = "unassigned"
    UNPROCESSED = "unprocessed"
    PENDING = "pending"
    PENDING_AND_FAILED = "pending_and_failed"


class Order(StrEnum):
    NEWEST_FIRST = "newest_first"
    OLDEST_FIRST = "oldest_first"


@dataclass(frozen=True)
class TimeRange:
    """From `start` (inclusive) to `end` (exclusive); either may be open."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class EmailFilter:
    account_ids: list[str] = field(default_factory=list)
    owner_id: str = ""
    work_group_id: str = ""
    statuses: list[Status] = field(default_factory=list)
    direction: Direction | None = None
    related_entity_type: str = ""
    related_entity_id: str = ""
    create_time: TimeRange = TimeRange()
    # Outgoing email: when the server accepted it.
    sent_time: TimeRange = TimeRange()
    # Incoming email: when erpmail received it.
    receive_time: TimeRange = TimeRange()
    has_attachments: bool | None = None


@dataclass(frozen=True)
class Rule:
    """What a view asks of an email, beyond the rule on archived and deleted email."""

    direction: Direction | None = None
    # The statuses the view shows; None: any (archived and deleted by the rule).
    statuses: frozenset[Status] | None = None
    unread: bool = False
    owned_by_actor: bool = False
    in_actor_work_groups: bool = False
    unassigned: bool = False


# Unread, unassigned and unprocessed are tabs of the incoming window: received email only.
RULES: dict[View, Rule] = {
    View.ALL: Rule(),
    View.OUTGOING: Rule(direction=Direction.OUTGOING),
    View.INCOMING: Rule(direction=Direction.INCOMING),
    View.FAILED: Rule(statuses=frozenset({Status.FAILED})),
    View.ARCHIVED: Rule(statuses=frozenset({Status.ARCHIVED})),
    View.DELETED: Rule(statuses=frozenset({Status.DELETED})),
    View.UNREAD: Rule(direction=Direction.INCOMING, unread=True),
    View.MINE: Rule(owned_by_actor=True),
    View.MY_WORK_GROUPS: Rule(in_actor_work_groups=True),
    View.UNASSIGNED: Rule(direction=Direction.INCOMING, unassigned=True),
    View.UNPROCESSED: Rule(
        direction=Direction.INCOMING,
        statuses=frozenset({Status.PENDING, Status.IN_PROCESS, Status.FAILED}),
    ),
    View.PENDING: Rule(statuses=frozenset({Status.PENDING})),
    View.PENDING_AND_FAILED: Rule(statuses=frozenset({Status.PENDING, Status.FAILED})),
}

EVERY_STATUS = frozenset(Status)
# What the views show unless they or a filter say otherwise.
LIVE = EVERY_STATUS - {Status.ARCHIVED, Status.DELETED}


@dataclass(frozen=True)
class Selection:
    """Everything a list asks of an email, each condition once. Empty sets select nothing;
    None (or "") leaves a condition out."""

    statuses: frozenset[Status]
    directions: frozenset[Direction] = frozenset(Direction)
    account_ids: frozenset[str] | None = None
    owner_ids: frozenset[str] | None = None
    work_group_ids: frozenset[str] | None = None
    # The email's work group is one of this employee's.
    work_groups_of: str = ""
    related_types: frozenset[str] | None = None
    related_ids: frozenset[str] | None = None
    unread: bool = False
    unassigned: bool = False
    create_time: TimeRange = TimeRange()
    sent_time: TimeRange = TimeRange()
    # True / False: with / without attachments; None: either; both asked for: nothing.
    has_attachments: frozenset[bool] | None = None
    # The FTS5 expression of the search ("": no search).
    match: str = ""

    @property
    def empty(self) -> bool:
        sets = (
            self.account_ids,
            self.owner_ids,
            self.work_group_ids,
            self.related_types,
            self.related_ids,
        )
        return (
            not self.statuses
            or not self.directions
            or any(s is not None and not s for s in sets)
            or self.has_attachments == frozenset()
            or _empty(self.create_time)
            or _empty(self.sent_time)
        )

    def fingerprint(self, order: Order) -> str:
        """Stands for the selection and order in page tokens: a token is good only for the list
        that issued it."""
        text = json.dumps([order.value, _plain(self)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def select(
    views: Sequence[View], filters: Sequence[EmailFilter], match: str, actor: str
) -> Selection:
    """The one selection that shows what every view and filter would, together with the search.
    `match` is the FTS5 expression of the search (see search.py)."""
    rules = [RULES[v] for v in views]
    shown = EVERY_STATUS
    for rule in rules:
        shown &= rule.statuses if rule.statuses is not None else EVERY_STATUS
    named = [frozenset(f.statuses) for f in filters if f.statuses]
    for statuses in named:
        shown &= statuses
    if not named and shown == EVERY_STATUS:
        # Archived email stays searchable; deleted email only shows in its own view.
        shown = (LIVE | {Status.ARCHIVED}) if match else LIVE
    directions = frozenset(Direction)
    for d in [r.direction for r in rules] + [f.direction for f in filters]:
        if d is not None:
            directions &= {d}
    if any(f.receive_time != TimeRange() for f in filters):
        directions &= {Direction.INCOMING}  # only received email has a receive time
    owners = [[actor] for r in rules if r.owned_by_actor] + _one(filters, "owner_id")
    return Selection(
        statuses=shown,
        directions=directions,
        account_ids=_each([f.account_ids for f in filters if f.account_ids]),
        owner_ids=_each(owners),
        work_group_ids=_each(_one(filters, "work_group_id")),
        work_groups_of=actor if any(r.in_actor_work_groups for r in rules) else "",
        related_types=_each(_one(filters, "related_entity_type")),
        related_ids=_each(_one(filters, "related_entity_id")),
        unread=any(r.unread for r in rules),
        unassigned=any(r.unassigned for r in rules),
        create_time=_intersect(
            [f.create_time for f in filters] + [f.receive_time for f in filters]
        ),
        sent_time=_intersect([f.sent_time for f in filters]),
        has_attachments=_each(
            [[f.has_attachments] for f in filters if f.has_attachments is not None]
        ),
        match=match,
    )


def check_filter(f: EmailFilter, field_: str, problems: Violations) -> None:
    """Adds every problem of the filter, each field named under `field_` ("filter")."""
    problems.check(
        len(f.account_ids) <= MAX_ACCOUNTS,
        f"{field_}.account_ids",
        f"names more than {MAX_ACCOUNTS} accounts",
    )
    for i, account_id in enumerate(f.account_ids):
        problems.check(
            0 < len(account_id) <= MAX_ID_LENGTH,
            f"{field_}.account_ids[{i}]",
            f"must be 1 to {MAX_ID_LENGTH} characters",
        )
    for name in ("owner_id", "work_group_id", "related_entity_type", "related_entity_id"):
        problems.check(
            len(getattr(f, name)) <= MAX_ID_LENGTH,
            f"{field_}.{name}",
            f"is longer than {MAX_ID_LENGTH} characters",
        )
    problems.check(
        not f.related_entity_id or bool(f.related_entity_type),
        f"{field_}.related_entity_type",
        "is required with related_entity_id (an id means something only within its type)",
    )
    for name in ("create_time", "sent_time", "receive_time"):
        span: TimeRange = getattr(f, name)
        problems.check(
            span.start is None or span.end is None or span.start < span.end,
            f"{field_}.{name}.end_time",
            "must be after start_time",
        )


# -- folding ---------------------------------------------------------------------------------


def _one(filters: Iterable[EmailFilter], name: str) -> list[list[str]]:
    return [[getattr(f, name)] for f in filters if getattr(f, name)]


def _each(sets: Sequence[Sequence[T]]) -> frozenset[T] | None:
    """The values every list allows (None when no list constrains)."""
    if not sets:
        return None
    allowed = frozenset(sets[0])
    for values in sets[1:]:
        allowed &= frozenset(values)
    return allowed


def _intersect(ranges: Sequence[TimeRange]) -> TimeRange:
    starts = [r.start for r in ranges if r.start is not None]
    ends = [r.end for r in ranges if r.end is not None]
    return TimeRange(max(starts) if starts else None, min(ends) if ends else None)


def _empty(r: TimeRange) -> bool:
    return r.start is not None and r.end is not None and r.start >= r.end


def _plain(s: Selection) -> dict[str, object]:
    def value(v: object) -> object:
        if isinstance(v, frozenset):
            return sorted(str(x) for x in v)
        if isinstance(v, TimeRange):
            return [value(v.start), value(v.end)]
        if isinstance(v, datetime):
            return v.isoformat()
        return v

    return {f.name: value(getattr(s, f.name)) for f in fields(s)}
