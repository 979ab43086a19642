"""Full-text search of the email lists (ListEmailsRequest.query): over subject, addresses and
bodies (HTML by its text), every word required, phrases, prefixes, any case and accents;
combined with the view and filter, newest first, paged with page tokens. Archived email stays
searchable; deleted email is found only in the deleted view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from erpmail.server.outgoing.models import Status
from erpmail.v1 import emails_pb2 as pb

from tests.mailbox.views_support import ANNA, SUPPORT, Mailbox, at, mailbox

MEETING_HTML = (
    "<html><head><style>p { color: red }</style></head><body>"
    "<p style='font-family: Arial'>Agenda: <b>pricing</b> &amp; delivery</p>"
    "<script>var token = 'secretvalue';</script><!-- draftnote --></body></html>"
)


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[Mailbox]:
    async with mailbox(tmp_path) as box:
        await box.sent(
            "Invoice 1001 for March",
            to=["anna.kowalska@customer.test"],
            cc=["boss@customer.test"],
            text="Please find the invoice attached. Payment within 14 days.",
            owner=ANNA,
            at=at(1),
        )
        await box.received(
            "Meeting notes",
            sender="juergen@lieferant.test",
            sender_name="Jürgen Müller",
            html=MEETING_HTML,
            at=at(2),
        )
        await box.received("Café order", text="Two espressos, please.", at=at(3))
        await box.sent("Old invoice 900", text="Paid in full.", at=at(4))
        await box.sent("Invoice draft", status=Status.DRAFT, text="Wrong invoice", at=at(5))
        await box.received(
            "Delivery invoice", account_id=SUPPORT, text="Invoice for the delivery", at=at(6)
        )
        await box.archive("Old invoice 900")
        await box.delete("Invoice draft")
        yield box


async def found(mail: Mailbox, query: str, **request: object) -> list[str]:
    return await mail.listed(ANNA, query=query, **request)


async def test_a_word_is_found_in_the_subject_an_address_or_the_body(mail: Mailbox) -> None:
    assert await found(mail, "march") == ["Invoice 1001 for March"]
    assert await found(mail, "boss@customer.test") == ["Invoice 1001 for March"]
    assert await found(mail, "juergen@lieferant.test") == ["Meeting notes"]
    assert await found(mail, "Müller") == ["Meeting notes"]
    assert await found(mail, "espressos") == ["Café order"]


async def test_html_is_searched_by_its_text_never_by_its_tags(mail: Mailbox) -> None:
    assert await found(mail, "pricing delivery") == ["Meeting notes"]
    for hidden in ("style", "font", "arial", "color", "secretvalue", "draftnote", "amp"):
        assert await found(mail, hidden) == [], hidden


async def test_every_word_must_appear(mail: Mailbox) -> None:
    assert await found(mail, "invoice payment") == ["Invoice 1001 for March"]
    assert await found(mail, "invoice espressos") == []


async def test_a_quoted_phrase_must_appear_in_that_order(mail: Mailbox) -> None:
    assert await found(mail, '"within 14 days"') == ["Invoice 1001 for March"]
    assert await found(mail, '"14 within days"') == []


async def test_a_word_ending_in_a_star_finds_words_that_begin_so(mail: Mailbox) -> None:
    assert await found(mail, "espress*") == ["Café order"]
    assert await found(mail, '"find the inv"*') == ["Invoice 1001 for March"]


async def test_case_and_accents_do_not_matter(mail: Mailbox) -> None:
    assert await found(mail, "CAFE") == ["Café order"]
    assert await found(mail, "jurgen muller") == ["Meeting notes"]


async def test_search_operators_are_plain_words_and_lone_punctuation_is_ignored(
    mail: Mailbox,
) -> None:
    assert await found(mail, "march OR espressos") == []
    assert await found(mail, "march AND NOT espressos") == []
    assert await found(mail, "NEAR(march invoice) subject:march") == []
    assert await found(mail, "march -") == ["Invoice 1001 for March"]


async def test_archived_email_is_found_by_a_search_and_deleted_email_is_not(
    mail: Mailbox,
) -> None:
    assert "Old invoice 900" not in await mail.listed()
    assert await found(mail, "invoice") == [
        "Delivery invoice",
        "Old invoice 900",
        "Invoice 1001 for March",
    ]
    assert await found(mail, "wrong") == []


async def test_deleted_email_is_found_by_a_search_in_the_deleted_view(mail: Mailbox) -> None:
    assert await found(mail, "wrong invoice", view=pb.EMAIL_VIEW_DELETED) == ["Invoice draft"]


async def test_a_search_holds_together_with_the_view_and_the_filter(mail: Mailbox) -> None:
    assert await found(mail, "invoice", view=pb.EMAIL_VIEW_INCOMING) == ["Delivery invoice"]
    assert await found(mail, "invoice", view=pb.EMAIL_VIEW_MINE) == ["Invoice 1001 for March"]
    by_account = await found(mail, "invoice", filter=pb.EmailFilter(account_ids=[SUPPORT]))
    assert by_account == ["Delivery invoice"]
    assert await found(mail, "invoice", view=pb.EMAIL_VIEW_ARCHIVED) == ["Old invoice 900"]


async def test_results_page_newest_first_or_oldest_first_with_page_tokens(
    tmp_path: Path,
) -> None:
    async with mailbox(tmp_path) as box:
        for n in range(7):
            await box.sent(f"Statement {n}", text="monthly statement", at=at(n))
        await box.sent("Unrelated", text="nothing to see", at=at(8))
        newest = await box.every_page(query="statement", page_size=3)
        oldest = await box.every_page(
            query="statement", page_size=3, order=pb.EMAIL_ORDER_OLDEST_FIRST
        )
    names = [f"Statement {n}" for n in range(7)]
    assert newest == [names[6:3:-1], names[3:0:-1], names[0:1]]
    assert oldest == [names[0:3], names[3:6], names[6:7]]


async def test_a_common_word_with_a_narrow_filter_finds_exactly_the_filtered_matches(
    tmp_path: Path,
) -> None:
    async with mailbox(tmp_path) as box:
        for n in range(60):
            record = ("invoice", f"INV-{n % 30}")
            await box.sent(f"Invoice {n}", text="invoice attached", related=record, at=at(n))
        narrow = pb.EmailFilter(related_entity_type="invoice", related_entity_id="INV-7")
        one_record = await box.listed(query="invoice", filter=narrow)
        broad = await box.every_page(query="invoice", page_size=25)
        oldest_of_record = await box.listed(
            query="attached", filter=narrow, order=pb.EMAIL_ORDER_OLDEST_FIRST
        )
    assert one_record == ["Invoice 37", "Invoice 7"]
    assert oldest_of_record == ["Invoice 7", "Invoice 37"]
    assert [len(page) for page in broad] == [25, 25, 10]
    assert broad[0][0] == "Invoice 59" and broad[-1][-1] == "Invoice 0"
