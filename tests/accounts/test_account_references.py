"""An account may only name templates, assignment maps, employees and work groups that exist,
and its default owner must belong to its default work group."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeAlias

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.directory.models import Employee, WorkGroup
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc, templates_pb2_grpc
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import field_mask_pb2

from tests.support.accounts import account
from tests.support.errors import field_violations

Stub: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
NOW = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture
async def directory(erpmail_server: ErpmailServer) -> None:
    for who in ("EMP1", "EMP2"):
        await erpmail_server.directory.create_employee(Employee(who, who, f"{who}@x.test"), NOW)
    await erpmail_server.directory.create_work_group(WorkGroup("desk", members=["EMP1"]), NOW)


def _processing_account() -> pb.Account:
    sent = account("sales")
    sent.processing.activate = True
    sent.processing.confirm_receipt = True
    sent.processing.confirmation_template_id = "thanks"
    sent.processing.reply_to_unassigned = True
    sent.processing.reply_template_id = "sorry"
    sent.assignment.assignment_map_id = "map"
    sent.assignment.default_work_group_id = "nowhere"
    sent.assignment.default_owner_id = "nobody"
    return sent


async def test_every_missing_reference_is_named_and_nothing_is_created(accounts: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.CreateAccount(pb.CreateAccountRequest(account=_processing_account()))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(refused.value)) == {
        "account.processing.confirmation_template_id",
        "account.processing.reply_template_id",
        "account.assignment.assignment_map_id",
        "account.assignment.default_owner_id",
        "account.assignment.default_work_group_id",
    }
    listed = await accounts.ListAccounts(pb.ListAccountsRequest())
    assert list(listed.accounts) == []


@pytest.mark.usefixtures("directory")
async def test_the_default_owner_must_belong_to_the_default_work_group(accounts: Stub) -> None:
    sent = account("sales")
    sent.assignment.default_work_group_id = "desk"
    sent.assignment.default_owner_id = "EMP2"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.CreateAccount(pb.CreateAccountRequest(account=sent))
    assert list(field_violations(refused.value)) == ["account.assignment.default_owner_id"]

    sent.assignment.default_owner_id = "EMP1"
    created = await accounts.CreateAccount(pb.CreateAccountRequest(account=sent))
    assert created.account.assignment.default_owner_id == "EMP1"


@pytest.mark.usefixtures("directory")
async def test_an_update_checks_what_it_changes(accounts: Stub, channel: grpc.aio.Channel) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account("sales")))
    change = pb.Account(account_id="sales")
    change.processing.activate = True
    change.processing.confirm_receipt = True
    change.processing.confirmation_template_id = "thanks"
    mask = field_mask_pb2.FieldMask(paths=["processing"])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.UpdateAccount(pb.UpdateAccountRequest(account=change, update_mask=mask))
    assert list(field_violations(refused.value)) == ["account.processing.confirmation_template_id"]

    templates = templates_pb2_grpc.TemplateServiceStub(channel)
    thanks = tpb.Template(template_id="thanks", description="Thanks", text_body="Thanks.")
    await templates.CreateTemplate(tpb.CreateTemplateRequest(template=thanks))
    updated = await accounts.UpdateAccount(
        pb.UpdateAccountRequest(account=change, update_mask=mask)
    )
    assert updated.account.processing.confirmation_template_id == "thanks"
