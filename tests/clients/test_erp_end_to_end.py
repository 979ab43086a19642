"""An ERP service's own end-to-end test, written as the README shows it: the `erpmail_sandbox`
fixture, an erpmail server next to it and the Python client; the invoice reaches the customer."""

from __future__ import annotations

from pathlib import Path

from erpmail.client import AsyncClient, ClientOptions
from erpmail.sandbox.pytest_plugin import SandboxFixture
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.v1 import accounts_pb2, common_pb2, emails_pb2

from tests.support.secrets_watch import secret

PASSWORD = secret("erp-fixture-secret")


async def test_invoice_mail_reaches_the_customer(
    erpmail_sandbox: SandboxFixture, tmp_path: Path
) -> None:
    erpmail_sandbox.create_mailbox("erp@sandbox.test", PASSWORD)
    server = ErpmailServer(Settings(listen="127.0.0.1:0", data_dir=tmp_path))
    await server.start()
    try:
        async with AsyncClient(ClientOptions(server.address)) as erp:
            account = accounts_pb2.Account(
                account_id="sandbox",
                email_address="erp@sandbox.test",
                usage=accounts_pb2.ACCOUNT_USAGE_SEND_ONLY,
                incoming=accounts_pb2.IncomingServer(
                    username="erp@sandbox.test", password=PASSWORD
                ),
                outgoing=accounts_pb2.OutgoingServer(
                    host="127.0.0.1",
                    port=erpmail_sandbox.smtp_port,
                    security=common_pb2.CONNECTION_SECURITY_NONE,
                    requires_authentication=True,
                ),
            )
            await erp.accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account))
            invoice = emails_pb2.Email(
                account_id="sandbox",
                to=[emails_pb2.Address(address="buyer@shop.test", name="Buyer")],
                subject="Invoice 42",
                text_body="Please find the invoice attached.",
            )
            created = await erp.emails.CreateEmail(
                emails_pb2.CreateEmailRequest(
                    email=invoice, submit=True, request_id="invoice-42-mail"
                )
            )
            email_id = created.emails[0].email_id
            watch = emails_pb2.WatchEmailsRequest(account_id="sandbox", include_current=True)
            async for change in erp.follow_emails(watch):
                if change.email.email_id == email_id and change.email.status in (
                    emails_pb2.EMAIL_STATUS_PROCESSED,
                    emails_pb2.EMAIL_STATUS_FAILED,
                ):
                    assert change.email.status == emails_pb2.EMAIL_STATUS_PROCESSED
                    break
        [received] = await erpmail_sandbox.wait_for_messages(1, timeout=10)
        assert received.rcpt_tos == ["buyer@shop.test"]
    finally:
        await server.stop(grace=0)
