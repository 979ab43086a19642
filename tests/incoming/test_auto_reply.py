"""Automatic replies: where they go, how they thread, and how they say they are automatic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from erpmail.server.incoming.auto_reply import (
    MAX_REFERENCES,
    Original,
    ReplyText,
    auto_reply,
    reply_subject,
    template_data,
)
from erpmail.server.outgoing.models import Address, Content, RelatedEntity

ORIGINAL = Original(
    message_id="<m1@customer.test>",
    sender=Address("anna@customer.test", "Anna"),
    reply_to=(),
    subject="Broken invoice",
    text_body="Please fix it.",
    date=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    references=("<m0@erp.test>",),
    related_entity=RelatedEntity("case", "C-1"),
    owner_id="emp-1",
    work_group_id="wg-1",
    account_address="support@erp.test",
    account_name="Support",
)
TEXT = ReplyText(subject="", text_body="We got it.", html_body="")


def header(content: Content, name: str) -> str:
    return next(h.value for h in content.headers if h.name == name)


def test_a_reply_goes_to_the_sender_and_threads_under_the_received_message() -> None:
    reply = auto_reply(ORIGINAL, TEXT)
    assert [a.address for a in reply.to] == ["anna@customer.test"]
    assert header(reply, "In-Reply-To") == "<m1@customer.test>"
    assert header(reply, "References") == "<m0@erp.test> <m1@customer.test>"
    assert reply.subject == "Re: Broken invoice"
    assert reply.text_body == "We got it."


def test_a_reply_goes_to_the_reply_to_address_when_the_sender_names_one() -> None:
    reply = auto_reply(replace(ORIGINAL, reply_to=[Address("help@customer.test")]), TEXT)
    assert [a.address for a in reply.to] == ["help@customer.test"]


def test_a_reply_says_it_is_automatic_so_robots_do_not_answer_it() -> None:
    reply = auto_reply(ORIGINAL, TEXT)
    assert header(reply, "Auto-Submitted") == "auto-replied"
    assert header(reply, "X-Auto-Response-Suppress") == "All"


def test_a_reply_keeps_what_the_email_relates_to_and_who_owns_it() -> None:
    reply = auto_reply(ORIGINAL, TEXT)
    assert reply.related_entity == RelatedEntity("case", "C-1")
    assert (reply.owner_id, reply.work_group_id) == ("emp-1", "wg-1")


def test_the_templates_subject_wins_and_re_is_never_stacked() -> None:
    assert auto_reply(ORIGINAL, replace(TEXT, subject="Thanks")).subject == "Thanks"
    assert reply_subject("RE: Broken") == "RE: Broken"
    assert reply_subject("Broken") == "Re: Broken"


def test_a_long_references_chain_keeps_the_first_and_the_newest() -> None:
    chain = tuple(f"<r{i}@x.test>" for i in range(50))
    references = header(auto_reply(replace(ORIGINAL, references=chain), TEXT), "References")
    ids = references.split()
    assert len(ids) == MAX_REFERENCES
    assert ids[0] == "<r0@x.test>"
    assert ids[-1] == "<m1@customer.test>"


def test_templates_see_the_received_emails_fields() -> None:
    data = template_data(ORIGINAL)
    assert data["Subject"] == "Broken invoice"
    assert data["Sender"] == {"Name": "Anna", "Address": "anna@customer.test"}
    assert data["Account"] == {"Address": "support@erp.test", "Name": "Support"}
    assert data["ReceivedDate"] == "2026-11-30T09:00:00+00:00"
