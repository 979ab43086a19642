"""Translation between the AccountService protos and the account domain model."""

from __future__ import annotations

from erpmail.server.accounts import models as m
from erpmail.server.accounts.store import Change, StoredAccount
from erpmail.server.core.protos import EnumMap, from_timestamp, timestamp
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import common_pb2

USAGE = EnumMap(
    {
        pb.ACCOUNT_USAGE_SEND_AND_RECEIVE: m.Usage.SEND_AND_RECEIVE,
        pb.ACCOUNT_USAGE_SEND_ONLY: m.Usage.SEND_ONLY,
        pb.ACCOUNT_USAGE_RECEIVE_ONLY: m.Usage.RECEIVE_ONLY,
    }
)
PROTOCOL = EnumMap(
    {
        pb.INCOMING_PROTOCOL_NONE: m.IncomingProtocol.NONE,
        pb.INCOMING_PROTOCOL_IMAP: m.IncomingProtocol.IMAP,
        pb.INCOMING_PROTOCOL_POP3: m.IncomingProtocol.POP3,
    },
    default=m.IncomingProtocol.NONE,
)
# Unspecified security is the safe choice: TLS (STARTTLS for SMTP submission, implicit for
# IMAP/POP3, the ports most providers offer).
_SECURITY = {
    common_pb2.CONNECTION_SECURITY_NONE: m.Security.NONE,
    common_pb2.CONNECTION_SECURITY_SSL_TLS: m.Security.SSL_TLS,
    common_pb2.CONNECTION_SECURITY_STARTTLS: m.Security.STARTTLS,
}
OUTGOING_SECURITY = EnumMap(_SECURITY, default=m.Security.STARTTLS)
INCOMING_SECURITY = EnumMap(_SECURITY, default=m.Security.SSL_TLS)
DELETE_AFTER = EnumMap(
    {
        pb.DELETE_AFTER_PROCESSING_NEVER: m.DeleteAfterProcessing.NEVER,
        pb.DELETE_AFTER_PROCESSING_ANY: m.DeleteAfterProcessing.ANY,
        pb.DELETE_AFTER_PROCESSING_FAILED: m.DeleteAfterProcessing.FAILED,
        pb.DELETE_AFTER_PROCESSING_SUCCESSFUL: m.DeleteAfterProcessing.SUCCESSFUL,
    },
    default=m.DeleteAfterProcessing.NEVER,
)


def to_domain(message: pb.Account, field: str = "account") -> m.Account:
    """The domain account a request describes (its passwords are read by `passwords`)."""
    inc, out = message.incoming, message.outgoing
    protocol = PROTOCOL.to_domain(inc.protocol, f"{field}.incoming.protocol")
    if message.usage == pb.ACCOUNT_USAGE_UNSPECIFIED:
        # Left open, an account receives when it names an incoming protocol.
        usage = (
            m.Usage.SEND_ONLY if protocol is m.IncomingProtocol.NONE else m.Usage.SEND_AND_RECEIVE
        )
    else:
        usage = USAGE.to_domain(message.usage, f"{field}.usage")
    return m.Account(
        account_id=message.account_id,
        email_address=message.email_address,
        reply_address=message.reply_address,
        display_name=message.display_name,
        usage=usage,
        incoming=m.IncomingServer(
            protocol=protocol,
            host=inc.host,
            port=inc.port,
            security=INCOMING_SECURITY.to_domain(inc.security, f"{field}.incoming.security"),
            root_folder=inc.root_folder,
            username=inc.username,
            use_idle=inc.use_idle,
        ),
        outgoing=m.OutgoingServer(
            host=out.host,
            port=out.port,
            security=OUTGOING_SECURITY.to_domain(out.security, f"{field}.outgoing.security"),
            requires_authentication=out.requires_authentication,
            use_own_credentials=out.use_own_credentials,
            username=out.username,
            validates_from=out.validates_from,
            group_mails=out.group_mails,
        ),
        signature=m.Signature(text=message.signature.text, html=message.signature.html),
        content=m.ContentSettings(
            remove_from_server=message.content.remove_from_server,
            fetch_after=(
                from_timestamp(message.content.fetch_after)
                if message.content.HasField("fetch_after")
                else None
            ),
            fetch_on_create=message.content.fetch_on_create,
            allowed_attachment_types=list(message.content.allowed_attachment_types),
        ),
        processing=_processing(message.processing, f"{field}.processing"),
        assignment=m.AssignmentSettings(
            assignment_map_id=message.assignment.assignment_map_id,
            default_work_group_id=message.assignment.default_work_group_id,
            default_owner_id=message.assignment.default_owner_id,
        ),
        allowed_employee_ids=list(message.allowed_employee_ids),
        trusted_certificate_pem=message.trusted_certificate_pem,
        personal_owner_id=message.personal_owner_id,
    )


