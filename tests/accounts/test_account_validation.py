"""AccountService refuses bad input whole, names the offending field, and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import grpc
import pytest
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc
from google.protobuf import field_mask_pb2

from tests.support.accounts import account
from tests.support.errors import field_violations

Stub: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"


def _set(path: str, value: object) -> Callable[[pb.Account], None]:
    def change(message: pb.Account) -> None:
        *parents, name = path.split(".")
        target = message
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, name, value)

    return change


def _clear_incoming(message: pb.Account) -> None:
    message.incoming.protocol = pb.INCOMING_PROTOCOL_NONE


BAD_ACCOUNTS = [
    ("account.account_id", _set("account_id", "")),
    ("account.account_id", _set("account_id", "has space")),
    ("account.account_id", _set("account_id", "x" * 65)),
    ("account.email_address", _set("email_address", "")),
    ("account.email_address", _set("email_address", "not-an-address")),
    ("account.email_address", _set("email_address", "a@example.com\r\nBcc: victim@example.com")),
    ("account.reply_address", _set("reply_address", "two@@example.com")),
    ("account.display_name", _set("display_name", "Support\r\nBcc: x@y.z")),
    ("account.outgoing.host", _set("outgoing.host", "")),
    ("account.outgoing.host", _set("outgoing.host", "smtp example com")),
    ("account.outgoing.port", _set("outgoing.port", 70000)),
    ("account.outgoing.port", _set("outgoing.port", -1)),
    ("account.incoming.port", _set("incoming.port", 65536)),
    ("account.incoming.host", _set("incoming.host", "")),
    ("account.incoming.username", _set("incoming.username", "")),
    ("account.incoming.protocol", _clear_incoming),
    ("account.incoming.protocol", _set("incoming.protocol", 42)),
    ("account.incoming.security", _set("incoming.security", 9)),
    ("account.outgoing.security", _set("outgoing.security", 9)),
    ("account.usage", _set("usage", 17)),
    ("account.processing.delete_after_processing", _set("processing.delete_after_processing", 8)),
    ("account.outgoing.group_mails", _set("outgoing.group_mails", -5)),
    ("account.outgoing.username", _set("outgoing.use_own_credentials", True)),
    ("account.processing.confirmation_template_id", _set("processing.confirm_receipt", True)),
    ("account.processing.reply_template_id", _set("processing.reply_to_unassigned", True)),
    ("account.trusted_certificate_pem", _set("trusted_certificate_pem", "not a certificate")),
]


@pytest.mark.parametrize(("field", "spoil"), BAD_ACCOUNTS, ids=[f for f, _ in BAD_ACCOUNTS])
async def test_invalid_account_is_refused_with_the_field_named(
    accounts: Stub, field: str, spoil: Callable[[pb.Account], None]
) -> None:
    message = account()
    spoil(message)

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.CreateAccount(pb.CreateAccountRequest(account=message))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    listed = await accounts.ListAccounts(pb.ListAccountsRequest())
    assert list(listed.accounts) == []  # nothing half-written


async def test_every_problem_is_reported_at_once(accounts: Stub) -> None:
    message = account(email_address="nope")
    message.outgoing.port = 99999
    message.outgoing.host = ""

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.CreateAccount(pb.CreateAccountRequest(account=message))

    assert {"account.email_address", "account.outgoing.port", "account.outgoing.host"} <= set(
        field_violations(error.value)
    )


async def test_root_folder_is_refused_for_pop3(accounts: Stub) -> None:
    message = account()
    message.incoming.protocol = pb.INCOMING_PROTOCOL_POP3
    message.incoming.root_folder = "INBOX"

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.CreateAccount(pb.CreateAccountRequest(account=message))

    assert "account.incoming.root_folder" in field_violations(error.value)


async def test_duplicate_account_id_is_already_exists(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.CreateAccount(
            pb.CreateAccountRequest(account=account(display_name="Second"))
        )

    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "account.account_id" in field_violations(error.value)
    kept = await accounts.GetAccount(pb.GetAccountRequest(account_id="support"))
    assert kept.account.display_name == "Support"


async def test_unknown_account_is_not_found(accounts: Stub) -> None:
    for call in (
        accounts.GetAccount(pb.GetAccountRequest(account_id="ghost")),
        accounts.DeleteAccount(pb.DeleteAccountRequest(account_id="ghost")),
        accounts.TestAccount(pb.TestAccountRequest(account_id="ghost")),
        accounts.ListAccountChanges(pb.ListAccountChangesRequest(account_id="ghost")),
        accounts.UpdateAccount(
            pb.UpdateAccountRequest(
                account=pb.Account(account_id="ghost"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            )
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_missing_account_id_is_named(accounts: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.GetAccount(pb.GetAccountRequest())

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "account_id" in field_violations(error.value)


@pytest.mark.parametrize(
    ("paths", "reason"),
    [
        ([], "empty mask"),
        (["no_such_field"], "unknown field"),
        (["account_id"], "immutable id"),
        (["create_time"], "output only"),
        (["incoming.password_set"], "output only"),
    ],
)
async def test_bad_update_mask_is_refused(accounts: Stub, paths: list[str], reason: str) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.UpdateAccount(
            pb.UpdateAccountRequest(
                account=pb.Account(account_id="support", display_name="x"),
                update_mask=field_mask_pb2.FieldMask(paths=paths),
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, reason
    assert "update_mask" in field_violations(error.value)


async def test_update_that_breaks_a_rule_changes_nothing(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))
    change = pb.Account(account_id="support", display_name="New name")
    change.outgoing.port = 0x10000

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.UpdateAccount(
            pb.UpdateAccountRequest(
                account=change,
                update_mask=field_mask_pb2.FieldMask(paths=["display_name", "outgoing.port"]),
            )
        )

    assert "account.outgoing.port" in field_violations(error.value)
    kept = await accounts.GetAccount(pb.GetAccountRequest(account_id="support"))
    assert kept.account.display_name == "Support"
    history = await accounts.ListAccountChanges(pb.ListAccountChangesRequest(account_id="support"))
    assert [c.field for c in history.changes] == ["account"]


async def test_forged_page_token_is_refused(accounts: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.ListAccounts(pb.ListAccountsRequest(page_token="%%%not-ours"))

    assert "page_token" in field_violations(error.value)


async def test_negative_page_size_is_refused(accounts: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.ListAccounts(pb.ListAccountsRequest(page_size=-1))

    assert "page_size" in field_violations(error.value)
