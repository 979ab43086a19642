"""A first email through erpmail, as an ERP service sends it.

Creates an account on the sandbox (reused when it exists), a notification template with a
((Name)) place-holder, sends it with SendTemplateEmail and follows the watch stream until the
email is processed (exit 0) or failed (exit 1, with the reason).

Against `./scripts/dev` it runs as it is; elsewhere set ERPMAIL_ADDRESS, ERPMAIL_API_KEY,
ERPMAIL_SANDBOX_HOST, ERPMAIL_SANDBOX_SMTP_PORT, ERPMAIL_SANDBOX_IMAP_PORT,
ERPMAIL_SANDBOX_ADDRESS and ERPMAIL_SANDBOX_PASSWORD.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import grpc
from erpmail.client import AsyncClient, ClientOptions
from erpmail.v1 import accounts_pb2, common_pb2, emails_pb2, mailings_pb2, templates_pb2
from google.protobuf import struct_pb2

ACCOUNT_ID = "sandbox"
TEMPLATE_ID = "welcome-customer"
FINAL = {emails_pb2.EMAIL_STATUS_PROCESSED, emails_pb2.EMAIL_STATUS_FAILED}


def sandbox_account() -> accounts_pb2.Account:
    host = os.environ.get("ERPMAIL_SANDBOX_HOST", "127.0.0.1")
    address = os.environ.get("ERPMAIL_SANDBOX_ADDRESS", "erp@sandbox.test")
    plain = common_pb2.CONNECTION_SECURITY_NONE  # the sandbox's plain ports
    return accounts_pb2.Account(
        account_id=ACCOUNT_ID,
        email_address=address,
        display_name="ERP",
        incoming=accounts_pb2.IncomingServer(
            protocol=accounts_pb2.INCOMING_PROTOCOL_IMAP,
            host=host,
            port=int(os.environ.get("ERPMAIL_SANDBOX_IMAP_PORT", "3143")),
            security=plain,
            username=address,
            password=os.environ.get("ERPMAIL_SANDBOX_PASSWORD", "erp-sandbox"),
        ),
        outgoing=accounts_pb2.OutgoingServer(
            host=host,
            port=int(os.environ.get("ERPMAIL_SANDBOX_SMTP_PORT", "3025")),
            security=plain,
            requires_authentication=True,
        ),
    )


async def create_unless_exists(call: object) -> None:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        if error.code() is not grpc.StatusCode.ALREADY_EXISTS:
            raise


async def main() -> int:
    async with AsyncClient(ClientOptions.from_env()) as erp:
        account = accounts_pb2.CreateAccountRequest(account=sandbox_account())
        await create_unless_exists(erp.accounts.CreateAccount(account))
        template = templates_pb2.Template(
            template_id=TEMPLATE_ID,
            description="Welcome a new customer",
            to="((Email))",
            subject="Welcome, ((Name))",
            text_body="Dear ((Name)),\n\nyour customer account is ready.\n",
        )
        await create_unless_exists(
            erp.templates.CreateTemplate(templates_pb2.CreateTemplateRequest(template=template))
        )

        data = struct_pb2.Struct()
        data.update({"Name": "Kari Nordmann", "Email": "kari@customer.test"})
        sent = await erp.mailings.SendTemplateEmail(
            mailings_pb2.SendTemplateEmailRequest(
                template_id=TEMPLATE_ID,
                account_id=ACCOUNT_ID,
                data=data,
                request_id=f"welcome-{uuid.uuid4().hex}",  # a retry sends it once
            )
        )
        email_id = sent.email.email_id
        print(f"queued email {email_id}: {sent.email.subject}")
        # include_current: begin with the email as it is now, however far it got already.
        watch = emails_pb2.WatchEmailsRequest(
            account_id=ACCOUNT_ID, statuses=sorted(FINAL), include_current=True
        )
        async for change in erp.follow_emails(watch):
            if change.email.email_id != email_id:
                continue
            if change.email.status == emails_pb2.EMAIL_STATUS_PROCESSED:
                print(f"email {email_id} processed: sent to {change.email.to[0].address}")
                return 0
            print(f"email {email_id} failed: {change.email.error}", file=sys.stderr)
            return 1
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
