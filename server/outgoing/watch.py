"""The watch stream: committed changes to email, in revision order, resumable.

Every status change writes a row of the change feed in its own transaction, so following the
feed by revision misses nothing: a client that reconnects with the last revision it saw gets
every later change. Quiet streams get progress messages carrying the revision reached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from erpmail.server.core import access
from erpmail.server.core.errors import FailedPrecondition, InvalidArgument
from erpmail.server.core.protos import timestamp
from erpmail.server.outgoing import convert
from erpmail.server.outgoing.models import Address, Direction, Status
from erpmail.server.outgoing.service import OutgoingService
from erpmail.server.outgoing.store import Change, EmailStore, StoredEmail
from erpmail.v1 import emails_pb2 as pb

BATCH = 500
CURRENT_STATE_LIMIT = 100_000


class EmailWatch:
    def __init__(
        self, store: EmailStore, service: OutgoingService, progress_interval: float = 10.0
    ) -> None:
        self._store = store
        self._service = service
        self.progress_interval = progress_interval

    async def follow(self, request: pb.WatchEmailsRequest) -> AsyncIterator[pb.WatchEmailsResponse]:
        statuses = {
            convert.STATUS.to_domain(s, f"statuses[{i}]") for i, s in enumerate(request.statuses)
        }
        direction = (
            convert.DIRECTION.to_domain(request.direction, "direction")
            if request.direction
            else None
        )
        cursor = await self._start(request.after_revision)
        # Taken once, while the caller's context is surely bound: the stream shows only the
        # accounts the caller saw when it began.
        visible = await self._service.visible_accounts()

        def wanted(account_id: str, email_direction: Direction, status: Status) -> bool:
            return (
                access.sees(visible, account_id)
                and (not request.account_id or account_id == request.account_id)
                and (direction is None or email_direction is direction)
                and (not statuses or status in statuses)
            )

        if request.include_current:
            for email in await self._store.page(
                request.account_id, sorted(statuses), None, CURRENT_STATE_LIMIT
            ):
                if wanted(email.account_id, email.direction, email.status):
                    sender = await self._service.sender(email.account_id)
                    yield pb.WatchEmailsResponse(
                        change=pb.EmailChange(
                            revision=cursor,
                            change_time=timestamp(email.update_time),
                            email=convert.to_proto(email, sender, with_content=False),
                        )
                    )
        # At once, so that a client whose stream breaks before any change has a revision to
        # resume after (and knows the current state, if asked for, is complete).
        yield pb.WatchEmailsResponse(progress=pb.WatchProgress(revision=cursor))
        while True:
            seen = self._store.changed.version
            changes = await self._store.changes_after(cursor, BATCH)
            chosen = [c for c in changes if wanted(c.account_id, c.direction, c.status)]
            emails = await self._store.summaries([c.email_id for c in chosen])
            senders = await self._service.senders({c.account_id for c in chosen})
            for change in chosen:
                yield _event(change, emails.get(change.email_id), senders[change.account_id])
            if changes:
                cursor = changes[-1].revision
                continue
            if not await self._store.changed.wait(seen, self.progress_interval):
                yield pb.WatchEmailsResponse(progress=pb.WatchProgress(revision=cursor))

    async def _start(self, after_revision: int) -> int:
        if after_revision < 0:
            raise InvalidArgument.of("after_revision", "must not be negative")
        oldest, newest = await self._store.revisions()
        if after_revision == 0:
            return newest
        if after_revision > newest:
            raise InvalidArgument.of("after_revision", f"is ahead of the newest revision {newest}")
        if after_revision < oldest - 1:
            raise FailedPrecondition(
                "REVISION_EXPIRED",
                f"revisions/{after_revision}",
                f"changes before revision {oldest} are no longer kept; start over with"
                " include_current",
            )
        return after_revision


def _event(change: Change, email: StoredEmail | None, sender: Address) -> pb.WatchEmailsResponse:
    if email is None:  # purged since
        message = pb.Email(email_id=str(change.email_id), account_id=change.account_id)
    else:
        message = convert.to_proto(email, sender, with_content=False)
    # The status this change set, even if the email has moved on since.
    message.status = convert.STATUS.to_proto(change.status)
    return pb.WatchEmailsResponse(
        change=pb.EmailChange(
            revision=change.revision, change_time=timestamp(change.change_time), email=message
        )
    )
