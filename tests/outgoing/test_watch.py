"""The watch stream: every committed change with a growing revision, resumable after a
disconnect with nothing missed, progress on quiet streams, and a clear refusal for a revision
that is no longer kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from google.protobuf import field_mask_pb2

from tests.support.errors import precondition_types
from tests.support.outgoing import email, sandbox_account, wait_until

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"


async def _collect(
    emails: Emails, request: pb.WatchEmailsRequest, until: int
) -> list[pb.EmailChange]:
    """Changes from a stream until `until` have arrived."""
    changes = []
    async with asyncio.timeout(20):
        async for event in emails.WatchEmails(request):
            if event.HasField("change"):
                changes.append(event.change)
                if len(changes) >= until:
                    return changes
    return changes


async def _next_change(events: AsyncIterator[pb.WatchEmailsResponse]) -> pb.EmailChange:
    while True:
        event = await anext(events)
        if event.HasField("change"):
            return event.change


async def test_a_reconnecting_watcher_misses_no_change(
    emails: Emails, accounts: Accounts, sandbox: Sandbox
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))
    first = await emails.CreateEmail(pb.CreateEmailRequest(email=email("a@example.com")))
    stream = emails.WatchEmails(pb.WatchEmailsRequest(include_current=True))
    events = stream.__aiter__()
    async with asyncio.timeout(20):
        snapshot = await _next_change(events)  # the draft as it is: the stream now follows
        assert snapshot.email.status == pb.EMAIL_STATUS_DRAFT
        await emails.SubmitEmail(pb.SubmitEmailRequest(email_id=first.emails[0].email_id))
        got = [await _next_change(events)]
    stream.cancel()  # the client goes away after one change

    # Meanwhile the email is sent and another is created; nobody is watching.
    await wait_until(emails, [first.emails[0].email_id])
    await emails.CreateEmail(pb.CreateEmailRequest(email=email("b@example.com"), submit=True))

    resumed = await _collect(
        emails, pb.WatchEmailsRequest(after_revision=got[-1].revision), until=4
    )

    revisions = [c.revision for c in got + resumed]
    assert revisions == sorted(set(revisions)), "revisions only grow, none repeated"
    assert revisions == list(range(revisions[0], revisions[0] + len(revisions))), "no gap"
    statuses = [(c.email.email_id, c.email.status) for c in got + resumed]
    first_id = first.emails[0].email_id
    assert statuses[:3] == [
        (first_id, pb.EMAIL_STATUS_PENDING),
        (first_id, pb.EMAIL_STATUS_IN_PROCESS),
        (first_id, pb.EMAIL_STATUS_PROCESSED),
    ]


async def test_filters_and_current_state(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )
    pending = await emails.CreateEmail(pb.CreateEmailRequest(email=email(), submit=True))
    await emails.CreateEmail(pb.CreateEmailRequest(email=email()))  # a draft: filtered out

    current = await _collect(
        emails,
        pb.WatchEmailsRequest(
            account_id="sandbox", statuses=[pb.EMAIL_STATUS_PENDING], include_current=True
        ),
        until=1,
    )

    assert [c.email.email_id for c in current] == [pending.emails[0].email_id]


async def test_a_quiet_stream_gets_progress_messages(emails: Emails) -> None:
    async with asyncio.timeout(20):
        async for event in emails.WatchEmails(pb.WatchEmailsRequest()):
            assert event.HasField("progress")
            break


async def test_a_revision_no_longer_kept_is_refused(
    emails: Emails, accounts: Accounts, sandbox: Sandbox, erpmail_server: ErpmailServer
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))
    for _ in range(5):
        await emails.CreateEmail(pb.CreateEmailRequest(email=email()))
    await erpmail_server.emails.prune_changes(keep=2)

    with pytest.raises(grpc.aio.AioRpcError) as error:
        async for _ in emails.WatchEmails(pb.WatchEmailsRequest(after_revision=1)):
            pass

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["REVISION_EXPIRED"]
