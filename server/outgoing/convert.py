"""Translation between the EmailService protos and the outgoing domain model."""

from __future__ import annotations

from collections.abc import Iterable

from erpmail.server.core.protos import EnumMap, from_timestamp, timestamp
from erpmail.server.outgoing import models as m
from erpmail.server.outgoing.store import StoredEmail
from erpmail.v1 import emails_pb2 as pb

STATUS = EnumMap(
    {
        pb.EMAIL_STATUS_DRAFT: m.Status.DRAFT,
        pb.EMAIL_STATUS_PENDING: m.Status.PENDING,
        pb.EMAIL_STATUS_IN_PROCESS: m.Status.IN_PROCESS,
        pb.EMAIL_STATUS_PROCESSED: m.Status.PROCESSED,
        pb.EMAIL_STATUS_FAILED: m.Status.FAILED,
        pb.EMAIL_STATUS_ARCHIVED: m.Status.ARCHIVED,
        pb.EMAIL_STATUS_DELETED: m.Status.DELETED,
    }
)
DIRECTION = EnumMap(
    {
        pb.EMAIL_DIRECTION_OUTGOING: m.Direction.OUTGOING,
        pb.EMAIL_DIRECTION_INCOMING: m.Direction.INCOMING,
    }
)
KIND = EnumMap(
    {
        pb.RECIPIENT_KIND_TO: m.RecipientKind.TO,
        pb.RECIPIENT_KIND_CC: m.RecipientKind.CC,
        pb.RECIPIENT_KIND_BCC: m.RecipientKind.BCC,
    }
)
RECIPIENT_STATUS = EnumMap(
    {
        pb.RECIPIENT_STATUS_PENDING: m.RecipientStatus.PENDING,
        pb.RECIPIENT_STATUS_ACCEPTED: m.RecipientStatus.ACCEPTED,
        pb.RECIPIENT_STATUS_REFUSED: m.RecipientStatus.REFUSED,
    }
)
STEP = EnumMap(
    {
        pb.SEND_STEP_CONNECT: m.SendStep.CONNECT,
        pb.SEND_STEP_TLS: m.SendStep.TLS,
        pb.SEND_STEP_EHLO: m.SendStep.EHLO,
        pb.SEND_STEP_AUTH: m.SendStep.AUTH,
        pb.SEND_STEP_MAIL_FROM: m.SendStep.MAIL_FROM,
        pb.SEND_STEP_RCPT_TO: m.SendStep.RCPT_TO,
        pb.SEND_STEP_DATA: m.SendStep.DATA,
        pb.SEND_STEP_DONE: m.SendStep.DONE,
    }
)
OUTCOME = EnumMap(
    {
        pb.ATTEMPT_OUTCOME_SENT: m.AttemptOutcome.SENT,
        pb.ATTEMPT_OUTCOME_PARTIALLY_SENT: m.AttemptOutcome.PARTIALLY_SENT,
        pb.ATTEMPT_OUTCOME_TRANSIENT_FAILURE: m.AttemptOutcome.TRANSIENT_FAILURE,
        pb.ATTEMPT_OUTCOME_PERMANENT_FAILURE: m.AttemptOutcome.PERMANENT_FAILURE,
    }
)


def _addresses(items: Iterable[pb.Address]) -> list[m.Address]:
    return [m.Address(address=a.address, name=a.name) for a in items]


def content_to_domain(e: pb.Email) -> m.Content:
    return m.Content(
        to=_addresses(e.to),
        cc=_addresses(e.cc),
        bcc=_addresses(e.bcc),
        reply_to=_addresses(e.reply_to),
        subject=e.subject,
        text_body=e.text_body,
        html_body=e.html_body,
        attachments=[m.Attachment(a.file_name, a.content_type, a.content) for a in e.attachments],
        headers=[m.Header(h.name, h.value) for h in e.headers],
        related_entity=m.RelatedEntity(
            e.related_entity.type, e.related_entity.id, e.related_entity.description
        ),
        owner_id=e.owner_id,
        work_group_id=e.work_group_id,
        earliest_send_time=(
            from_timestamp(e.earliest_send_time) if e.HasField("earliest_send_time") else None
        ),
    )


def content_to_proto(c: m.Content, into: pb.Email, with_content: bool = True) -> None:
    into.to.extend(pb.Address(address=a.address, name=a.name) for a in c.to)
    into.cc.extend(pb.Address(address=a.address, name=a.name) for a in c.cc)
    into.bcc.extend(pb.Address(address=a.address, name=a.name) for a in c.bcc)
    into.reply_to.extend(pb.Address(address=a.address, name=a.name) for a in c.reply_to)
    into.subject = c.subject
    into.text_body = c.text_body
    into.html_body = c.html_body
    into.attachments.extend(
        pb.Attachment(
            file_name=a.file_name,
            content_type=a.content_type,
            content=a.content if with_content else b"",
            size=len(a.content),
        )
        for a in c.attachments
    )
    into.headers.extend(pb.Header(name=h.name, value=h.value) for h in c.headers)
    into.related_entity.CopyFrom(
        pb.RelatedEntity(
            type=c.related_entity.type,
            id=c.related_entity.id,
            description=c.related_entity.description,
        )
    )
    into.owner_id = c.owner_id
    into.work_group_id = c.work_group_id
    if c.earliest_send_time is not None:
        into.earliest_send_time.CopyFrom(timestamp(c.earliest_send_time))


def to_proto(e: StoredEmail, sender: m.Address, with_content: bool = True) -> pb.Email:
    message = pb.Email(
        email_id=str(e.id),
        account_id=e.account_id,
        direction=DIRECTION.to_proto(e.direction),
        status=STATUS.to_proto(e.status),
        created_by=e.created_by,
        message_id=e.message_id,
        tracking_tag=e.tracking_tag,
        failed_attempts=e.failed_attempts,
        error=e.error,
        some_recipients_failed=e.some_recipients_failed,
        create_time=timestamp(e.create_time),
        update_time=timestamp(e.update_time),
    )
    # "from" is a Python keyword: the field is reached with getattr.
    author = e.sender or sender
    getattr(message, "from").CopyFrom(pb.Address(address=author.address, name=author.name))
    content_to_proto(e.content, message, with_content)
    message.recipients.extend(
        pb.RecipientOutcome(
            address=r.address,
            kind=KIND.to_proto(r.kind),
            status=RECIPIENT_STATUS.to_proto(r.status),
            reply_code=r.reply_code,
            enhanced_status=r.enhanced_status,
            reply_text=r.reply_text,
        )
        for r in e.recipients
    )
    message.attempts.extend(
        pb.SendAttempt(
            time=timestamp(a.time),
            manual=a.manual,
            step=STEP.to_proto(a.step),
            outcome=OUTCOME.to_proto(a.outcome),
            reply_code=a.reply_code,
            enhanced_status=a.enhanced_status,
            reply_text=a.reply_text,
        )
        for a in e.attempts
    )
    if e.next_attempt_time is not None and e.status is m.Status.PENDING:
        message.next_attempt_time.CopyFrom(timestamp(e.next_attempt_time))
    if e.sent_time is not None:
        message.sent_time.CopyFrom(timestamp(e.sent_time))
    if e.thread_email_id is not None:
        message.thread_email_id = str(e.thread_email_id)
    message.reference_info = e.reference_info
    message.read = e.read
    return message
