"""Threading: a received email is matched to the email it answers (In-Reply-To, then References
newest first, then a tracking tag erpmail issued) and takes on its related entity and owners. The
decision fed with values, then end to end: sent through the sandbox's SMTP, the replies received
over its IMAP."""

from __future__ import annotations

from typing import TypeAlias

from erpmail.sandbox.app import Sandbox
from erpmail.server.incoming.threading import (
    TagFormat,
    ThreadEmail,
    ThreadKeys,
    choose_thread,
    tag_numbers,
    threaded,
)
from erpmail.server.outgoing.models import Content, RelatedEntity
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, common_pb2, emails_pb2_grpc, processing_pb2_grpc
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import processing_pb2 as pb

from tests.support.outgoing import ADDRESS, email, sandbox_account, wait_until

Processing: TypeAlias = "processing_pb2_grpc.ProcessingServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"

# -- the decision ----------------------------------------------------------------------------------

TAGS = TagFormat("[#", "]")


def candidate(email_id: int, tag: str = "") -> ThreadEmail:
    return ThreadEmail(email_id, tag, RelatedEntity("invoice", f"INV-{email_id}"), "u1", "wg1")


def test_in_reply_to_wins_over_references_and_the_tag() -> None:
    keys = ThreadKeys("<parent@x>", ("<root@x>", "<parent@x>"), "Re: hello [#3]")
    found = choose_thread(
        keys,
        TAGS,
        {"<parent@x>": candidate(1), "<root@x>": candidate(2)},
        {3: candidate(3, "[#3]")},
    )
    assert found == candidate(1)


def test_references_are_tried_newest_first_when_in_reply_to_names_nothing_known() -> None:
    keys = ThreadKeys("<stranger@x>", ("<root@x>", "<middle@x>", "<unknown@x>"), "Re: hello")
    found = choose_thread(keys, TAGS, {"<root@x>": candidate(1), "<middle@x>": candidate(2)}, {})
    assert found == candidate(2)


def test_the_tag_threads_when_no_header_names_a_known_email() -> None:
    keys = ThreadKeys("<stranger@x>", (), "Re: Invoice 42 [#7]")
    found = choose_thread(keys, TAGS, {}, {7: candidate(7, "[#7]")})
    assert found is not None and found.email_id == 7


def test_a_tag_counts_only_when_the_numbered_email_carries_that_very_tag() -> None:
    keys = ThreadKeys("", (), "Re: Invoice 42 [#7] [#8]")
    # 7 is an email without a tag (received), 8 none at all: nothing erpmail issued.
    assert choose_thread(keys, TAGS, {}, {7: candidate(7, "")}) is None
    # Tags issued under another format are not this one.
    assert choose_thread(keys, TAGS, {}, {7: candidate(7, "<7>")}) is None


def test_the_last_tag_in_the_subject_is_tried_first() -> None:
    keys = ThreadKeys("", (), "Fwd: [#4] Re: question [#9]")
    found = choose_thread(keys, TAGS, {}, {4: candidate(4, "[#4]"), 9: candidate(9, "[#9]")})
    assert found is not None and found.email_id == 9


def test_tags_are_read_literally_whatever_the_prefix_and_suffix() -> None:
    odd = TagFormat("(ref.", ")*")
    assert tag_numbers("Re: x (ref.12)* (ref12)* (ref.x)*", odd) == [12]
    assert tag_numbers("Re: [#12] [#] [#-3] [#99999999999999999999]", TAGS) == [12]


def test_without_prefix_and_suffix_no_number_is_taken_for_a_tag() -> None:
    assert tag_numbers("Invoice 42", TagFormat("", "")) == []
    assert tag_numbers("Invoice [#42]", None) == []


def test_nothing_known_threads_nothing() -> None:
    keys = ThreadKeys("<a@x>", ("<b@x>",), "hello")
    assert choose_thread(keys, TAGS, {}, {}) is None


def test_the_threaded_email_takes_the_related_entity_and_owners_and_keeps_the_rest() -> None:
    content = Content(subject="Re: hi", text_body="thanks", owner_id="")

    result = threaded(content, candidate(5))

    assert result.related_entity == RelatedEntity("invoice", "INV-5")
    assert (result.owner_id, result.work_group_id) == ("u1", "wg1")
    assert (result.subject, result.text_body) == ("Re: hi", "thanks")
    assert content.owner_id == ""  # the original is left alone


# -- end to end ------------------------------------------------------------------------------------


async def _create_account(accounts: Accounts, sandbox: Sandbox, *, activate: bool) -> None:
    """The sandbox account sending and receiving, processing incoming mail if `activate`."""
    account = sandbox_account(sandbox)
    account.usage = apb.ACCOUNT_USAGE_SEND_AND_RECEIVE
    account.incoming.protocol = apb.INCOMING_PROTOCOL_IMAP
    account.incoming.host = "127.0.0.1"
    account.incoming.port = sandbox.ports["imap"]
    account.incoming.security = common_pb2.CONNECTION_SECURITY_NONE
    account.processing.activate = activate
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account))


