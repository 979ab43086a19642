"""From a rendered template to the outgoing email it makes (no I/O).

Every email erpmail makes from a template (one sent from a template, each email of a mass mailing,
a document sent by email) is built here, so that what PreviewTemplate shows is what is queued.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from erpmail.server.core.errors import FieldViolation, InvalidArgument
from erpmail.server.outgoing.models import Address, Attachment, Content, RelatedEntity
from erpmail.server.outgoing.service import CreateRequest
from erpmail.server.templates.models import RenderedTemplate


def template_content(
    rendered: RenderedTemplate,
    *,
    extra_to: Sequence[Address] = (),
    files: Sequence[Attachment] = (),
    related_entity: RelatedEntity | None = None,
    owner_id: str = "",
) -> Content:
    """The email's content: the template's recipients and then `extra_to`, its attachments and
    then `files` (a document, say)."""
    return Content(
        to=[*rendered.to, *extra_to],
        cc=list(rendered.cc),
        bcc=list(rendered.bcc),
        subject=rendered.subject,
        text_body=rendered.text_body,
        html_body=rendered.html_body,
        attachments=[*rendered.attachments, *files],
        related_entity=related_entity or RelatedEntity(),
        owner_id=owner_id,
    )


def template_request(
    rendered: RenderedTemplate,
    content: Content,
    *,
    account_id: str = "",
    request_id: str = "",
    submit: bool = True,
) -> CreateRequest:
    """The outgoing create request: from `account_id`, else the template's account, else (empty)
    the preferences' default account."""
    return CreateRequest(
        account_id=account_id or rendered.from_account_id,
        content=content,
        submit=submit,
        one_email_per_to=False,
        request_id=request_id,
    )


def refusal_in_request(
    error: InvalidArgument, template_id: str, own_field: Callable[[str], str | None]
) -> InvalidArgument:
    """The outgoing queue's refusal of an email made from a template (its fields "email.…"),
    told in the fields of the request that made it. `own_field` names the request field a part
    of the email came from ("account_id" -> "account_id"), None when the request has none: that
    part is what the template made of the data, and is told under `data`."""
    violations = []
    for v in error.violations:
        part = v.field.removeprefix("email.")
        field = own_field(part)
        if field is not None:
            violations.append(FieldViolation(field, v.description))
        else:
            violations.append(
                FieldViolation(
                    "data",
                    f"template {template_id!r} makes an email that cannot be sent:"
                    f" {part} {v.description}",
                )
            )
    return InvalidArgument(violations)
