"""From a template and one recipient's data to the content of their email. No I/O here.

The email is built by templates.compose, as every email made from a template is, so that what
PreviewTemplate shows is what is queued.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from erpmail.server.core.errors import InvalidArgument
from erpmail.server.mailings.models import EmailOptions, Failure, PendingRecipient
from erpmail.server.outgoing.models import Content
from erpmail.server.templates.compose import template_content
from erpmail.server.templates.models import RenderError, Template
from erpmail.server.templates.render import render

log = logging.getLogger(__name__)


def render_problem(template_id: str, error: RenderError) -> str:
    """What a caller is told of a render error: the template, its field, the place-holder and
    where it is ("template 'offer', subject, line 1, column 7: ((Name)) has no value ...")."""
    return f"template {template_id!r}, {error}"


def recipient_content(
    template: Template, recipient: PendingRecipient, options: EmailOptions
) -> Content | Failure:
    """The email one recipient of a mass mailing gets, or why they get none."""
    try:
        rendered = render(template, recipient.data, lenient=options.lenient)
    except RenderError as error:
        return Failure(render_problem(template.template_id, error), error.placeholder)
    except Exception:
        # A fault of rendering itself fails this recipient, not the whole mailing.
        log.exception("rendering failed", extra={"template_id": template.template_id})
        return Failure(f"template {template.template_id!r} could not be rendered (internal error)")
    if recipient.to:
        rendered = replace(rendered, to=list(recipient.to))
    return template_content(
        rendered, related_entity=options.related_entity, owner_id=options.owner_id
    )


def content_failure(error: InvalidArgument, field: str) -> Failure:
    """A rendered email the queue refuses (no recipient, an address that is not one), told
    with the email's fields ("to[0].address: is not an email address")."""
    prefix = f"{field}."
    return Failure(
        "; ".join(f"{v.field.removeprefix(prefix)}: {v.description}" for v in error.violations)
    )
