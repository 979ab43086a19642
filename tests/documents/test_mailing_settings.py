"""Mailing settings are created, read, listed (page by page, filtered by party and document type),
changed by field mask and deleted; one per party and document type."""

from __future__ import annotations

import grpc
import pytest
from erpmail.v1 import documents_pb2 as pb
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import field_mask_pb2

from tests.documents.messages import (
    BCC,
    CC,
    Documents,
    Templates,
    address,
    create_setting,
    employee,
    invoice_template,
    party,
    role,
    setting,
)
from tests.support.errors import field_violations

pytestmark = pytest.mark.usefixtures("template", "people")


async def test_a_created_setting_is_returned_with_every_field(documents: Documents) -> None:
    sent = setting(
        role("Billing"),
        address("archive@acme.test", BCC, "Archive"),
        employee("EMP1", CC),
        document_type="Invoice",
        account_id="sandbox",
    )

    created = await create_setting(documents, sent)
    fetched = await documents.GetMailingSetting(
        pb.GetMailingSettingRequest(setting_id=created.setting_id)
    )

    assert fetched.mailing_setting == created
    assert created.setting_id.isdigit()
    assert created.party == party()
    assert created.document_type == "invoice"  # kept in lower case
    assert created.active and created.template_id == "invoice-mail"
    assert created.account_id == "sandbox"
    assert [r.WhichOneof("source") for r in created.recipients] == [
        "contact_role",
        "address",
        "employee_id",
    ]
    assert created.recipients[0].contact_role == "billing"
    assert created.recipients[0].kind == epb.RECIPIENT_KIND_TO  # To when unspecified
    assert created.recipients[1].display_name == "Archive"
    assert created.create_time.seconds > 0 and created.update_time == created.create_time


async def test_a_party_has_one_setting_per_document_type(documents: Documents) -> None:
    await create_setting(documents, setting())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await create_setting(documents, setting(document_type="INVOICE"))

    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "mailing_setting.document_type" in field_violations(error.value)


async def test_one_business_account_has_settings_as_customer_and_as_supplier(
    documents: Documents,
) -> None:
    as_customer = await create_setting(documents, setting())
    as_supplier = await create_setting(documents, setting(party=party(kind=pb.PARTY_KIND_SUPPLIER)))

    assert as_customer.setting_id != as_supplier.setting_id
    assert as_supplier.party.kind == pb.PARTY_KIND_SUPPLIER


async def test_list_pages_through_settings_in_party_and_type_order(documents: Documents) -> None:
    for business_account, kind, document_type in [
        ("GLOBEX", pb.PARTY_KIND_CUSTOMER, "invoice"),
        ("ACME", pb.PARTY_KIND_SUPPLIER, "purchase_order"),
        ("ACME", pb.PARTY_KIND_CUSTOMER, "statement"),
        ("ACME", pb.PARTY_KIND_CUSTOMER, "invoice"),
    ]:
        await create_setting(
            documents,
            setting(party=party(business_account, kind), document_type=document_type),
        )

    seen: list[tuple[int, str, str]] = []
    token = ""
    while True:
        page = await documents.ListMailingSettings(
            pb.ListMailingSettingsRequest(page_size=3, page_token=token)
        )
        seen += [
            (s.party.kind, s.party.business_account_id, s.document_type)
            for s in page.mailing_settings
        ]
        token = page.next_page_token
        if not token:
            break

    assert seen == [
        (pb.PARTY_KIND_CUSTOMER, "ACME", "invoice"),
        (pb.PARTY_KIND_CUSTOMER, "ACME", "statement"),
        (pb.PARTY_KIND_CUSTOMER, "GLOBEX", "invoice"),
        (pb.PARTY_KIND_SUPPLIER, "ACME", "purchase_order"),
    ]


async def test_list_filters_by_party_and_document_type(documents: Documents) -> None:
    for business_account, kind, document_type in [
        ("ACME", pb.PARTY_KIND_CUSTOMER, "invoice"),
        ("ACME", pb.PARTY_KIND_CUSTOMER, "statement"),
        ("ACME", pb.PARTY_KIND_SUPPLIER, "invoice"),
        ("GLOBEX", pb.PARTY_KIND_CUSTOMER, "invoice"),
    ]:
        await create_setting(
            documents,
            setting(party=party(business_account, kind), document_type=document_type),
        )

    async def listed(**filters: object) -> list[tuple[int, str, str]]:
        page = await documents.ListMailingSettings(pb.ListMailingSettingsRequest(**filters))  # type: ignore[arg-type]
        return [
            (s.party.kind, s.party.business_account_id, s.document_type)
            for s in page.mailing_settings
        ]

    acme_customer = await listed(party_kind=pb.PARTY_KIND_CUSTOMER, business_account_id="ACME")
    invoices = await listed(document_type="Invoice")
    suppliers = await listed(party_kind=pb.PARTY_KIND_SUPPLIER)

    assert acme_customer == [
        (pb.PARTY_KIND_CUSTOMER, "ACME", "invoice"),
        (pb.PARTY_KIND_CUSTOMER, "ACME", "statement"),
    ]
    assert [business_account for _, business_account, _ in invoices] == ["ACME", "GLOBEX", "ACME"]
    assert suppliers == [(pb.PARTY_KIND_SUPPLIER, "ACME", "invoice")]


