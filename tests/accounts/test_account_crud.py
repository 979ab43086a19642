"""AccountService: accounts are created, read, listed, changed by field mask and deleted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeAlias

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.directory.models import WorkGroup
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc, common_pb2
from google.protobuf import field_mask_pb2

from tests.support.accounts import account

Stub: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"


async def test_created_account_is_returned_with_every_setting(
    accounts: Stub, erpmail_server: ErpmailServer
) -> None:
    helpdesk = WorkGroup("helpdesk", "Helpdesk")
    await erpmail_server.directory.create_work_group(helpdesk, datetime.now(UTC))
    sent = account(
        "sales",
        reply_address="noreply@example.com",
        trusted_certificate_pem="",
    )
    sent.incoming.root_folder = "INBOX/erp"
    sent.outgoing.group_mails = 25
    sent.outgoing.validates_from = True
    sent.signature.text = "-- \nSales team"
    sent.signature.html = "<p>Sales team</p>"
    sent.content.remove_from_server = True
    sent.content.fetch_after.FromSeconds(1_700_000_000)
    sent.content.allowed_attachment_types.extend([".PDF", "docx"])
    sent.processing.activate = True
    sent.processing.create_case = True
    sent.processing.case_class = "SUPPORT"
    sent.processing.delete_after_processing = pb.DELETE_AFTER_PROCESSING_SUCCESSFUL
    sent.assignment.default_work_group_id = "helpdesk"
    sent.allowed_employee_ids.extend(["EMP2", "EMP1"])

    created = (await accounts.CreateAccount(pb.CreateAccountRequest(account=sent))).account
    fetched = (await accounts.GetAccount(pb.GetAccountRequest(account_id="sales"))).account

    assert fetched == created
    assert fetched.reply_address == "noreply@example.com"
    assert fetched.incoming.root_folder == "INBOX/erp"
    assert fetched.outgoing.group_mails == 25 and fetched.outgoing.validates_from
    assert fetched.signature.html == "<p>Sales team</p>"
    assert fetched.content.fetch_after.seconds == 1_700_000_000
    assert list(fetched.content.allowed_attachment_types) == ["docx", "pdf"]
    assert fetched.processing.case_class == "SUPPORT"
    assert fetched.processing.delete_after_processing == pb.DELETE_AFTER_PROCESSING_SUCCESSFUL
    assert fetched.assignment.default_work_group_id == "helpdesk"
    assert list(fetched.allowed_employee_ids) == ["EMP1", "EMP2"]
    assert fetched.create_time.seconds > 0 and fetched.update_time == fetched.create_time


async def test_usage_left_unspecified_follows_the_incoming_protocol(accounts: Stub) -> None:
    send_only = account("newsletter", usage=pb.ACCOUNT_USAGE_UNSPECIFIED)
    send_only.ClearField("incoming")
    receiving = account("inbox", usage=pb.ACCOUNT_USAGE_UNSPECIFIED)

    first = await accounts.CreateAccount(pb.CreateAccountRequest(account=send_only))
    second = await accounts.CreateAccount(pb.CreateAccountRequest(account=receiving))

    assert first.account.usage == pb.ACCOUNT_USAGE_SEND_ONLY
    assert first.account.incoming.protocol == pb.INCOMING_PROTOCOL_NONE
    assert second.account.usage == pb.ACCOUNT_USAGE_SEND_AND_RECEIVE


async def test_unspecified_security_means_tls(accounts: Stub) -> None:
    sent = account()
    sent.incoming.security = common_pb2.CONNECTION_SECURITY_UNSPECIFIED
    sent.outgoing.security = common_pb2.CONNECTION_SECURITY_UNSPECIFIED

    created = (await accounts.CreateAccount(pb.CreateAccountRequest(account=sent))).account

    assert created.incoming.security == common_pb2.CONNECTION_SECURITY_SSL_TLS
    assert created.outgoing.security == common_pb2.CONNECTION_SECURITY_STARTTLS


async def test_list_pages_through_every_account_in_id_order(accounts: Stub) -> None:
    for name in ["c", "a", "e", "b", "d"]:
        await accounts.CreateAccount(pb.CreateAccountRequest(account=account(name)))

    seen, token, pages = [], "", 0
    while True:
        page = await accounts.ListAccounts(pb.ListAccountsRequest(page_size=2, page_token=token))
        seen += [a.account_id for a in page.accounts]
        pages += 1
        token = page.next_page_token
        if not token:
            break

    assert seen == ["a", "b", "c", "d", "e"]
    assert pages == 3


async def test_update_changes_only_the_masked_fields(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))
    change = pb.Account(account_id="support", display_name="Helpdesk", reply_address="x@y.org")
    change.outgoing.host = "smtp2.example.com"

    updated = (
        await accounts.UpdateAccount(
            pb.UpdateAccountRequest(
                account=change,
                update_mask=field_mask_pb2.FieldMask(paths=["display_name", "outgoing.host"]),
            )
        )
    ).account

    assert updated.display_name == "Helpdesk"
    assert updated.outgoing.host == "smtp2.example.com"
    assert updated.reply_address == ""  # not in the mask
    assert updated.outgoing.requires_authentication  # untouched sibling of a masked field
    assert updated.incoming.host == "imap.example.com"
    assert updated.update_time.ToDatetime() >= updated.create_time.ToDatetime()


async def test_update_with_star_replaces_the_whole_account(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))
    replacement = account(display_name="Replaced")
    replacement.incoming.password = ""
    replacement.signature.text = "new"

    updated = (
        await accounts.UpdateAccount(
            pb.UpdateAccountRequest(
                account=replacement, update_mask=field_mask_pb2.FieldMask(paths=["*"])
            )
        )
    ).account

    assert updated.display_name == "Replaced" and updated.signature.text == "new"
    assert updated.incoming.password_set  # a replacement without a password keeps the old one


async def test_deleted_account_is_gone(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))

    await accounts.DeleteAccount(pb.DeleteAccountRequest(account_id="support"))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.GetAccount(pb.GetAccountRequest(account_id="support"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await accounts.ListAccounts(pb.ListAccountsRequest())
    assert list(listed.accounts) == []


async def test_an_account_id_can_be_reused_after_deletion(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))
    await accounts.DeleteAccount(pb.DeleteAccountRequest(account_id="support"))

    again = await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))

    assert again.account.account_id == "support"


async def test_concurrent_writes_never_meet_a_locked_database(accounts: Stub) -> None:
    import asyncio

    creates = [
        accounts.CreateAccount(pb.CreateAccountRequest(account=account(f"acc{i}")))
        for i in range(40)
    ]
    await asyncio.gather(*creates)
    mask = field_mask_pb2.FieldMask(paths=["display_name"])
    updates = [
        accounts.UpdateAccount(
            pb.UpdateAccountRequest(
                account=pb.Account(account_id=f"acc{i % 40}", display_name=f"n{i}"),
                update_mask=mask,
            )
        )
        for i in range(120)
    ]
    results = await asyncio.gather(*updates, return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    listed = await accounts.ListAccounts(pb.ListAccountsRequest(page_size=500))
    assert len(listed.accounts) == 40
