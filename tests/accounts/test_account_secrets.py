"""Mail-server passwords are write-only: stored encrypted, never returned, never logged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TypeAlias

import pytest
from erpmail.server.app import ErpmailServer
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc
from google.protobuf import field_mask_pb2

from tests.support.accounts import account

Stub: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
SECRET = "incoming-secret-1"


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


async def test_password_is_never_returned_only_whether_it_is_set(accounts: Stub) -> None:
    created = (await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))).account
    fetched = (await accounts.GetAccount(pb.GetAccountRequest(account_id="support"))).account
    listed = (await accounts.ListAccounts(pb.ListAccountsRequest())).accounts[0]

    for returned in (created, fetched, listed):
        assert returned.incoming.password == ""
        assert returned.incoming.password_set
        assert not returned.outgoing.password_set
        assert SECRET not in str(returned)


async def test_password_is_encrypted_at_rest_with_a_key_outside_the_database(
    accounts: Stub, erpmail_server: ErpmailServer
) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))

    data_dir = erpmail_server.settings.data_dir
    stored = b"".join(p.read_bytes() for p in data_dir.glob("erpmail.sqlite3*"))
    assert stored, "the database files exist"
    assert SECRET.encode() not in stored
    key = erpmail_server.settings.key_path
    assert key.exists() and key.stat().st_mode & 0o077 == 0  # owner-only
    assert key.read_bytes().strip() not in stored


async def test_passwords_are_not_logged(accounts: Stub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    message = account()
    message.outgoing.use_own_credentials = True
    message.outgoing.username = "smtp-user"
    message.outgoing.password = "outgoing-secret-2"

    await accounts.CreateAccount(pb.CreateAccountRequest(account=message))
    await accounts.UpdateAccount(
        pb.UpdateAccountRequest(
            account=pb.Account(
                account_id="support", incoming=pb.IncomingServer(password="rotated-secret-3")
            ),
            update_mask=_mask("incoming.password"),
        )
    )

    logged = caplog.text
    assert caplog.records, "the RPCs were logged"
    for secret in (SECRET, "outgoing-secret-2", "rotated-secret-3"):
        assert secret not in logged


async def test_a_password_named_in_the_mask_is_replaced_or_removed(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))

    removed = await accounts.UpdateAccount(
        pb.UpdateAccountRequest(
            account=pb.Account(account_id="support"), update_mask=_mask("incoming.password")
        )
    )
    assert not removed.account.incoming.password_set

    set_again = await accounts.UpdateAccount(
        pb.UpdateAccountRequest(
            account=pb.Account(account_id="support", incoming=pb.IncomingServer(password="n3w")),
            update_mask=_mask("incoming.password"),
        )
    )
    assert set_again.account.incoming.password_set


async def test_changing_server_settings_keeps_the_password(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))
    replacement = account().incoming
    replacement.host = "imap2.example.com"
    replacement.password = ""

    updated = await accounts.UpdateAccount(
        pb.UpdateAccountRequest(
            account=pb.Account(account_id="support", incoming=replacement),
            update_mask=_mask("incoming"),
        )
    )

    assert updated.account.incoming.host == "imap2.example.com"
    assert updated.account.incoming.password_set


async def test_history_records_that_a_password_changed_but_not_its_value(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))
    await accounts.UpdateAccount(
        pb.UpdateAccountRequest(
            account=pb.Account(
                account_id="support", incoming=pb.IncomingServer(password="rotated-secret-3")
            ),
            update_mask=_mask("incoming.password"),
        )
    )

    history = await accounts.ListAccountChanges(pb.ListAccountChangesRequest(account_id="support"))

    change = history.changes[0]
    assert (change.field, change.new_value) == ("incoming.password", "password changed")
    assert "rotated-secret-3" not in str(history) and SECRET not in str(history)


async def test_passwords_survive_a_restart_with_the_same_key(tmp_path: Path) -> None:
    from erpmail.server.config import Settings

    settings = Settings(listen="127.0.0.1:0", data_dir=tmp_path)
    first = ErpmailServer(settings)
    await first.start()
    import grpc

    async with grpc.aio.insecure_channel(first.address) as channel:
        await accounts_pb2_grpc.AccountServiceStub(channel).CreateAccount(
            pb.CreateAccountRequest(account=account())
        )
    await first.stop(grace=0)

    second = ErpmailServer(settings)
    await second.start()
    try:
        store = second.accounts
        assert (await store.passwords("support")).incoming == SECRET
    finally:
        await second.stop(grace=0)
