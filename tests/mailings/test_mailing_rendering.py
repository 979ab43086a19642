"""What one recipient of a mass mailing gets, without sockets: the email PreviewTemplate shows
for their data (To replaced when the recipient names their own), or why they get none."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from erpmail.server.core.errors import FieldViolation, InvalidArgument
from erpmail.server.mailings.models import EmailOptions, Failure, PendingRecipient
from erpmail.server.mailings.rendering import content_failure, recipient_content
from erpmail.server.outgoing.models import Address, Content, RelatedEntity
from erpmail.server.templates.compose import template_content
from erpmail.server.templates.models import Template
from erpmail.server.templates.render import render

from tests.mailings.messages import member

OFFER = Template(
    template_id="offer",
    to="((Contact.Name)) <((Contact.Email))>",
    cc="sales@shop.example",
    subject="((Contact.Name)), your offer ((OfferNbr))",
    text_body='<foreach view="Lines">((Qty)) x ((Item))\n</foreach>',
    html_body="<p>((Contact.Name))</p>",
)
CAMPAIGN = EmailOptions(related_entity=RelatedEntity("campaign", "CP-1"), owner_id="EMP1")


def _pending(data: Mapping[str, object], to: list[Address] | None = None) -> PendingRecipient:
    return PendingRecipient(0, "M-1", data, to or [])


def test_a_recipient_gets_what_the_preview_shows_with_the_mailing_options() -> None:
    made = recipient_content(OFFER, _pending(member(1)), CAMPAIGN)

    expected = template_content(
        render(OFFER, member(1)), related_entity=CAMPAIGN.related_entity, owner_id="EMP1"
    )
    assert made == expected
    assert isinstance(made, Content)
    assert made.to == [Address("member1@customer.test", "Member 1")]


def test_a_recipients_own_to_replaces_the_templates_and_keeps_its_cc() -> None:
    made = recipient_content(OFFER, _pending(member(1), [Address("boss@x.test")]), CAMPAIGN)

    assert isinstance(made, Content)
    assert made.to == [Address("boss@x.test")]
    assert made.cc == [Address("sales@shop.example")]


def test_data_that_cannot_fill_the_template_names_template_field_and_placeholder() -> None:
    data = member(1)
    data["Lines"] = "not a list"

    made = recipient_content(OFFER, _pending(data), CAMPAIGN)

    assert isinstance(made, Failure)
    assert made.placeholder == "Lines"
    assert made.error.startswith("template 'offer', text_body, line 1, column 1:")


def test_lenient_rendering_writes_nothing_for_a_missing_value() -> None:
    data = member(1)
    del data["OfferNbr"]

    made = recipient_content(OFFER, _pending(data), EmailOptions(lenient=True))

    assert isinstance(made, Content)
    assert made.subject == "Member 1, your offer "


class _Broken(Mapping[str, object]):
    """Data whose reading fails in a way rendering does not expect."""

    def __getitem__(self, key: str) -> object:
        raise RuntimeError("broken data source")

    def get(self, key: str, default: object = None) -> object:
        raise RuntimeError("broken data source")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, key: object) -> bool:
        return True


def test_an_unexpected_rendering_fault_fails_only_that_recipient() -> None:
    made = recipient_content(OFFER, _pending(_Broken()), CAMPAIGN)

    assert made == Failure("template 'offer' could not be rendered (internal error)")


def test_a_refused_email_is_told_in_the_emails_own_fields() -> None:
    refusal = InvalidArgument(
        [
            FieldViolation("email.to", "at least one recipient is required in to, cc or bcc"),
            FieldViolation("email.to[0].address", "is not an email address"),
        ]
    )

    assert content_failure(refusal, "email") == Failure(
        "to: at least one recipient is required in to, cc or bcc;"
        " to[0].address: is not an email address"
    )
