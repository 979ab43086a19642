"""Pending-email edits: cancel sending, change recipients and attachments, send again, delete.
Only drafts are edited; a processed email is not."""

from __future__ import annotations

from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
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


@pytest.fixture(autouse=True)
async def account(accounts: Accounts, sandbox: Sandbox) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))


async def _suspend(preferences: Prefs, suspended: bool) -> None:
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=suspended),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )


async def test_cancel_edit_and_send_again(
    emails: Emails, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _suspend(preferences, True)
    created = await emails.CreateEmail(pb.CreateEmailRequest(email=email("a@x.org"), submit=True))
    email_id = created.emails[0].email_id

    cancelled = await emails.CancelEmail(pb.CancelEmailRequest(email_id=email_id))
    assert cancelled.email.status == pb.EMAIL_STATUS_DRAFT
    change = pb.Email(email_id=email_id)
    change.to.add(address="b@x.org")
    change.cc.add(address="c@x.org")
    change.attachments.add(file_name="notes.txt", content=b"hello")
    updated = await emails.UpdateEmail(
        pb.UpdateEmailRequest(
            email=change, update_mask=field_mask_pb2.FieldMask(paths=["to", "cc", "attachments"])
        )
    )
    assert [a.address for a in updated.email.to] == ["b@x.org"]
    assert updated.email.subject == "Invoice 42"  # not in the mask
    await emails.SubmitEmail(pb.SubmitEmailRequest(email_id=email_id))
    await _suspend(preferences, False)

    (sent,) = await wait_until(emails, [email_id])
    assert sent.status == pb.EMAIL_STATUS_PROCESSED
    (received,) = sandbox.received_messages()
    assert sorted(received.rcpt_tos) == ["b@x.org", "c@x.org"]
    assert b"notes.txt" in received.raw


async def test_a_processed_email_is_not_edited(emails: Emails) -> None:
    created = await emails.CreateEmail(pb.CreateEmailRequest(email=email(), submit=True))
    email_id = created.emails[0].email_id
    await wait_until(emails, [email_id])

    change = pb.Email(email_id=email_id, subject="changed")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.UpdateEmail(
            pb.UpdateEmailRequest(
                email=change, update_mask=field_mask_pb2.FieldMask(paths=["subject"])
            )
        )
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["EMAIL_NOT_EDITABLE"]
    for call in (
        emails.CancelEmail(pb.CancelEmailRequest(email_id=email_id)),
        emails.DeleteEmail(pb.DeleteEmailRequest(email_id=email_id)),
        emails.SubmitEmail(pb.SubmitEmailRequest(email_id=email_id)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    got = await emails.GetEmail(pb.GetEmailRequest(email_id=email_id))
    assert got.email.subject == "Invoice 42"


async def test_a_deleted_draft_is_marked_deleted(emails: Emails) -> None:
    created = await emails.CreateEmail(pb.CreateEmailRequest(email=email()))

    deleted = await emails.DeleteEmail(pb.DeleteEmailRequest(email_id=created.emails[0].email_id))

    assert deleted.email.status == pb.EMAIL_STATUS_DELETED


async def test_output_only_fields_cannot_be_edited(emails: Emails) -> None:
    created = await emails.CreateEmail(pb.CreateEmailRequest(email=email()))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.UpdateEmail(
            pb.UpdateEmailRequest(
                email=pb.Email(
                    email_id=created.emails[0].email_id, status=pb.EMAIL_STATUS_PROCESSED
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["status"]),
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_unknown_and_malformed_email_ids(emails: Emails) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.GetEmail(pb.GetEmailRequest(email_id="999"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.GetEmail(pb.GetEmailRequest(email_id="abc"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_submitting_an_email_already_pending_is_refused_as_not_a_draft(
    emails: Emails, preferences: Prefs
) -> None:
    await _suspend(preferences, True)
    created = await emails.CreateEmail(pb.CreateEmailRequest(email=email(), submit=True))
    email_id = created.emails[0].email_id

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.SubmitEmail(pb.SubmitEmailRequest(email_id=email_id))

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["EMAIL_STATUS"]
    assert "already pending" in (error.value.details() or "")
    got = await emails.GetEmail(pb.GetEmailRequest(email_id=email_id))
    assert got.email.status == pb.EMAIL_STATUS_PENDING