async def _send_invoice(emails: Emails) -> epb.Email:
    """An email about invoice INV-42, owned by u-7 of work group wg-sales, sent."""
    message = email("customer@example.com")
    message.related_entity.CopyFrom(
        epb.RelatedEntity(type="invoice", id="INV-42", description="Invoice 42")
    )
    message.owner_id = "u-7"
    message.work_group_id = "wg-sales"
    created = await emails.CreateEmail(epb.CreateEmailRequest(email=message, submit=True))
    (done,) = await wait_until(emails, [created.emails[0].email_id])
    assert done.status == epb.EMAIL_STATUS_PROCESSED
    return done


def reply(number: int, subject: str, in_reply_to: str = "", references: str = "") -> bytes:
    headers = [
        "From: Customer <customer@example.com>",
        f"To: {ADDRESS}",
        f"Subject: {subject}",
        f"Message-ID: <reply-{number}@example.com>",
    ]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    text = "\r\n".join(headers) + "\r\nContent-Type: text/plain\r\n\r\nThanks.\r\n"
    return text.encode()


async def _receive(processing: Processing) -> None:
    result = await processing.ReceiveEmails(pb.ReceiveEmailsRequest(account_ids=["sandbox"]))
    (receipt,) = result.receipts
    assert receipt.ok, receipt.error


async def _received(emails: Emails) -> dict[str, epb.Email]:
    """The account's incoming emails, read one by one, by subject."""
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id="sandbox", page_size=100))
    found = {}
    for e in listed.emails:
        if e.direction == epb.EMAIL_DIRECTION_INCOMING:
            got = await emails.GetEmail(epb.GetEmailRequest(email_id=e.email_id))
            found[e.subject] = got.email
    return found


def _thread_of(received: epb.Email) -> tuple[str, epb.RelatedEntity, str, str]:
    return (
        received.thread_email_id,
        received.related_entity,
        received.owner_id,
        received.work_group_id,
    )


async def test_replies_thread_by_in_reply_to_and_by_the_tracking_tag(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _create_account(accounts, sandbox, activate=True)
    sent = await _send_invoice(emails)
    assert sent.tracking_tag
    sandbox.store.deliver("", [ADDRESS], reply(1, "Re: Invoice 42", in_reply_to=sent.message_id))
    sandbox.store.deliver("", [ADDRESS], reply(2, f"Re: Invoice 42 {sent.tracking_tag}"))

    await _receive(processing)
    received = await _received(emails)

    expected = (sent.email_id, sent.related_entity, "u-7", "wg-sales")
    assert _thread_of(received["Re: Invoice 42"]) == expected
    assert _thread_of(received[f"Re: Invoice 42 {sent.tracking_tag}"]) == expected
    assert sent.related_entity.id == "INV-42"


async def test_a_reply_to_a_reply_threads_by_its_references(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _create_account(accounts, sandbox, activate=True)
    sent = await _send_invoice(emails)
    sandbox.store.deliver("", [ADDRESS], reply(1, "Re: Invoice 42", in_reply_to=sent.message_id))
    # Answers the first reply (received in the same batch), naming the whole chain.
    chain = f"{sent.message_id} <reply-1@example.com>"
    sandbox.store.deliver(
        "", [ADDRESS], reply(2, "Re: Re: Invoice 42", "<reply-1@example.com>", chain)
    )

    await _receive(processing)
    received = await _received(emails)

    first = received["Re: Invoice 42"]
    second = received["Re: Re: Invoice 42"]
    assert second.thread_email_id == first.email_id
    assert (second.related_entity.id, second.owner_id) == ("INV-42", "u-7")


async def test_a_tag_erpmail_never_issued_threads_nothing(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _create_account(accounts, sandbox, activate=True)
    other = sandbox_account(sandbox, "other")
    await accounts.CreateAccount(apb.CreateAccountRequest(account=other))
    theirs = await emails.CreateEmail(
        epb.CreateEmailRequest(email=email("x@example.com", account_id="other"))
    )
    foreign_tag = theirs.emails[0].tracking_tag
    assert foreign_tag
    await _send_invoice(emails)
    sandbox.store.deliver("", [ADDRESS], reply(1, "Re: Invoice 42 [#999]"))
    sandbox.store.deliver("", [ADDRESS], reply(2, f"Re: Offer {foreign_tag}"))

    await _receive(processing)
    received = await _received(emails)

    for subject in ("Re: Invoice 42 [#999]", f"Re: Offer {foreign_tag}"):
        assert _thread_of(received[subject]) == ("", epb.RelatedEntity(), "", "")


async def test_without_processing_nothing_is_threaded(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _create_account(accounts, sandbox, activate=False)
    sent = await _send_invoice(emails)
    sandbox.store.deliver("", [ADDRESS], reply(1, "Re: Invoice 42", in_reply_to=sent.message_id))
    sandbox.store.deliver("", [ADDRESS], reply(2, f"Re: Invoice 42 {sent.tracking_tag}"))

    await _receive(processing)
    received = await _received(emails)

    assert len(received) == 2
    for e in received.values():
        assert _thread_of(e) == ("", epb.RelatedEntity(), "", "")
