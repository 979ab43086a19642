"""The outgoing server's steps: connect, STARTTLS (if asked for), EHLO, AUTH, the test email."""

from __future__ import annotations

import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate

import aiosmtplib
from erpmail.server.accounts.probe.steps import (
    AUTH,
    CONNECT,
    EHLO,
    SEND_TEST_EMAIL,
    STARTTLS,
    Plan,
    StepFailed,
    close_grace,
    tls_context,
)
from erpmail.server.accounts.probe.target import ProbeTarget, Security, ServerEndpoint

TEST_SUBJECT = "erpmail account test"
TEST_BODY = (
    "This message was sent by erpmail to check the outgoing server settings of this account.\n"
    "It can be deleted.\n"
)


def _reply(response: aiosmtplib.SMTPResponse) -> str:
    return f"{response.code} {'; '.join(response.message.splitlines())}"


class SmtpProbe:
    def __init__(self, target: ProbeTarget, endpoint: ServerEndpoint, send: bool) -> None:
        self._target = target
        self._endpoint = endpoint
        self._send = send
        self._smtp: aiosmtplib.SMTP | None = None

    def plan(self) -> Plan:
        plan: Plan = [(CONNECT, self.connect)]
        if self._endpoint.security == Security.STARTTLS:
            plan.append((STARTTLS, self.starttls))
        plan.append((EHLO, self.ehlo))
        if self._target.outgoing_requires_auth:
            plan.append((AUTH, self.auth))
        if self._send:
            plan.append((SEND_TEST_EMAIL, self.send_test_email))
        return plan

    @property
    def smtp(self) -> aiosmtplib.SMTP:
        assert self._smtp is not None, "connect first"
        return self._smtp

    async def connect(self) -> str:
        endpoint = self._endpoint
        context = None if endpoint.security == Security.NONE else tls_context(self._target)
        self._smtp = aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            use_tls=endpoint.security == Security.SSL_TLS,
            start_tls=False,  # STARTTLS is its own step, and never attempted unless asked for
            tls_context=context,
            timeout=self._target.timeout,
        )
        return _reply(await self._smtp.connect())

    async def starttls(self) -> str:
        # aiosmtplib sends the EHLO that must precede STARTTLS itself.
        return _reply(await self.smtp.starttls())

    async def ehlo(self) -> str:
        return _reply(await self.smtp.ehlo())

    async def auth(self) -> str:
        if not self.smtp.supports_extension("auth"):
            hint = " before TLS" if self._endpoint.security == Security.NONE else ""
            raise StepFailed(f"the server offers no authentication (AUTH){hint}")
        endpoint = self._endpoint
        return _reply(await self.smtp.login(endpoint.username, endpoint.password))

    async def send_test_email(self) -> str:
        message = build_test_message(self._target)
        address = self._target.email_address
        await self.smtp.mail(address)
        await self.smtp.rcpt(address)
        response = await self.smtp.data(message.as_bytes(policy=SMTP_POLICY))
        return f"{_reply(response)} ({message['Message-ID']})"

    async def close(self) -> None:
        smtp = self._smtp
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit(timeout=close_grace(self._target))
        except Exception:
            pass
        finally:
            smtp.close()


def build_test_message(target: ProbeTarget) -> EmailMessage:
    """A short email from the account to itself, so the user can see it arrive."""
    address = target.email_address
    domain = address.rpartition("@")[2] or "erpmail.invalid"
    message = EmailMessage()
    message["From"] = Address(display_name=target.display_name, addr_spec=address)
    message["To"] = Address(addr_spec=address)
    message["Subject"] = TEST_SUBJECT
    message["Date"] = formatdate(localtime=True)
    # Short enough that the header is never folded (some servers mangle folded Message-IDs).
    message["Message-ID"] = f"<{uuid.uuid4().hex}.erpmail-test@{domain}>"
    message.set_content(TEST_BODY)
    return message
