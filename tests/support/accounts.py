"""Valid account messages to start each test from."""

from __future__ import annotations

from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import common_pb2

from tests.support.secrets_watch import secret


def account(account_id: str = "support", **overrides: object) -> pb.Account:
    message = pb.Account(
        account_id=account_id,
        email_address=f"{account_id}@example.com",
        display_name="Support",
        usage=pb.ACCOUNT_USAGE_SEND_AND_RECEIVE,
        incoming=pb.IncomingServer(
            protocol=pb.INCOMING_PROTOCOL_IMAP,
            host="imap.example.com",
            security=common_pb2.CONNECTION_SECURITY_SSL_TLS,
            username=f"{account_id}@example.com",
            password=secret("incoming-secret-1"),
        ),
        outgoing=pb.OutgoingServer(
            host="smtp.example.com",
            security=common_pb2.CONNECTION_SECURITY_STARTTLS,
            requires_authentication=True,
        ),
    )
    for name, value in overrides.items():
        setattr(message, name, value)
    return message