def _processing(p: pb.IncomingProcessing, field: str) -> m.IncomingProcessing:
    return m.IncomingProcessing(
        activate=p.activate,
        confirm_receipt=p.confirm_receipt,
        confirmation_template_id=p.confirmation_template_id,
        create_case=p.create_case,
        case_class=p.case_class,
        attach_to_related_entity=p.attach_to_related_entity,
        create_lead=p.create_lead,
        reply_to_unassigned=p.reply_to_unassigned,
        reply_template_id=p.reply_template_id,
        delete_after_processing=DELETE_AFTER.to_domain(
            p.delete_after_processing, f"{field}.delete_after_processing"
        ),
        add_reference_info=p.add_reference_info,
        create_contact=p.create_contact,
    )


def to_proto(stored: StoredAccount) -> pb.Account:
    message = account_to_proto(stored.account)
    message.incoming.password_set = stored.incoming_password_set
    message.outgoing.password_set = stored.outgoing_password_set
    message.create_time.CopyFrom(timestamp(stored.create_time))
    message.update_time.CopyFrom(timestamp(stored.update_time))
    return message


def account_to_proto(a: m.Account) -> pb.Account:
    p = a.processing
    content = pb.ContentSettings(
        remove_from_server=a.content.remove_from_server,
        fetch_on_create=a.content.fetch_on_create,
        allowed_attachment_types=a.content.allowed_attachment_types,
    )
    if a.content.fetch_after is not None:
        content.fetch_after.CopyFrom(timestamp(a.content.fetch_after))
    return pb.Account(
        account_id=a.account_id,
        email_address=a.email_address,
        reply_address=a.reply_address,
        display_name=a.display_name,
        usage=USAGE.to_proto(a.usage),
        incoming=pb.IncomingServer(
            protocol=PROTOCOL.to_proto(a.incoming.protocol),
            host=a.incoming.host,
            port=a.incoming.port,
            security=INCOMING_SECURITY.to_proto(a.incoming.security),
            root_folder=a.incoming.root_folder,
            username=a.incoming.username,
            use_idle=a.incoming.use_idle,
        ),
        outgoing=pb.OutgoingServer(
            host=a.outgoing.host,
            port=a.outgoing.port,
            security=OUTGOING_SECURITY.to_proto(a.outgoing.security),
            requires_authentication=a.outgoing.requires_authentication,
            use_own_credentials=a.outgoing.use_own_credentials,
            username=a.outgoing.username,
            validates_from=a.outgoing.validates_from,
            group_mails=a.outgoing.group_mails,
        ),
        signature=pb.Signature(text=a.signature.text, html=a.signature.html),
        content=content,
        processing=pb.IncomingProcessing(
            activate=p.activate,
            confirm_receipt=p.confirm_receipt,
            confirmation_template_id=p.confirmation_template_id,
            create_case=p.create_case,
            case_class=p.case_class,
            attach_to_related_entity=p.attach_to_related_entity,
            create_lead=p.create_lead,
            reply_to_unassigned=p.reply_to_unassigned,
            reply_template_id=p.reply_template_id,
            delete_after_processing=DELETE_AFTER.to_proto(p.delete_after_processing),
            add_reference_info=p.add_reference_info,
            create_contact=p.create_contact,
        ),
        assignment=pb.AssignmentSettings(
            assignment_map_id=a.assignment.assignment_map_id,
            default_work_group_id=a.assignment.default_work_group_id,
            default_owner_id=a.assignment.default_owner_id,
        ),
        allowed_employee_ids=a.allowed_employee_ids,
        trusted_certificate_pem=a.trusted_certificate_pem,
        personal_owner_id=a.personal_owner_id,
    )


def change_to_proto(change: Change) -> pb.AccountChange:
    return pb.AccountChange(
        change_time=timestamp(change.change_time),
        actor=change.actor,
        field=change.field,
        old_value=change.old_value,
        new_value=change.new_value,
    )
