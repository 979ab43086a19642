"""Assignment maps are created, read, listed, changed and deleted over gRPC; a map an account
names cannot be deleted; incoming processing reads maps through AssignmentMapStore.get."""

from __future__ import annotations

from typing import TypeAlias

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.assignment.models import ConditionField, Operator
from erpmail.server.core.errors import NotFound
from erpmail.v1 import accounts_pb2, accounts_pb2_grpc
from erpmail.v1 import assignment_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.assignment.messages import (
    BODY,
    EQUALS,
    FROM,
    LIKE,
    TO,
    Stub,
    add_directory,
    assignment_map,
    condition,
    create,
    rule,
)
from tests.directory.messages import Stub as DirectoryStub
from tests.support.accounts import account
from tests.support.errors import precondition_types

AccountStub: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"


@pytest.fixture(autouse=True)
async def people(directory: DirectoryStub) -> None:
    await add_directory(directory)


def ordered_rules() -> list[pb.AssignmentRule]:
    return [
        rule(
            "vip",
            [
                condition(FROM, EQUALS, "ceo@customer.example.org"),
                condition(TO, LIKE, "support+*@example.com", negate=True),
            ],
            owner_id="EMP3",
            work_group_id="",
        ),
        rule("sales", [condition(BODY, LIKE, "*quote*")], owner_id="", work_group_id="sales"),
        rule("everything else", [], owner_id="EMP1", work_group_id="billing"),
    ]


async def test_created_map_is_read_back_with_its_rules_in_order(maps: Stub) -> None:
    created = await create(maps, assignment_map(rules=ordered_rules()))
    fetched = (
        await maps.GetAssignmentMap(pb.GetAssignmentMapRequest(assignment_map_id="main"))
    ).assignment_map

    assert fetched == created
    assert fetched.description == "Routes incoming support mail"
    assert list(fetched.rules) == ordered_rules()
    assert fetched.create_time.seconds > 0 and fetched.update_time == fetched.create_time


async def test_list_pages_through_every_map_in_id_order(maps: Stub) -> None:
    for map_id in ["support", "billing", "sales"]:
        await create(maps, assignment_map(map_id))

    first = await maps.ListAssignmentMaps(pb.ListAssignmentMapsRequest(page_size=2))
    second = await maps.ListAssignmentMaps(
        pb.ListAssignmentMapsRequest(page_size=2, page_token=first.next_page_token)
    )

    assert [m.assignment_map_id for m in first.assignment_maps] == ["billing", "sales"]
    assert [m.assignment_map_id for m in second.assignment_maps] == ["support"]
    assert second.next_page_token == ""
    assert all(len(m.rules) == 1 for m in [*first.assignment_maps, *second.assignment_maps])


async def test_updating_the_description_keeps_the_rules(maps: Stub) -> None:
    await create(maps, assignment_map(rules=ordered_rules()))

    updated = (
        await maps.UpdateAssignmentMap(
            pb.UpdateAssignmentMapRequest(
                assignment_map=pb.AssignmentMap(assignment_map_id="main", description="New"),
                update_mask=field_mask_pb2.FieldMask(paths=["description"]),
            )
        )
    ).assignment_map

    assert updated.description == "New"
    assert list(updated.rules) == ordered_rules()


async def test_updating_the_rules_replaces_the_whole_list(maps: Stub) -> None:
    await create(maps, assignment_map(rules=ordered_rules()))
    replacement = [rule("only", [], owner_id="EMP2", work_group_id="sales")]

    updated = (
        await maps.UpdateAssignmentMap(
            pb.UpdateAssignmentMapRequest(
                assignment_map=pb.AssignmentMap(assignment_map_id="main", rules=replacement),
                update_mask=field_mask_pb2.FieldMask(paths=["rules"]),
            )
        )
    ).assignment_map
    fetched = (
        await maps.GetAssignmentMap(pb.GetAssignmentMapRequest(assignment_map_id="main"))
    ).assignment_map

    assert list(updated.rules) == replacement
    assert fetched == updated
    assert updated.description == "Routes incoming support mail"
    assert updated.create_time.seconds > 0


