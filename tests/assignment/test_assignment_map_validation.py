"""AssignmentMapService refuses a bad map whole, names every offending field, and writes nothing;
the employees and work groups its rules name must be in the directory."""

from __future__ import annotations

import grpc
import pytest
from erpmail.v1 import assignment_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.assignment.messages import (
    EQUALS,
    SUBJECT,
    Stub,
    add_directory,
    assignment_map,
    condition,
    create,
    rule,
)
from tests.directory.messages import Stub as DirectoryStub
from tests.support.errors import field_violations

R0 = "assignment_map.rules[0]"


@pytest.fixture(autouse=True)
async def people(directory: DirectoryStub) -> None:
    await add_directory(directory)


def with_description(text: str) -> pb.AssignmentMap:
    message = assignment_map()
    message.description = text
    return message


BAD_MAPS = [
    ("assignment_map.assignment_map_id", assignment_map("")),
    ("assignment_map.assignment_map_id", assignment_map("has space")),
    ("assignment_map.assignment_map_id", assignment_map("x" * 65)),
    ("assignment_map.assignment_map_id", assignment_map("-leading-dash")),
    ("assignment_map.description", with_description("x" * 1001)),
    ("assignment_map.description", with_description("one\ntwo")),
    ("assignment_map.rules", assignment_map(rules=[rule(f"r{i}") for i in range(201)])),
    (f"{R0}.name", assignment_map(rules=[rule("")])),
    (f"{R0}.name", assignment_map(rules=[rule("x" * 257)])),
    ("assignment_map.rules[1].name", assignment_map(rules=[rule("same"), rule("same")])),
    (f"{R0}.owner_id", assignment_map(rules=[rule(owner_id="", work_group_id="")])),
    (f"{R0}.conditions", assignment_map(rules=[rule(conditions=[condition()] * 21)])),
    (f"{R0}.conditions[0].field", assignment_map(rules=[rule(conditions=[condition(field=0)])])),
    (f"{R0}.conditions[0].field", assignment_map(rules=[rule(conditions=[condition(field=9)])])),
    (
        f"{R0}.conditions[0].operator",
        assignment_map(rules=[rule(conditions=[condition(operator=0)])]),
    ),
    (
        f"{R0}.conditions[0].operator",
        assignment_map(rules=[rule(conditions=[condition(operator=42)])]),
    ),
    (f"{R0}.conditions[0].value", assignment_map(rules=[rule(conditions=[condition(value="")])])),
    (
        f"{R0}.conditions[1].value",
        assignment_map(rules=[rule(conditions=[condition(), condition(value="x" * 1001)])]),
    ),
    (
        f"{R0}.conditions[0].value",
        assignment_map(rules=[rule(conditions=[condition(value="a\r\nb")])]),
    ),
    (f"{R0}.owner_id", assignment_map(rules=[rule(owner_id="NOBODY", work_group_id="")])),
    (f"{R0}.work_group_id", assignment_map(rules=[rule(owner_id="", work_group_id="nogroup")])),
    (f"{R0}.owner_id", assignment_map(rules=[rule(owner_id="EMP2", work_group_id="billing")])),
]


