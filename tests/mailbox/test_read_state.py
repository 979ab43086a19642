"""Mark as read and unread: only the email's owner may; new email is unread; the state is on the
email and every change reaches the watch stream. Acting users are named in the call metadata
(x-erpmail-actor)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from erpmail.server.core.errors import PermissionDenied
from erpmail.server.mailbox.actions import Held, check_owner, read_changes
from erpmail.server.outgoing.models import Direction, Status
from erpmail.v1 import emails_pb2 as pb

from tests.mailbox.actions_support import OTHER, OWNER, World, acting, world
from tests.support.errors import field_violations, precondition_subjects, resource_names


def held(email_id: int, owner_id: str, read: bool = False) -> Held:
    return Held(email_id, "sandbox", Direction.INCOMING, Status.PROCESSED, owner_id, read)


def test_only_the_owner_marks_and_every_other_email_is_named() -> None:
    check_owner([held(1, "EMP1"), held(2, "EMP1")], "EMP1")
    with pytest.raises(PermissionDenied) as refused:
        check_owner([held(1, "EMP1"), held(2, "EMP2"), held(3, "")], "EMP1")
    assert refused.value.names == ["emails/2", "emails/3"]  # no owner: nobody may


def test_marking_twice_changes_nothing() -> None:
    emails = [held(1, "EMP1", read=True), held(2, "EMP1")]
    assert [e.id for e in read_changes(emails, True)] == [2]
    assert [e.id for e in read_changes(emails, False)] == [1]


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[World]:
    async with world(tmp_path) as running:
        yield running


async def test_the_owner_marks_received_mail_read_and_unread(mail: World) -> None:
    received = await mail.received()
    assert (received.owner_id, received.read) == (OWNER, False)

    marked = await mail.emails.MarkEmailsRead(
        pb.MarkEmailsReadRequest(email_ids=[received.email_id], read=True), metadata=acting(OWNER)
    )
    assert [e.read for e in marked.emails] == [True]
    assert (await mail.get(received.email_id)).read

    await mail.emails.MarkEmailsRead(
        pb.MarkEmailsReadRequest(email_ids=[received.email_id], read=False), metadata=acting(OWNER)
    )
    assert not (await mail.get(received.email_id)).read


async def test_anyone_else_is_denied_naming_the_email_and_nothing_changes(mail: World) -> None:
    mine = await mail.received()
    theirs = await mail.sent()  # owned by OTHER
    assert theirs.owner_id == OTHER

    for actor, named in (
        (OTHER, [mine.email_id]),
        (OWNER, [theirs.email_id]),
        ("", [mine.email_id, theirs.email_id]),  # anonymous
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await mail.emails.MarkEmailsRead(
                pb.MarkEmailsReadRequest(email_ids=[mine.email_id, theirs.email_id], read=True),
                metadata=acting(actor) if actor else None,
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert resource_names(refused.value) == [f"emails/{i}" for i in named]
    assert not (await mail.get(mine.email_id)).read
    assert not (await mail.get(theirs.email_id)).read


async def test_each_owner_marks_their_own(mail: World) -> None:
    mine = await mail.received()
    theirs = await mail.sent()

    await mail.emails.MarkEmailsRead(
        pb.MarkEmailsReadRequest(email_ids=[theirs.email_id], read=True), metadata=acting(OTHER)
    )
    await mail.emails.MarkEmailsRead(
        pb.MarkEmailsReadRequest(email_ids=[mine.email_id], read=True), metadata=acting(OWNER)
    )

    assert (await mail.get(mine.email_id)).read and (await mail.get(theirs.email_id)).read


async def test_a_read_change_reaches_the_watch_stream(mail: World) -> None:
    received = await mail.received()
    stream = mail.emails.WatchEmails(pb.WatchEmailsRequest())
    first = await stream.read()  # a progress message: the stream is following
    assert isinstance(first, pb.WatchEmailsResponse)

    await mail.emails.MarkEmailsRead(
        pb.MarkEmailsReadRequest(email_ids=[received.email_id], read=True), metadata=acting(OWNER)
    )

    async with asyncio.timeout(10):
        while True:
            event = await stream.read()
            assert isinstance(event, pb.WatchEmailsResponse)
            if event.HasField("change") and event.change.email.email_id == received.email_id:
                break
    assert event.change.email.read
    assert event.change.email.status == pb.EMAIL_STATUS_PROCESSED
    stream.cancel()


async def test_deleted_email_is_not_marked_and_bad_ids_are_named(mail: World) -> None:
    received = await mail.received()
    await mail.emails.DeleteEmails(pb.DeleteEmailsRequest(email_ids=[received.email_id]))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mail.emails.MarkEmailsRead(
            pb.MarkEmailsReadRequest(email_ids=[received.email_id], read=True),
            metadata=acting(OWNER),
        )
    assert precondition_subjects(refused.value) == {f"emails/{received.email_id}": "EMAIL_DELETED"}

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await mail.emails.MarkEmailsRead(
            pb.MarkEmailsReadRequest(email_ids=["1", "abc", "1"], read=True)
        )
    assert field_violations(bad.value) == {
        "email_ids[1]": "is not an email id",
        "email_ids[2]": "repeats email_ids[0]",
    }
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await mail.emails.MarkEmailsRead(
            pb.MarkEmailsReadRequest(email_ids=[received.email_id, "999"], read=True),
            metadata=acting(OWNER),
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
