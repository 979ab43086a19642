"""Contacts are created, read, listed, changed by field mask and deleted; only erpmail marks a
contact as its own, and the ERP can list those to adopt them."""

from __future__ import annotations

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.v1 import directory_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.directory.messages import Stub, contact


async def test_created_contact_is_returned_with_every_field(directory: Stub) -> None:
    sent = contact("C1", lead_id="LEAD42", email=" Ada@Customer.example.org ")

    created = (await directory.CreateContact(pb.CreateContactRequest(contact=sent))).contact
    fetched = (await directory.GetContact(pb.GetContactRequest(contact_id="C1"))).contact

    assert fetched == created
    assert fetched.display_name == "Ada Customer"
    assert fetched.email == "Ada@Customer.example.org"
    assert fetched.business_account_id == "ACME" and fetched.lead_id == "LEAD42"
    assert not fetched.created_by_erpmail
    assert fetched.create_time.seconds > 0 and fetched.update_time == fetched.create_time


async def test_the_erp_cannot_mark_a_contact_as_created_by_erpmail(directory: Stub) -> None:
    sent = contact(created_by_erpmail=True)

    created = (await directory.CreateContact(pb.CreateContactRequest(contact=sent))).contact

    assert not created.created_by_erpmail


async def test_contacts_may_share_an_address(directory: Stub) -> None:
    for contact_id in ["C1", "C2"]:
        await directory.CreateContact(
            pb.CreateContactRequest(contact=contact(contact_id, email="info@acme.example"))
        )

    listed = await directory.ListContacts(pb.ListContactsRequest())

    assert [c.email for c in listed.contacts] == ["info@acme.example", "info@acme.example"]


async def test_list_pages_through_every_contact_in_id_order(directory: Stub) -> None:
    for contact_id in ["C3", "C1", "C4", "C2"]:
        await directory.CreateContact(pb.CreateContactRequest(contact=contact(contact_id)))

    seen, token = [], ""
    while True:
        page = await directory.ListContacts(pb.ListContactsRequest(page_size=3, page_token=token))
        seen += [c.contact_id for c in page.contacts]
        token = page.next_page_token
        if not token:
            break

    assert seen == ["C1", "C2", "C3", "C4"]


async def test_the_erp_can_list_only_the_contacts_erpmail_created(
    directory: Stub, erpmail_server: ErpmailServer
) -> None:
    await directory.CreateContact(pb.CreateContactRequest(contact=contact("C1")))
    made = [
        await erpmail_server.directory.create_contact_for_sender(
            f"sender{i}@unknown.example", f"Sender {i}", erpmail_server.clock.now()
        )
        for i in range(3)
    ]

    first = await directory.ListContacts(
        pb.ListContactsRequest(page_size=2, only_created_by_erpmail=True)
    )
    rest = await directory.ListContacts(
        pb.ListContactsRequest(
            page_size=2, page_token=first.next_page_token, only_created_by_erpmail=True
        )
    )

    listed = [*first.contacts, *rest.contacts]
    assert sorted(c.contact_id for c in listed) == sorted(c.contact_id for c in made)
    assert all(c.created_by_erpmail for c in listed)
    assert rest.next_page_token == ""


async def test_update_changes_only_the_masked_fields(directory: Stub) -> None:
    await directory.CreateContact(pb.CreateContactRequest(contact=contact()))
    change = pb.Contact(contact_id="C1", business_account_id="GLOBEX", display_name="Ignored")

    updated = (
        await directory.UpdateContact(
            pb.UpdateContactRequest(
                contact=change,
                update_mask=field_mask_pb2.FieldMask(paths=["business_account_id", "lead_id"]),
            )
        )
    ).contact

    assert updated.business_account_id == "GLOBEX"
    assert updated.lead_id == ""
    assert updated.display_name == "Ada Customer"


async def test_an_adopted_contact_stays_marked_as_created_by_erpmail(
    directory: Stub, erpmail_server: ErpmailServer
) -> None:
    made = await erpmail_server.directory.create_contact_for_sender(
        "new@unknown.example", "New Sender", erpmail_server.clock.now()
    )

    updated = (
        await directory.UpdateContact(
            pb.UpdateContactRequest(
                contact=pb.Contact(contact_id=made.contact_id, business_account_id="ACME"),
                update_mask=field_mask_pb2.FieldMask(paths=["*"]),
            )
        )
    ).contact

    assert updated.business_account_id == "ACME"
    assert updated.created_by_erpmail


async def test_deleted_contact_is_gone(directory: Stub) -> None:
    await directory.CreateContact(pb.CreateContactRequest(contact=contact()))

    await directory.DeleteContact(pb.DeleteContactRequest(contact_id="C1"))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.GetContact(pb.GetContactRequest(contact_id="C1"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert list((await directory.ListContacts(pb.ListContactsRequest())).contacts) == []