async def test_updating_everything_replaces_description_and_rules(maps: Stub) -> None:
    await create(maps, assignment_map(rules=ordered_rules()))

    updated = (
        await maps.UpdateAssignmentMap(
            pb.UpdateAssignmentMapRequest(
                assignment_map=pb.AssignmentMap(assignment_map_id="main"),
                update_mask=field_mask_pb2.FieldMask(paths=["*"]),
            )
        )
    ).assignment_map

    assert updated.description == ""
    assert list(updated.rules) == []


async def test_deleted_map_is_gone(maps: Stub) -> None:
    await create(maps, assignment_map())

    await maps.DeleteAssignmentMap(pb.DeleteAssignmentMapRequest(assignment_map_id="main"))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await maps.GetAssignmentMap(pb.GetAssignmentMapRequest(assignment_map_id="main"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert (
        list((await maps.ListAssignmentMaps(pb.ListAssignmentMapsRequest())).assignment_maps) == []
    )


@pytest.mark.parametrize("call", ["get", "update", "delete"])
async def test_a_map_that_does_not_exist_is_not_found(maps: Stub, call: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        if call == "get":
            await maps.GetAssignmentMap(pb.GetAssignmentMapRequest(assignment_map_id="nope"))
        elif call == "update":
            await maps.UpdateAssignmentMap(
                pb.UpdateAssignmentMapRequest(
                    assignment_map=pb.AssignmentMap(assignment_map_id="nope"),
                    update_mask=field_mask_pb2.FieldMask(paths=["description"]),
                )
            )
        else:
            await maps.DeleteAssignmentMap(pb.DeleteAssignmentMapRequest(assignment_map_id="nope"))

    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_map_an_account_names_cannot_be_deleted_until_the_account_names_another(
    maps: Stub, accounts: AccountStub
) -> None:
    await create(maps, assignment_map("main"))
    await create(maps, assignment_map("spare"))
    support = account("support")
    support.assignment.assignment_map_id = "main"
    await accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=support))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await maps.DeleteAssignmentMap(pb.DeleteAssignmentMapRequest(assignment_map_id="main"))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["ASSIGNMENT_MAP_IN_USE"]
    assert "support" in (error.value.details() or "")
    await maps.GetAssignmentMap(pb.GetAssignmentMapRequest(assignment_map_id="main"))

    await accounts.UpdateAccount(
        accounts_pb2.UpdateAccountRequest(
            account=accounts_pb2.Account(
                account_id="support",
                assignment=accounts_pb2.AssignmentSettings(assignment_map_id="spare"),
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["assignment"]),
        )
    )
    await maps.DeleteAssignmentMap(pb.DeleteAssignmentMapRequest(assignment_map_id="main"))

    remaining = (await maps.ListAssignmentMaps(pb.ListAssignmentMapsRequest())).assignment_maps
    assert [m.assignment_map_id for m in remaining] == ["spare"]


async def test_the_store_gives_processing_the_map_as_the_service_wrote_it(
    maps: Stub, erpmail_server: ErpmailServer
) -> None:
    await create(maps, assignment_map(rules=ordered_rules()))

    stored = await erpmail_server.assignment_maps.get("main")

    assert [r.name for r in stored.rules] == ["vip", "sales", "everything else"]
    vip = stored.rules[0]
    assert (vip.owner_id, vip.work_group_id) == ("EMP3", "")
    assert [(c.field, c.operator, c.value, c.negate) for c in vip.conditions] == [
        (ConditionField.FROM, Operator.EQUALS, "ceo@customer.example.org", False),
        (ConditionField.TO, Operator.LIKE, "support+*@example.com", True),
    ]
    with pytest.raises(NotFound):
        await erpmail_server.assignment_maps.get("nope")
