"""RunSendReceive against the sandbox: Send all sends every pending email of an account and
Receive all fetches its mail, each account reported on its own; an account whose servers are
down fails alone; which accounts a run covers; refusals that run nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import management_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from google.protobuf import field_mask_pb2, timestamp_pb2

from tests.management.conftest import (
    START,
    Management,
    broken_account,
    working_account,
)
from tests.support.errors import field_violations, precondition_types
from tests.support.outgoing import ADDRESS, sandbox_account

Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"

SEND, RECEIVE = pb.SEND_RECEIVE_ACTION_SEND_ALL, pb.SEND_RECEIVE_ACTION_RECEIVE_ALL
BOTH = pb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL


async def queue(emails: Emails, account_id: str, count: int) -> list[str]:
    """Pending emails to the sandbox mailbox, due only tomorrow: the dispatcher leaves them, so
    only the run sends them."""
    tomorrow = timestamp_pb2.Timestamp()
    tomorrow.FromDatetime(START + timedelta(days=1))
    ids = []
    for n in range(count):
        message = epb.Email(
            account_id=account_id,
            to=[epb.Address(address=ADDRESS)],
            subject=f"Order {account_id} {n}",
            text_body="Your order is on its way.",
            earliest_send_time=tomorrow,
        )
        created = await emails.CreateEmail(epb.CreateEmailRequest(email=message, submit=True))
        ids += [e.email_id for e in created.emails]
    return ids


async def statuses(emails: Emails, ids: list[str]) -> list[int]:
    return [(await emails.GetEmail(epb.GetEmailRequest(email_id=i))).email.status for i in ids]


async def run(
    management: Management, action: int, *account_ids: str
) -> dict[str, pb.AccountRunReport]:
    response = await management.RunSendReceive(
        pb.RunSendReceiveRequest(action=action, account_ids=account_ids)  # type: ignore[arg-type]
    )
    assert [r.account_id for r in response.reports] == sorted(
        r.account_id for r in response.reports
    )
    return {r.account_id: r for r in response.reports}


@pytest.fixture
async def two_accounts(accounts: Accounts, sandbox: Sandbox) -> None:
    for account in (working_account(sandbox), broken_account(sandbox)):
        await accounts.CreateAccount(apb.CreateAccountRequest(account=account))


async def test_one_account_failing_does_not_stop_the_other(
    two_accounts: None, management: Management, emails: Emails, sandbox: Sandbox
) -> None:
    mailbox = sandbox.store.mailbox_for_address(ADDRESS)
    assert mailbox is not None
    sandbox.store.append(mailbox, "INBOX", b"From: a@b.test\r\nSubject: Hi\r\n\r\nHello\r\n")
    good_ids = await queue(emails, "good", 2)
    broken_ids = await queue(emails, "broken", 2)

    reports = await run(management, BOTH)

    good, broken = reports["good"], reports["broken"]
    assert (good.send.sent, good.send.failed, good.send.pending, good.send.error) == (2, 0, 0, "")
    # Sent first, then received: the two emails it sent to its own mailbox come back.
    assert (good.receive.fetched, good.receive.stored, good.receive.error) == (3, 3, "")
    assert good.ok and not good.HasField("archive")
    assert (broken.send.sent, broken.send.failed) == (0, 2)
    assert broken.send.error and broken.receive.error and not broken.ok
    assert await statuses(emails, good_ids) == [epb.EMAIL_STATUS_PROCESSED] * 2
    assert await statuses(emails, broken_ids) == [epb.EMAIL_STATUS_FAILED] * 2
    assert len(sandbox.received_messages(ADDRESS)) == 2


async def test_send_all_sends_and_receives_nothing(
    two_accounts: None, management: Management, emails: Emails
) -> None:
    await queue(emails, "good", 1)

    good = (await run(management, SEND, "good"))["good"]

    assert good.send.sent == 1
    assert not good.HasField("receive")


async def test_a_run_for_every_account_covers_those_whose_usage_fits(
    two_accounts: None, management: Management, accounts: Accounts, sandbox: Sandbox
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox, "out")))

    receiving = await run(management, RECEIVE)
    sending = await run(management, SEND)
    both = await run(management, BOTH)

    assert set(receiving) == {"broken", "good"}
    assert set(sending) == {"broken", "good", "out"}
    assert set(both) == {"broken", "good", "out"}
    assert both["out"].HasField("send") and not both["out"].HasField("receive")


async def test_a_named_account_gets_every_part_and_says_which_it_cannot_do(
    two_accounts: None, management: Management, accounts: Accounts, sandbox: Sandbox
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox, "out")))

    out = (await run(management, BOTH, "out", "out"))["out"]

    assert out.send.error == "" and out.send.sent == 0
    assert out.receive.error == "the account does not receive email"
    assert not out.ok


async def test_a_run_while_processing_is_suspended_is_refused(
    two_accounts: None, management: Management, emails: Emails, preferences: Prefs
) -> None:
    ids = await queue(emails, "good", 1)
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await run(management, BOTH)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(refused.value) == ["PROCESSING_SUSPENDED"]
    assert await statuses(emails, ids) == [epb.EMAIL_STATUS_PENDING]


async def test_an_unknown_account_is_not_found_and_nothing_runs(
    two_accounts: None, management: Management, emails: Emails
) -> None:
    ids = await queue(emails, "good", 1)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await run(management, SEND, "good", "ghost")

    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert await statuses(emails, ids) == [epb.EMAIL_STATUS_PENDING]


async def test_a_run_needs_an_action_and_real_account_ids(management: Management) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await run(management, pb.SEND_RECEIVE_ACTION_UNSPECIFIED, "")

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(refused.value)) == {"action", "account_ids[0]"}
