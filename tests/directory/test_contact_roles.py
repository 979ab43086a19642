"""Contacts carry roles (what they do for their business account): kept in lower case, each
once, changed by field mask and by the batch upsert, and looked up per business account by
role for documents sent by email."""

from __future__ import annotations

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.directory.store import DirectoryStore
from erpmail.v1 import directory_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.directory.messages import Stub, contact
from tests.support.errors import field_violations


@pytest.fixture
def store(erpmail_server: ErpmailServer) -> DirectoryStore:
    return erpmail_server.directory


async def _create(directory: Stub, contact_id: str, *roles: str, **fields: object) -> pb.Contact:
    message = contact(contact_id, **fields)
    message.roles.extend(roles)
    return (await directory.CreateContact(pb.CreateContactRequest(contact=message))).contact


async def test_roles_are_kept_in_lower_case_each_once_in_the_order_given(
    directory: Stub,
) -> None:
    created = await _create(directory, "C1", " Billing", "purchasing", "BILLING")

    fetched = (await directory.GetContact(pb.GetContactRequest(contact_id="C1"))).contact

    assert list(created.roles) == ["billing", "purchasing"]
    assert fetched == created


async def test_a_contact_without_roles_has_none(directory: Stub) -> None:
    created = await _create(directory, "C1")

    assert list(created.roles) == []


@pytest.mark.parametrize(
    ("roles", "field"),
    [
        (["billing", "has space"], "contact.roles[1]"),
        (["-dash"], "contact.roles[0]"),
        ([""], "contact.roles[0]"),
        (["x" * 65], "contact.roles[0]"),
        ([f"r{i}" for i in range(51)], "contact.roles"),
    ],
)
async def test_a_bad_role_is_refused_with_its_position_named(
    directory: Stub, roles: list[str], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _create(directory, "C1", *roles)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    assert list((await directory.ListContacts(pb.ListContactsRequest())).contacts) == []


async def test_an_update_of_roles_replaces_the_whole_list(directory: Stub) -> None:
    await _create(directory, "C1", "billing", "purchasing")

    updated = await directory.UpdateContact(
        pb.UpdateContactRequest(
            contact=pb.Contact(contact_id="C1", roles=["Shipping"]),
            update_mask=field_mask_pb2.FieldMask(paths=["roles"]),
        )
    )

    assert list(updated.contact.roles) == ["shipping"]
    assert updated.contact.email == "c1@customer.example.org"


async def test_an_update_of_other_fields_keeps_the_roles(directory: Stub) -> None:
    await _create(directory, "C1", "billing")

    updated = await directory.UpdateContact(
        pb.UpdateContactRequest(
            contact=pb.Contact(contact_id="C1", display_name="Ada Lovelace"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        )
    )

    assert list(updated.contact.roles) == ["billing"]


async def test_the_batch_upsert_writes_and_replaces_roles(directory: Stub) -> None:
    await _create(directory, "C1", "billing")
    replaced = contact("C1")
    replaced.roles.append("Purchasing")
    added = contact("C2")
    added.roles.extend(["billing", "billing"])

    stored = await directory.BatchUpsertDirectory(
        pb.BatchUpsertDirectoryRequest(contacts=[replaced, added])
    )

    assert [list(c.roles) for c in stored.contacts] == [["purchasing"], ["billing"]]


async def test_contacts_of_a_business_account_are_found_by_any_of_the_roles(
    directory: Stub, store: DirectoryStore
) -> None:
    await _create(directory, "C3", "billing", "shipping")
    await _create(directory, "C1", "billing")
    await _create(directory, "C2", "purchasing")
    await _create(directory, "C4", "shipping")
    await _create(directory, "OTHER", "billing", business_account_id="GLOBEX")

    billing = await store.contacts_of("ACME", ["Billing"])
    either = await store.contacts_of("ACME", ["billing", "purchasing"])

    assert [c.contact_id for c in billing] == ["C1", "C3"]
    assert [c.contact_id for c in either] == ["C1", "C2", "C3"]
    assert billing[1].roles == ["billing", "shipping"]


async def test_no_roles_or_no_business_account_finds_no_contacts(
    directory: Stub, store: DirectoryStore
) -> None:
    await _create(directory, "C1", "billing")
    await _create(directory, "LONE", "billing", business_account_id="")

    assert await store.contacts_of("ACME", []) == []
    assert await store.contacts_of("", ["billing"]) == []
    assert await store.contacts_of("ACME", ["payroll"]) == []
