"""Each customer or supplier takes documents by email unless it is set to paper only; the parties
set are listed, the paper-only ones on their own for the ERP to print for."""

from __future__ import annotations

from erpmail.v1 import documents_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.documents.messages import Documents, party

EMAIL, PAPER = pb.DOCUMENT_DELIVERY_EMAIL, pb.DOCUMENT_DELIVERY_PAPER


async def _set(
    documents: Documents, who: pb.Party, delivery: pb.DocumentDelivery.ValueType
) -> pb.PartyDocumentPreference:
    response = await documents.UpdatePartyDocumentPreference(
        pb.UpdatePartyDocumentPreferenceRequest(
            preference=pb.PartyDocumentPreference(party=who, delivery=delivery),
            update_mask=field_mask_pb2.FieldMask(paths=["delivery"]),
        )
    )
    return response.preference


async def _get(documents: Documents, who: pb.Party) -> pb.PartyDocumentPreference:
    request = pb.GetPartyDocumentPreferenceRequest(party=who)
    return (await documents.GetPartyDocumentPreference(request)).preference


async def test_a_party_never_set_takes_documents_by_email(documents: Documents) -> None:
    got = await _get(documents, party())

    assert got.party == party()
    assert got.delivery == EMAIL
    assert not got.HasField("update_time")


async def test_a_party_set_to_paper_only_stays_so(documents: Documents) -> None:
    stored = await _set(documents, party(), PAPER)

    got = await _get(documents, party())

    assert got == stored
    assert got.delivery == PAPER and got.update_time.seconds > 0


async def test_the_preference_is_per_kind_of_party(documents: Documents) -> None:
    await _set(documents, party(kind=pb.PARTY_KIND_SUPPLIER), PAPER)

    assert (await _get(documents, party(kind=pb.PARTY_KIND_SUPPLIER))).delivery == PAPER
    assert (await _get(documents, party(kind=pb.PARTY_KIND_CUSTOMER))).delivery == EMAIL


async def test_an_unspecified_delivery_is_by_email(documents: Documents) -> None:
    await _set(documents, party(), PAPER)

    stored = await _set(documents, party(), pb.DOCUMENT_DELIVERY_UNSPECIFIED)

    assert stored.delivery == EMAIL


async def test_the_mask_star_sets_the_delivery_and_keeps_the_party(documents: Documents) -> None:
    response = await documents.UpdatePartyDocumentPreference(
        pb.UpdatePartyDocumentPreferenceRequest(
            preference=pb.PartyDocumentPreference(party=party(" ACME "), delivery=PAPER),
            update_mask=field_mask_pb2.FieldMask(paths=["*"]),
        )
    )

    assert response.preference.party == party("ACME")
    assert (await _get(documents, party())).delivery == PAPER


async def test_list_pages_through_the_parties_set_and_filters_paper_only(
    documents: Documents,
) -> None:
    for business_account, kind, delivery in [
        ("GLOBEX", pb.PARTY_KIND_CUSTOMER, PAPER),
        ("ACME", pb.PARTY_KIND_SUPPLIER, PAPER),
        ("ACME", pb.PARTY_KIND_CUSTOMER, EMAIL),
        ("INITECH", pb.PARTY_KIND_CUSTOMER, PAPER),
    ]:
        await _set(documents, party(business_account, kind), delivery)

    seen: list[tuple[int, str]] = []
    token = ""
    while True:
        page = await documents.ListPartyDocumentPreferences(
            pb.ListPartyDocumentPreferencesRequest(page_size=2, page_token=token)
        )
        seen += [(p.party.kind, p.party.business_account_id) for p in page.preferences]
        token = page.next_page_token
        if not token:
            break
    paper = await documents.ListPartyDocumentPreferences(
        pb.ListPartyDocumentPreferencesRequest(delivery=PAPER)
    )

    assert seen == [
        (pb.PARTY_KIND_CUSTOMER, "ACME"),
        (pb.PARTY_KIND_CUSTOMER, "GLOBEX"),
        (pb.PARTY_KIND_CUSTOMER, "INITECH"),
        (pb.PARTY_KIND_SUPPLIER, "ACME"),
    ]
    assert [(p.party.kind, p.party.business_account_id) for p in paper.preferences] == [
        (pb.PARTY_KIND_CUSTOMER, "GLOBEX"),
        (pb.PARTY_KIND_CUSTOMER, "INITECH"),
        (pb.PARTY_KIND_SUPPLIER, "ACME"),
    ]