async def test_an_update_changes_only_the_fields_in_the_mask(documents: Documents) -> None:
    created = await create_setting(documents, setting(account_id="sandbox"))

    updated = await documents.UpdateMailingSetting(
        pb.UpdateMailingSettingRequest(
            mailing_setting=pb.MailingSetting(
                setting_id=created.setting_id,
                active=False,
                recipients=[address("ap@acme.test"), role("purchasing", CC)],
                account_id="",
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["active", "recipients"]),
        )
    )

    got = updated.mailing_setting
    assert not got.active
    assert [(r.address, r.contact_role) for r in got.recipients] == [
        ("ap@acme.test", ""),
        ("", "purchasing"),
    ]
    assert got.account_id == "sandbox"  # not in the mask
    assert got.template_id == "invoice-mail"
    assert got.create_time == created.create_time


async def test_an_update_of_everything_keeps_the_party_and_document_type(
    documents: Documents, templates: Templates
) -> None:
    await templates.CreateTemplate(
        tpb.CreateTemplateRequest(template=invoice_template(template_id="statement-mail"))
    )
    created = await create_setting(documents, setting())
    replacement = setting(
        role("purchasing"),
        party=party("GLOBEX"),
        document_type="statement",
        template_id="statement-mail",
    )
    replacement.setting_id = created.setting_id

    updated = await documents.UpdateMailingSetting(
        pb.UpdateMailingSettingRequest(
            mailing_setting=replacement, update_mask=field_mask_pb2.FieldMask(paths=["*"])
        )
    )

    got = updated.mailing_setting
    assert got.party == party() and got.document_type == "invoice"
    assert got.template_id == "statement-mail"
    assert got.recipients[0].contact_role == "purchasing"


@pytest.mark.parametrize("path", ["party", "party.business_account_id", "document_type"])
async def test_the_party_and_document_type_cannot_be_changed(
    documents: Documents, path: str
) -> None:
    created = await create_setting(documents, setting())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.UpdateMailingSetting(
            pb.UpdateMailingSettingRequest(
                mailing_setting=pb.MailingSetting(
                    setting_id=created.setting_id, document_type="statement"
                ),
                update_mask=field_mask_pb2.FieldMask(paths=[path]),
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask" in field_violations(error.value)


async def test_a_deleted_setting_is_gone(documents: Documents) -> None:
    created = await create_setting(documents, setting())

    await documents.DeleteMailingSetting(
        pb.DeleteMailingSettingRequest(setting_id=created.setting_id)
    )

    for call in (
        documents.GetMailingSetting(pb.GetMailingSettingRequest(setting_id=created.setting_id)),
        documents.DeleteMailingSetting(
            pb.DeleteMailingSettingRequest(setting_id=created.setting_id)
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await documents.ListMailingSettings(pb.ListMailingSettingsRequest())
    assert list(listed.mailing_settings) == []


async def test_a_deleted_settings_id_is_never_given_again(documents: Documents) -> None:
    first = await create_setting(documents, setting())
    await documents.DeleteMailingSetting(
        pb.DeleteMailingSettingRequest(setting_id=first.setting_id)
    )

    second = await create_setting(documents, setting())

    assert int(second.setting_id) > int(first.setting_id)


async def test_a_template_a_setting_sends_with_is_not_deleted_under_it(
    documents: Documents, templates: Templates
) -> None:
    created = await create_setting(documents, setting(role("Billing")))
    remove = tpb.DeleteTemplateRequest(template_id="invoice-mail")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await templates.DeleteTemplate(remove)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"mailing_settings/{created.setting_id}" in (refused.value.details() or "")

    await documents.DeleteMailingSetting(
        pb.DeleteMailingSettingRequest(setting_id=created.setting_id)
    )
    await templates.DeleteTemplate(remove)
