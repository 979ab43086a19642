"""DocumentService refuses bad settings and preferences whole, names the offending field, and
writes nothing; an account a setting sends from is not deleted under it."""

from __future__ import annotations

import grpc
import pytest
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc
from erpmail.v1 import documents_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.documents.messages import (
    CC,
    Documents,
    address,
    create_setting,
    employee,
    party,
    role,
    setting,
)
from tests.support.errors import field_violations, precondition_types

pytestmark = pytest.mark.usefixtures("template", "people")

F = "mailing_setting."
BAD_SETTINGS = [
    (F + "party.kind", setting(party=party(kind=pb.PARTY_KIND_UNSPECIFIED))),
    (F + "party.kind", setting(party=party(kind=9))),  # type: ignore[arg-type]
    (F + "party.business_account_id", setting(party=party(""))),
    (F + "party.business_account_id", setting(party=party("ACME\r\nBcc: x@y.test"))),
    (F + "party.business_account_id", setting(party=party("x" * 129))),
    (F + "document_type", setting(document_type="")),
    (F + "document_type", setting(document_type="sales order")),
    (F + "document_type", setting(document_type="_invoice")),
    (F + "document_type", setting(document_type="x" * 65)),
    (F + "recipients[1]", setting(role("billing"), pb.MailingRecipient(kind=CC))),
    (F + "recipients[0].contact_role", setting(role("has space"))),
    (F + "recipients[0].contact_role", setting(role(""))),
    (F + "recipients[0].address", setting(address("not-an-address"))),
    (F + "recipients[0].address", setting(address("a@acme.test\r\nBcc: x@y.test"))),
    (F + "recipients[0].display_name", setting(address("a@acme.test", display_name="A\nB"))),
    (F + "recipients[0].display_name", setting(address("a@acme.test", display_name="x" * 257))),
    (
        F + "recipients[0].display_name",
        setting(pb.MailingRecipient(contact_role="x", display_name="Y")),
    ),
    (F + "recipients[0].employee_id", setting(employee("no such/id"))),
    (F + "recipients[0].employee_id", setting(employee("EMP9"))),
    (F + "recipients[0].kind", setting(pb.MailingRecipient(address="a@acme.test", kind=7))),  # type: ignore[arg-type]
    (F + "recipients", setting(*[address(f"a{i}@acme.test") for i in range(101)])),
    (F + "template_id", setting(template_id="")),
    (F + "template_id", setting(template_id="no-such-template")),
    (F + "template_id", setting(template_id="bad id")),
    (F + "account_id", setting(account_id="no-such-account")),
    (F + "account_id", setting(account_id="a\nb")),
]


@pytest.mark.parametrize(("field", "message"), BAD_SETTINGS, ids=[f for f, _ in BAD_SETTINGS])
async def test_an_invalid_setting_is_refused_with_the_field_named(
    documents: Documents, field: str, message: pb.MailingSetting
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await create_setting(documents, message)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    listed = await documents.ListMailingSettings(pb.ListMailingSettingsRequest())
    assert list(listed.mailing_settings) == []


async def test_every_problem_of_a_setting_is_named_at_once(documents: Documents) -> None:
    message = setting(address("nope"), document_type="bad type", template_id="")

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await create_setting(documents, message)

    assert {
        F + "document_type",
        F + "recipients[0].address",
        F + "template_id",
    } <= set(field_violations(error.value))


async def test_an_invalid_update_changes_nothing(documents: Documents) -> None:
    created = await create_setting(documents, setting())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.UpdateMailingSetting(
            pb.UpdateMailingSettingRequest(
                mailing_setting=pb.MailingSetting(
                    setting_id=created.setting_id,
                    active=False,
                    recipients=[employee("EMP9")],
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["active", "recipients"]),
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert F + "recipients[0].employee_id" in field_violations(error.value)
    got = await documents.GetMailingSetting(
        pb.GetMailingSettingRequest(setting_id=created.setting_id)
    )
    assert got.mailing_setting == created


@pytest.mark.parametrize(
    ("setting_id", "code"),
    [
        ("", grpc.StatusCode.INVALID_ARGUMENT),
        ("abc", grpc.StatusCode.INVALID_ARGUMENT),
        ("-1", grpc.StatusCode.INVALID_ARGUMENT),
        ("12345", grpc.StatusCode.NOT_FOUND),
    ],
)
async def test_a_setting_is_named_by_an_id_erpmail_issued(
    documents: Documents, setting_id: str, code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.GetMailingSetting(pb.GetMailingSettingRequest(setting_id=setting_id))

    assert error.value.code() == code


@pytest.mark.parametrize("token", ["not a token", "eyJhZnRlciI6IDF9", "eyJhZnRlciI6IFsxLCAyXX0="])
async def test_a_page_token_the_server_did_not_issue_is_refused(
    documents: Documents, token: str
) -> None:
    for call in (
        documents.ListMailingSettings(pb.ListMailingSettingsRequest(page_token=token)),
        documents.ListPartyDocumentPreferences(
            pb.ListPartyDocumentPreferencesRequest(page_token=token)
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_token" in field_violations(error.value)


async def test_an_update_without_a_mask_is_refused(documents: Documents) -> None:
    created = await create_setting(documents, setting())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.UpdateMailingSetting(
            pb.UpdateMailingSettingRequest(mailing_setting=created)
        )

    assert "update_mask" in field_violations(error.value)


async def test_an_account_a_setting_sends_from_cannot_be_deleted(
    documents: Documents, channel: grpc.aio.Channel
) -> None:
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    billing = apb.Account(
        account_id="billing",
        email_address="billing@corp.test",
        usage=apb.ACCOUNT_USAGE_SEND_ONLY,
        outgoing=apb.OutgoingServer(host="127.0.0.1", port=2525),
    )
    await accounts.CreateAccount(apb.CreateAccountRequest(account=billing))
    await create_setting(documents, setting(account_id="billing"))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.DeleteAccount(apb.DeleteAccountRequest(account_id="billing"))

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["MAILING_SETTING_ACCOUNT"]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("preference.party.kind", pb.PartyDocumentPreference(party=party(kind=0))),  # type: ignore[arg-type]
        ("preference.party.business_account_id", pb.PartyDocumentPreference(party=party(""))),
        (
            "preference.delivery",
            pb.PartyDocumentPreference(party=party(), delivery=5),  # type: ignore[arg-type]
        ),
    ],
)
async def test_an_invalid_preference_is_refused_with_the_field_named(
    documents: Documents, field: str, message: pb.PartyDocumentPreference
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.UpdatePartyDocumentPreference(
            pb.UpdatePartyDocumentPreferenceRequest(
                preference=message, update_mask=field_mask_pb2.FieldMask(paths=["delivery"])
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    listed = await documents.ListPartyDocumentPreferences(pb.ListPartyDocumentPreferencesRequest())
    assert list(listed.preferences) == []