@pytest.mark.parametrize(("field", "message"), BAD_MAPS, ids=[f for f, _ in BAD_MAPS])
async def test_invalid_map_is_refused_with_the_field_named_and_nothing_stored(
    maps: Stub, field: str, message: pb.AssignmentMap
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await create(maps, message)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    assert (
        list((await maps.ListAssignmentMaps(pb.ListAssignmentMapsRequest())).assignment_maps) == []
    )


async def test_every_problem_of_a_map_is_reported_at_once(maps: Stub) -> None:
    bad = assignment_map(
        rules=[
            rule("ok"),
            rule("", conditions=[condition(field=0, value="")], owner_id="NOBODY"),
            rule("group", owner_id="", work_group_id="nogroup"),
        ]
    )

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await create(maps, bad)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Reference problems are found once the map itself is valid; here the map is not.
    assert set(field_violations(error.value)) == {
        "assignment_map.rules[1].name",
        "assignment_map.rules[1].conditions[0].field",
        "assignment_map.rules[1].conditions[0].value",
    }


async def test_every_unknown_reference_is_reported_at_once(maps: Stub) -> None:
    bad = assignment_map(
        rules=[
            rule("a", owner_id="NOBODY", work_group_id=""),
            rule("b", owner_id="", work_group_id="nogroup"),
            rule("c", owner_id="EMP3", work_group_id="sales"),
        ]
    )

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await create(maps, bad)

    assert field_violations(error.value) == {
        "assignment_map.rules[0].owner_id": "names no employee",
        "assignment_map.rules[1].work_group_id": "names no work group",
        "assignment_map.rules[2].owner_id": "is not a member of work group 'sales'",
    }


async def test_an_owner_alone_or_a_work_group_alone_is_enough(maps: Stub) -> None:
    created = await create(
        maps,
        assignment_map(
            rules=[
                rule("owner", owner_id="EMP3", work_group_id=""),
                rule("group", owner_id="", work_group_id="sales"),
            ]
        ),
    )

    assert [(r.owner_id, r.work_group_id) for r in created.rules] == [
        ("EMP3", ""),
        ("", "sales"),
    ]


async def test_a_taken_id_is_refused_and_the_first_map_kept(maps: Stub) -> None:
    await create(maps, assignment_map("main"))
    second = assignment_map("main", rules=[rule("other", owner_id="EMP3", work_group_id="")])

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await create(maps, second)

    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "assignment_map.assignment_map_id" in field_violations(error.value)
    kept = await maps.GetAssignmentMap(pb.GetAssignmentMapRequest(assignment_map_id="main"))
    assert [r.name for r in kept.assignment_map.rules] == ["invoices"]


async def test_an_invalid_update_leaves_the_map_as_it_was(maps: Stub) -> None:
    before = await create(maps, assignment_map())
    bad_rules = [rule("x", conditions=[condition(SUBJECT, EQUALS, "")], owner_id="NOBODY")]

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await maps.UpdateAssignmentMap(
            pb.UpdateAssignmentMapRequest(
                assignment_map=pb.AssignmentMap(assignment_map_id="main", rules=bad_rules),
                update_mask=field_mask_pb2.FieldMask(paths=["rules"]),
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "assignment_map.rules[0].conditions[0].value" in field_violations(error.value)
    after = await maps.GetAssignmentMap(pb.GetAssignmentMapRequest(assignment_map_id="main"))
    assert after.assignment_map == before


async def test_an_update_naming_an_unknown_owner_is_refused(maps: Stub) -> None:
    await create(maps, assignment_map())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await maps.UpdateAssignmentMap(
            pb.UpdateAssignmentMapRequest(
                assignment_map=pb.AssignmentMap(
                    assignment_map_id="main", rules=[rule(owner_id="NOBODY", work_group_id="")]
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["rules"]),
            )
        )

    assert field_violations(error.value) == {
        "assignment_map.rules[0].owner_id": "names no employee"
    }


@pytest.mark.parametrize("path", ["assignment_map_id", "create_time", "no_such_field"])
async def test_update_mask_may_name_only_changeable_fields(maps: Stub, path: str) -> None:
    await create(maps, assignment_map())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await maps.UpdateAssignmentMap(
            pb.UpdateAssignmentMapRequest(
                assignment_map=pb.AssignmentMap(assignment_map_id="main"),
                update_mask=field_mask_pb2.FieldMask(paths=[path]),
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask" in field_violations(error.value)


@pytest.mark.parametrize("call", ["get", "delete"])
async def test_requests_without_a_map_id_name_the_field(maps: Stub, call: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        if call == "get":
            await maps.GetAssignmentMap(pb.GetAssignmentMapRequest())
        else:
            await maps.DeleteAssignmentMap(pb.DeleteAssignmentMapRequest())

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "assignment_map_id" in field_violations(error.value)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ListAssignmentMapsRequest(page_token="not a token"), "page_token"),
        (pb.ListAssignmentMapsRequest(page_size=-1), "page_size"),
    ],
)
async def test_bad_list_paging_is_refused(
    maps: Stub, request_: pb.ListAssignmentMapsRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await maps.ListAssignmentMaps(request_)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
