"""A plain aiosmtpd handler for tests that need an SMTP server other than the sandbox's."""

from __future__ import annotations

from aiosmtpd.smtp import SMTP, Envelope, Session
from erpmail.sandbox.store import MailStore


class Deliver:
    """Hands accepted mail to the sandbox store, as the sandbox SMTP server does."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.store.deliver(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        return "250 2.0.0 Message accepted"
