"""Delete, restore, purge and archive. Deleting is soft and remembers the status, restoring puts
it back (from the archive: processed); only deleted email is purged and only processed email is
archived; a batch changes every email or none, naming each one in the way; every move reaches the
watch stream; a deleted email is neither submitted nor cancelled back to life."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from erpmail.server.core.errors import FailedPrecondition
from erpmail.server.mailbox.actions import Held
from erpmail.server.mailbox.lifecycle import archivings, deletions, purgeable, restorations
from erpmail.server.outgoing.models import Direction, Status, allowed
from erpmail.v1 import emails_pb2 as pb

from tests.mailbox.actions_support import World, outgoing, statuses, world
from tests.support.errors import precondition_subjects

# -- the rules -------------------------------------------------------------------------------------


def held(email_id: int, status: Status, deleted_from: Status | None = None) -> Held:
    return Held(email_id, "sandbox", Direction.INCOMING, status, deleted_from=deleted_from)


def test_every_status_but_in_process_and_deleted_is_deleted() -> None:
    for status in (Status.DRAFT, Status.PENDING, Status.FAILED, Status.PROCESSED, Status.ARCHIVED):
        assert [m.status for m in deletions([held(1, status)])] == [Status.DELETED]
    for status in (Status.IN_PROCESS, Status.DELETED):
        with pytest.raises(FailedPrecondition):
            deletions([held(1, status)])


def test_the_sending_sides_delete_takes_unsent_email_only() -> None:
    assert deletions([held(1, Status.FAILED)], unsent_only=True)[0].status is Status.DELETED
    with pytest.raises(FailedPrecondition):
        deletions([held(1, Status.PROCESSED)], unsent_only=True)


def test_a_restore_goes_back_to_the_status_remembered_or_from_the_archive_to_processed() -> None:
    moves = restorations(
        [
            held(1, Status.DELETED, Status.ARCHIVED),
            held(2, Status.DELETED, Status.PENDING),
            held(3, Status.ARCHIVED),
            held(4, Status.DELETED),  # deleted before statuses were remembered
        ]
    )
    assert [m.status for m in moves] == [
        Status.ARCHIVED,
        Status.PENDING,
        Status.PROCESSED,
        Status.PROCESSED,
    ]


def test_a_refusal_names_every_email_in_the_way() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        archivings([held(1, Status.PROCESSED), held(2, Status.PENDING), held(3, Status.FAILED)])
    assert [subject for subject, _ in refused.value.items] == ["emails/2", "emails/3"]
    with pytest.raises(FailedPrecondition):
        purgeable([held(1, Status.DELETED), held(2, Status.ARCHIVED)])


def test_only_the_named_action_leaves_processed_archived_or_deleted_email() -> None:
    assert allowed(Status.DELETED, Status.PENDING, "restore")
    assert not allowed(Status.DELETED, Status.PENDING)  # a submit does not undelete
    assert not allowed(Status.DELETED, Status.DRAFT)  # nor a cancel
    assert not allowed(Status.PROCESSED, Status.DELETED)  # nor an edit of the sending side
    assert allowed(Status.PROCESSED, Status.ARCHIVED, "archive")
    assert not allowed(Status.PENDING, Status.ARCHIVED, "archive")
    assert allowed(Status.DRAFT, Status.PENDING)  # the sending side's moves are as they were


# -- end to end ------------------------------------------------------------------------------------


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[World]:
    async with world(tmp_path) as running:
        yield running


async def _delete(mail: World, *ids: str) -> list[pb.Email]:
    return list((await mail.emails.DeleteEmails(pb.DeleteEmailsRequest(email_ids=ids))).emails)


async def _restore(mail: World, *ids: str) -> list[pb.Email]:
    return list((await mail.emails.RestoreEmails(pb.RestoreEmailsRequest(email_ids=ids))).emails)


async def _archive(mail: World, *ids: str) -> list[pb.Email]:
    return list((await mail.emails.ArchiveEmails(pb.ArchiveEmailsRequest(email_ids=ids))).emails)


async def test_deleted_email_is_restored_to_the_status_it_had(mail: World) -> None:
    received = await mail.received()
    sent = await mail.sent()
    draft = await mail.draft()
    await _archive(mail, sent.email_id)
    ids = (received.email_id, sent.email_id, draft.email_id)

    deleted = await _delete(mail, *ids)
    assert statuses(deleted) == [pb.EMAIL_STATUS_DELETED] * 3

    restored = await _restore(mail, *ids)
    assert statuses(restored) == [
        pb.EMAIL_STATUS_PROCESSED,
        pb.EMAIL_STATUS_ARCHIVED,
        pb.EMAIL_STATUS_DRAFT,
    ]
    assert (await mail.get(received.email_id)).text_body.strip() == "Please send it again."


async def test_archived_email_is_restored_as_processed(mail: World) -> None:
    received = await mail.received()
    sent = await mail.sent()

    assert (
        statuses(await _archive(mail, received.email_id, sent.email_id))
        == [pb.EMAIL_STATUS_ARCHIVED] * 2
    )
    assert (
        statuses(await _restore(mail, received.email_id, sent.email_id))
        == [pb.EMAIL_STATUS_PROCESSED] * 2
    )


async def test_only_processed_email_is_archived_and_nothing_changes_otherwise(mail: World) -> None:
    sent = await mail.sent()
    draft = await mail.draft()
    deleted = await mail.draft()
    await _delete(mail, deleted.email_id)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _archive(mail, sent.email_id, draft.email_id, deleted.email_id)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_subjects(refused.value) == {
        f"emails/{draft.email_id}": "EMAIL_STATUS",
        f"emails/{deleted.email_id}": "EMAIL_STATUS",
    }
    assert (await mail.get(sent.email_id)).status == pb.EMAIL_STATUS_PROCESSED


async def test_email_neither_deleted_nor_archived_is_not_restored(mail: World) -> None:
    sent = await mail.sent()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _restore(mail, sent.email_id)
    assert precondition_subjects(refused.value) == {f"emails/{sent.email_id}": "EMAIL_STATUS"}


async def test_pending_email_deleted_and_restored_waits_for_its_send_time_again(
    mail: World,
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    message = outgoing()
    message.earliest_send_time.FromDatetime(later)
    created = await mail.emails.CreateEmail(pb.CreateEmailRequest(email=message, submit=True))
    email_id = created.emails[0].email_id

    await _delete(mail, email_id)
    for call in (
        mail.emails.SubmitEmail(pb.SubmitEmailRequest(email_id=email_id)),
        mail.emails.CancelEmail(pb.CancelEmailRequest(email_id=email_id)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    (restored,) = await _restore(mail, email_id)

    assert restored.status == pb.EMAIL_STATUS_PENDING
    assert restored.next_attempt_time.ToDatetime(tzinfo=UTC) == later


async def test_the_sending_sides_delete_is_still_for_unsent_email_and_now_restorable(
    mail: World,
) -> None:
    draft = await mail.draft()
    sent = await mail.sent()

    deleted = await mail.emails.DeleteEmail(pb.DeleteEmailRequest(email_id=draft.email_id))
    assert deleted.email.status == pb.EMAIL_STATUS_DELETED
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mail.emails.DeleteEmail(pb.DeleteEmailRequest(email_id=sent.email_id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    assert statuses(await _restore(mail, draft.email_id)) == [pb.EMAIL_STATUS_DRAFT]


async def test_only_deleted_email_is_purged_with_its_parts_and_its_id_is_never_reused(
    mail: World,
) -> None:
    kept = await mail.sent()
    message = outgoing()
    message.attachments.append(pb.Attachment(file_name="a.txt", content=b"abc"))
    gone = await mail.sent(message)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mail.emails.PurgeEmails(pb.PurgeEmailsRequest(email_ids=[gone.email_id]))
    assert precondition_subjects(refused.value) == {f"emails/{gone.email_id}": "EMAIL_STATUS"}

    await _delete(mail, gone.email_id)
    purged = await mail.emails.PurgeEmails(pb.PurgeEmailsRequest(email_ids=[gone.email_id]))

    assert list(purged.email_ids) == [gone.email_id]
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await mail.get(gone.email_id)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    for table in ("email_attachments", "email_recipients", "email_attempts"):
        row = await mail.server.db.fetch_one(
            f"SELECT COUNT(*) FROM {table} WHERE email_id = ?", (int(gone.email_id),)
        )
        assert row is not None and row[0] == 0, table
    assert (await mail.get(kept.email_id)).status == pb.EMAIL_STATUS_PROCESSED
    newer = await mail.draft()
    assert int(newer.email_id) > int(gone.email_id)


async def test_every_move_reaches_the_watch_stream(mail: World) -> None:
    received = await mail.received()
    email_id = received.email_id
    stream = mail.emails.WatchEmails(pb.WatchEmailsRequest())
    await stream.read()  # following from here

    await _archive(mail, email_id)
    await _restore(mail, email_id)
    await _delete(mail, email_id)
    await mail.emails.PurgeEmails(pb.PurgeEmailsRequest(email_ids=[email_id]))

    seen: list[pb.EmailStatus.ValueType] = []
    async with asyncio.timeout(10):
        while len(seen) < 4:
            event = await stream.read()
            assert isinstance(event, pb.WatchEmailsResponse)
            if event.HasField("change") and event.change.email.email_id == email_id:
                seen.append(event.change.email.status)
    stream.cancel()
    assert seen == [
        pb.EMAIL_STATUS_ARCHIVED,
        pb.EMAIL_STATUS_PROCESSED,
        pb.EMAIL_STATUS_DELETED,
        pb.EMAIL_STATUS_DELETED,  # purged: it left as deleted
    ]


async def test_a_batch_with_an_unknown_id_changes_nothing(mail: World) -> None:
    sent = await mail.sent()

    for call in (
        mail.emails.ArchiveEmails(pb.ArchiveEmailsRequest(email_ids=[sent.email_id, "999"])),
        mail.emails.DeleteEmails(pb.DeleteEmailsRequest(email_ids=[sent.email_id, "999"])),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await call
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await mail.get(sent.email_id)).status == pb.EMAIL_STATUS_PROCESSED

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await mail.emails.RestoreEmails(pb.RestoreEmailsRequest(email_ids=[]))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
