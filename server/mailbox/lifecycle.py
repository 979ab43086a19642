"""Soft delete, restore, purge and archive (no I/O): where each email goes, or why it cannot.

Every move is one the status rules of outgoing/models.py allow for the action named, so the
state machine stays in one place. The rules, as the sources state them: deleting is soft (a
deleted email remembers its status and a restore puts it back); only deleted email is purged;
only processed email is archived, and restoring from the archive makes it processed again.
An email being sent right now (in process) is neither deleted nor archived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from erpmail.server.mailbox.actions import Held, precondition
from erpmail.server.outgoing.models import UNSENT, Direction, Status, allowed


@dataclass(frozen=True)
class Move:
    email: Held
    status: Status


def deletions(emails: Sequence[Held], unsent_only: bool = False) -> list[Move]:
    """Soft delete; `unsent_only` is the sending side's DeleteEmail (drafts, pending, failed)."""
    offenders = []
    for e in emails:
        if unsent_only and e.status not in UNSENT:
            offenders.append((e, f"is {e.status.value}: only unsent email is deleted here"))
        elif not allowed(e.status, Status.DELETED, "delete"):
            offenders.append((e, f"is {e.status.value} and cannot be deleted"))
    if offenders:
        raise precondition("EMAIL_STATUS", offenders)
    return [Move(e, Status.DELETED) for e in emails]


def restorations(emails: Sequence[Held]) -> list[Move]:
    """Deleted email back to the status it had; archived email back to processed."""
    moves, offenders = [], []
    for e in emails:
        if e.status is Status.DELETED:
            back = e.deleted_from or _unknown_before(e)
        elif e.status is Status.ARCHIVED:
            back = Status.PROCESSED
        else:
            offenders.append(
                (e, f"is {e.status.value}: only deleted or archived email is restored")
            )
            continue
        if allowed(e.status, back, "restore"):
            moves.append(Move(e, back))
        else:
            offenders.append((e, f"cannot go back to {back.value}"))
    if offenders:
        raise precondition("EMAIL_STATUS", offenders)
    return moves


def _unknown_before(email: Held) -> Status:
    # Deleted before deletes were remembered: that was only unsent outgoing mail, and as a draft
    # it is not sent by surprise.
    return Status.DRAFT if email.direction is Direction.OUTGOING else Status.PROCESSED


def archivings(emails: Sequence[Held]) -> list[Move]:
    offenders = [
        (e, f"is {e.status.value}: only processed email is archived")
        for e in emails
        if not allowed(e.status, Status.ARCHIVED, "archive")
    ]
    if offenders:
        raise precondition("EMAIL_STATUS", offenders)
    return [Move(e, Status.ARCHIVED) for e in emails]


def purgeable(emails: Sequence[Held]) -> list[Held]:
    offenders = [
        (e, f"is {e.status.value}: only deleted email is purged (delete it first)")
        for e in emails
        if e.status is not Status.DELETED
    ]
    if offenders:
        raise precondition("EMAIL_STATUS", offenders)
    return list(emails)
