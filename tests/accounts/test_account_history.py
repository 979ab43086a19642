"""Each account keeps a change history: who changed which setting, when, from what to what."""

from __future__ import annotations

from typing import TypeAlias

import grpc
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc
from google.protobuf import field_mask_pb2

from tests.support.accounts import account

Stub: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"


async def test_each_changed_setting_is_recorded_with_the_actor(
    channel: grpc.aio.Channel,
) -> None:
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    await accounts.CreateAccount(
        pb.CreateAccountRequest(account=account()), metadata=(("x-erpmail-actor", "alice"),)
    )
    change = pb.Account(account_id="support", display_name="Helpdesk")
    change.outgoing.group_mails = 10
    await accounts.UpdateAccount(
        pb.UpdateAccountRequest(
            account=change,
            update_mask=field_mask_pb2.FieldMask(paths=["display_name", "outgoing.group_mails"]),
        ),
        metadata=(("x-erpmail-actor", "bob"),),
    )

    history = await accounts.ListAccountChanges(pb.ListAccountChangesRequest(account_id="support"))

    rows = [(c.actor, c.field, c.old_value, c.new_value) for c in history.changes]
    assert ("bob", "display_name", "Support", "Helpdesk") in rows
    assert ("bob", "outgoing.group_mails", "0", "10") in rows
    assert rows[-1] == ("alice", "account", "", "created")  # newest first
    assert all(c.change_time.seconds > 0 for c in history.changes)


async def test_an_update_that_changes_nothing_records_nothing(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))

    await accounts.UpdateAccount(
        pb.UpdateAccountRequest(
            account=pb.Account(account_id="support", display_name="Support"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        )
    )

    history = await accounts.ListAccountChanges(pb.ListAccountChangesRequest(account_id="support"))
    assert [c.field for c in history.changes] == ["account"]


async def test_history_is_paged_newest_first(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))
    for i in range(5):
        await accounts.UpdateAccount(
            pb.UpdateAccountRequest(
                account=pb.Account(account_id="support", display_name=f"name {i}"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            )
        )

    values, token = [], ""
    while True:
        page = await accounts.ListAccountChanges(
            pb.ListAccountChangesRequest(account_id="support", page_size=2, page_token=token)
        )
        values += [c.new_value for c in page.changes]
        token = page.next_page_token
        if not token:
            break

    assert values == ["name 4", "name 3", "name 2", "name 1", "name 0", "created"]


async def test_history_outlives_the_account_as_an_audit_trail(accounts: Stub) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account()))
    await accounts.DeleteAccount(pb.DeleteAccountRequest(account_id="support"))

    history = await accounts.ListAccountChanges(pb.ListAccountChangesRequest(account_id="support"))

    assert [c.new_value for c in history.changes] == ["deleted", "created"]
